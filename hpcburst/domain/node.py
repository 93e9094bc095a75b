"""The stored record of a node agent (container ``nodes``, partition = pool, id = node name)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from hpcburst.domain.states import NodeState


class Node(BaseModel):
    name: str
    pool: str
    slots: int = Field(ge=1)
    state: NodeState = NodeState.ONLINE
    last_heartbeat: float  # epoch seconds
    registered_at: float
    hostname: str | None = None
    cloud: bool = False  # a burst worker (vs. an on-premises machine)
    running: int = 0  # indices it reported running at its last heartbeat
    credential_id: str | None = None  # public id of its node credential (revoked when a new holder joins)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class NodeView(Node):
    """A node as ``GET /api/nodes`` lists it: the record plus how long ago it last heartbeated."""

    alive_seconds_ago: float
