"""Service hosts on a root agent run as the session owner's unprivileged account, like tasks (real processes).

The agent runs as root here, as in CI. Root's own Python lives where the task account may not read, so these
hosts run on the system's Python (``soa_python``, $HPCBURST_SOA_PYTHON); the agent puts hpcburst's source on
its PYTHONPATH (a host needs only the standard library and ``hpcburst.soa``).
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from agent_fakes import FakeService
from test_soa_agent import SERVICES, drive

from nodeagent.agent import Agent
from nodeagent.soa.loop import SoaLoop

SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(autouse=True)
def as_root() -> None:
    assert os.geteuid() == 0, "these tests (and CI) run as root: the agent then runs hosts unprivileged"


def test_a_host_runs_as_the_owners_mapped_account_and_can_read_its_common_data(
    make_agent: Callable[..., Agent], service: FakeService, task_root: Path
) -> None:
    packages = task_root / "packages"
    shutil.copytree(SERVICES, packages / "calcpkg" / "services")
    agent = make_agent(slots=1, package_root=packages, user_map={"alice": "nobody"}, soa_python=SYSTEM_PYTHON)
    loop = SoaLoop(agent.soa, agent.api, "n1", "default", wait=0.0)
    broker = service.broker
    broker.host("s1", package="calcpkg")
    agent.soa.cache._fetch = lambda url: b"rows"  # noqa: SLF001 - the download itself is tested elsewhere
    broker.data_urls["s1"] = {"table": "https://example.invalid/table"}
    [who] = broker.submit("s1", "whoami")
    [home] = broker.submit("s1", "env", "HOME")
    [data] = broker.submit("s1", "data", "table")
    [escape] = broker.submit("s1", "data", "../../etc/shadow")
    drive(agent, loop, lambda: len(broker.responses) == 4)
    nobody = pwd.getpwnam("nobody")
    assert broker.value(who) == [nobody.pw_uid, nobody.pw_gid]
    assert broker.value(home) == str(agent.config.workdir / "soa-hosts" / "s1.1")
    assert broker.value(data) == "rows"
    assert (
        broker.fault(escape).type == "NotFound" and "not a common data name" in broker.fault(escape).message
    )
