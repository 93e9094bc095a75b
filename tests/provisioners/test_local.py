"""The local provisioner beyond the contract: real processes, injected trouble, and a registry that outlives
the provisioner object. Agents point at a dead URL (conftest): they keep retrying registration and stay up."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from provisioner_support import local_provisioner, pool_target, stop_everything

from hpcburst.provisioners import local_process
from hpcburst.provisioners.local import NEVER_BOOTS, STRAY, LocalProvisioner, stop_all

WAIT = 20.0


def until(what: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"timed out after {timeout}s"
        time.sleep(0.05)


def argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(p.split("=", 1) for p in pairs if "=" in p)


def gone(pid: int) -> bool:
    return local_process.start_ticks(pid) is None


@pytest.fixture
def made(local_root: Path) -> Iterator[list[LocalProvisioner]]:
    """Every provisioner a test makes; their processes are killed afterwards."""
    provisioners: list[LocalProvisioner] = []
    yield provisioners
    for provisioner in provisioners:
        stop_everything(provisioner)


@pytest.fixture
def make(local_root: Path, made: list[LocalProvisioner]) -> Callable[..., LocalProvisioner]:
    def build(**options: object) -> LocalProvisioner:
        made.append(local_provisioner(local_root, **options))
        return made[-1]

    return build


def pid_of(provisioner: LocalProvisioner, name: str) -> int:
    pid = provisioner.registry.read()[name].pid
    assert pid is not None
    return pid


def test_each_node_is_a_cloud_agent_holding_its_join_token_in_the_environment_not_argv(
    make: Callable[..., LocalProvisioner], local_root: Path
) -> None:
    provisioner = make()
    provisioner.create(pool_target(vm_size="local-3"), ["burst-1"], "join-secret")
    pid = pid_of(provisioner, "burst-1")
    args = argv(pid)
    assert args[1:3] == ["-m", "nodeagent"] and "--cloud" in args
    assert args[args.index("--slots") + 1] == "3"  # vm_size local-N: N slots
    assert args[args.index("--workdir") + 1] == str(local_root / "burst-1")
    assert not any("join-secret" in a for a in args)
    assert environ(pid)["HPCBURST_JOIN_TOKEN"] == "join-secret"
    time.sleep(1)  # it keeps retrying a cluster that is not there
    assert [n.state for n in provisioner.list(pool_target())] == ["Running"]
    assert (local_root / "logs" / "burst-1.log").exists()


def test_directories_are_passable_by_task_accounts(
    make: Callable[..., LocalProvisioner], local_root: Path
) -> None:
    make().create(pool_target(), ["burst-1"], "join-secret")
    for directory in (local_root, local_root / "burst-1"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o711


def test_a_node_is_provisioning_until_its_boot_delay_passed(make: Callable[..., LocalProvisioner]) -> None:
    now = [1_000.0]
    provisioner = make(boot_delay=30, clock=lambda: now[0])
    [node] = provisioner.create(pool_target(), ["burst-1"], "join-secret")
    assert node.state == "Provisioning"
    assert "nodeagent" not in argv(pid_of(provisioner, "burst-1"))[:3]  # still sleeping: no agent yet
    now[0] += 30
    assert [n.state for n in provisioner.list(pool_target())] == ["Running"]


def test_an_injected_failure_never_boots_until_deleted(make: Callable[..., LocalProvisioner]) -> None:
    provisioner = make(fail_rate=1.0)
    [node] = provisioner.create(pool_target(), ["burst-1"], "join-secret")
    assert (node.state, node.detail) == ("Provisioning", NEVER_BOOTS)
    assert provisioner.registry.read()["burst-1"].pid is None
    provisioner.delete(pool_target(), ["burst-1"])
    assert provisioner.list(pool_target()) == []


def test_failures_follow_the_seed(make: Callable[..., LocalProvisioner]) -> None:
    names = [f"burst-{n}" for n in range(8)]

    def failing(pool: str) -> list[str]:
        provisioner = make(fail_rate=0.5, seed=7, python="/bin/true")
        nodes = provisioner.create(pool_target(pool), names, "join-secret")
        return [n.name for n in nodes if n.detail == NEVER_BOOTS]

    first = failing("one")
    assert 0 < len(first) < len(names)
    assert failing("two") == first


def test_delete_stops_exactly_the_named_processes(make: Callable[..., LocalProvisioner]) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1", "burst-2"], "join-secret")
    one, two = pid_of(provisioner, "burst-1"), pid_of(provisioner, "burst-2")
    provisioner.delete(pool_target(), ["burst-1"])
    assert gone(one) and not gone(two)


def test_an_agent_that_dies_by_itself_is_failed_with_its_last_log_line(
    make: Callable[..., LocalProvisioner], tmp_path: Path
) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho starting\necho 'cannot import nodeagent: boom'\nexit 3\n")
    broken.chmod(0o755)
    provisioner = make(python=str(broken))
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    until(lambda: provisioner.list(pool_target())[0].state == "Failed")
    assert provisioner.list(pool_target())[0].detail == "the agent exited: cannot import nodeagent: boom"


def test_an_evicted_node_vanishes_but_stays_listed(make: Callable[..., LocalProvisioner]) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    pid = pid_of(provisioner, "burst-1")
    provisioner.evict("burst-1", sig=9, state="Failed")
    assert gone(pid)
    [node] = provisioner.list(pool_target())
    assert (node.state, node.detail) == ("Failed", "evicted (signal SIGKILL)")


def test_evicting_a_node_the_controller_already_deleted_is_harmless(
    make: Callable[..., LocalProvisioner],
) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    pid = pid_of(provisioner, "burst-1")
    provisioner.delete(pool_target(), ["burst-1"])  # the controller saw the death first
    provisioner.evict("burst-1", sig=9)
    assert gone(pid) and provisioner.list(pool_target()) == []


def test_a_restarted_controller_lists_and_deletes_an_earlier_ones_nodes(
    make: Callable[..., LocalProvisioner],
) -> None:
    earlier = make()
    earlier.create(pool_target(), ["burst-1", "burst-2"], "join-secret")
    pid = pid_of(earlier, "burst-1")
    later = make()
    assert [(n.name, n.state) for n in later.list(pool_target())] == [
        ("burst-1", "Running"),
        ("burst-2", "Running"),
    ]
    later.delete(pool_target(), ["burst-1", "burst-2"])
    assert gone(pid) and earlier.list(pool_target()) == []


def test_create_is_idempotent_per_name(make: Callable[..., LocalProvisioner]) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    pid = pid_of(provisioner, "burst-1")
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    assert pid_of(provisioner, "burst-1") == pid


def forget_in_registry(provisioner: LocalProvisioner, name: str) -> None:
    """What a controller killed between starting an agent and saving the registry leaves behind."""
    provisioner.registry.update(lambda nodes: nodes.pop(name))


def test_an_agent_no_registry_lists_is_listed_so_the_controller_can_delete_it(
    make: Callable[..., LocalProvisioner],
) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    pid = pid_of(provisioner, "burst-1")
    forget_in_registry(provisioner, "burst-1")

    (stray,) = make().list(pool_target())
    assert (stray.name, stray.state, stray.detail) == ("burst-1", "Running", STRAY)
    provisioner.delete(pool_target(), ["burst-1"])
    assert gone(pid) and provisioner.list(pool_target()) == []


def test_creating_a_name_whose_agent_already_runs_adopts_it_instead_of_starting_a_second(
    make: Callable[..., LocalProvisioner],
) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    pid = pid_of(provisioner, "burst-1")
    forget_in_registry(provisioner, "burst-1")
    provisioner.create(pool_target(), ["burst-1"], "join-secret")
    assert pid_of(provisioner, "burst-1") == pid
    assert local_process.agents_under(provisioner.work_root) == {"burst-1": pid}


def test_stopping_everything_also_stops_agents_no_registry_lists(
    make: Callable[..., LocalProvisioner],
) -> None:
    provisioner = make()
    provisioner.create(pool_target(), ["burst-1", "burst-2"], "join-secret")
    pids = [pid_of(provisioner, "burst-1"), pid_of(provisioner, "burst-2")]
    forget_in_registry(provisioner, "burst-2")
    assert stop_all(provisioner.work_root) == ["burst-1", "burst-2"]
    assert all(gone(pid) for pid in pids)
