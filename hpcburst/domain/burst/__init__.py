"""The burst policy: when to add cloud nodes, when to drain and delete them, within cost caps.

Pure code: no I/O, no SDK, no clock reads (``now`` is passed in). The runtime and the simulator
(``hpcburst.sim``) build a ``BurstState``, call ``decide`` and carry out the returned actions.
"""

from hpcburst.domain.burst.apply import apply
from hpcburst.domain.burst.models import (
    Action,
    BurstPool,
    BurstState,
    CloudNode,
    Create,
    Decision,
    Delete,
    Disable,
    Drain,
    NodeState,
    QueuedWork,
    Resume,
    RunningIndex,
    ScheduleEntry,
    SwitchToRegular,
)
from hpcburst.domain.burst.policy import decide

__all__ = [
    "Action",
    "BurstPool",
    "BurstState",
    "CloudNode",
    "Create",
    "Decision",
    "Delete",
    "Disable",
    "Drain",
    "NodeState",
    "QueuedWork",
    "Resume",
    "RunningIndex",
    "ScheduleEntry",
    "SwitchToRegular",
    "apply",
    "decide",
]
