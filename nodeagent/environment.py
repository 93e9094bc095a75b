"""The environment a task process gets: the agent's (minus its secrets), the task's, then HPC Pack's CCP_*.

HOME is the task's own directory (and USER/LOGNAME its account when it runs as another one): nothing of
the agent's home is a task's to read or write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from hpcburst import constants as c
from hpcburst.domain.protocol import Lease

# Never handed to user code: the agent's own credentials.
_PRIVATE = (c.ENV_TOKEN, c.ENV_JOIN_TOKEN, c.ENV_STORAGE_CONNECTION, c.ENV_COSMOS_KEY)


def base_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if k not in _PRIVATE}


def task_environment(
    base: Mapping[str, str],
    lease: Lease,
    node: str,
    workdir: str,
    package_root: str,
    home: str | None = None,
    user: str | None = None,
) -> dict[str, str]:
    """``base`` + the task's variables + CCP_* (which the task cannot override, as in HPC Pack)."""
    env = dict(base)
    if home:
        env["HOME"] = home
    if user:
        env["USER"] = env["LOGNAME"] = user
    env.update(lease.environment)
    env.update(
        CCP_JOBID=lease.job,
        CCP_TASKID=str(lease.task_id),
        CCP_TASKINSTANCEID=str(lease.index),
        CCP_WORKDIR=workdir,
        CCP_PACKAGE_ROOT=package_root,
        CCP_NODES=f"1 {node} 1",  # HPC Pack's "<count> <node> <cores> ...": one core of this node
        CCP_NUMCPUS="1",
        CCP_RETRY_COUNT=str(lease.retry_count),
        CCP_JOBNAME=lease.job_name,
    )
    return env
