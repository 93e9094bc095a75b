"""Threat: a task reaching outside its own directory - through its paths at submit, through links it plants,
through output globs, through the node's input cache - or running with the agent's privileges.

The real runtime, Azurite and agent processes (see conftest). Agents run as root here, as in CI, so they
run every task as an unprivileged account; tests that need one node's order and cache use a one-slot
agent in its own pool.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpcburst import constants as c
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.data import upload
from hpcburst.data.manifest import META_SHA256
from hpcburst.errors import InvalidSpec
from hpcburst.storage.blob.azure import AzureBlobStore

WAIT = 90.0
POOL = "confined"


@pytest.fixture(scope="module", autouse=True)
def as_root() -> None:
    assert os.geteuid() == 0, "e2e tests (and CI) run as root: agents then run tasks unprivileged"


@pytest.fixture(scope="module")
def one_node(cluster: LocalCluster) -> Iterator[Path]:
    """A one-slot agent alone in its pool: a job there runs its indices in order, on one cache."""
    cluster.start_agent("confined-1", slots=1, pool=POOL)
    yield cluster.data_dir / "agents" / "confined-1"
    cluster.kill("agent:confined-1")


@pytest.fixture(scope="module")
def store(cluster: LocalCluster) -> Iterator[AzureBlobStore]:
    assert cluster.state is not None
    s = AzureBlobStore.from_connection_string(cluster.state.connection)
    s.ensure_container(c.BLOB_DATA)
    yield s
    s.close()


def finished(scheduler: Scheduler, job: str) -> dict[int, dict[str, Any]]:
    scheduler.wait(job, timeout=WAIT, interval=0.1)
    return {t["index"]: t for t in scheduler.tasks(job)}


def submit_to_one_node(scheduler: Scheduler, command: str, shared: bool = False, **task: Any) -> str:
    job = scheduler.create_job(pool=POOL)
    job.shared_workdir = shared
    job.add_task(scheduler.create_task(command, max_running=1, **task))
    return scheduler.submit_job(job)


@pytest.mark.parametrize(
    ("field", "task"),
    [
        ("tasks.0.workdir", {"workdir": "/etc"}),
        ("tasks.0.workdir", {"workdir": "../.."}),
        ("tasks.0.stdout", {"stdout": "../../x"}),
        ("tasks.0.stderr", {"stderr": "/etc/cron.d/x"}),
    ],
)
def test_paths_leading_out_of_the_tasks_directory_are_refused_at_submit_naming_the_field(
    scheduler: Scheduler, field: str, task: dict[str, str]
) -> None:
    with pytest.raises(InvalidSpec) as refused:
        scheduler.submit("true", **task)
    assert refused.value.status == 400
    assert refused.value.details.get("field") == field and field in refused.value.message


def test_ccp_workdir_is_each_indexs_own_fresh_directory(cluster: LocalCluster, scheduler: Scheduler) -> None:
    job = scheduler.submit(
        ["sh", "-c", 'touch mine; echo "$CCP_WORKDIR|$(pwd -P)|$HOME|$(ls -A)"'], sweep="1-4"
    )
    tasks = finished(scheduler, job)
    for index, task in tasks.items():
        assert task["state"] == "Finished", task
        index_dir = str(cluster.data_dir / "agents" / task["node"] / "tasks" / job / f"1.{index}.1")
        assert scheduler.task_output(job, index) == f"{index_dir}|{index_dir}|{index_dir}|mine\n".encode()


def test_tasks_run_unprivileged_and_cannot_write_the_agents_work_root(scheduler: Scheduler) -> None:
    probe = (
        'root=$(dirname "$CCP_PACKAGE_ROOT"); id -u; touch "$root/x" 2>/dev/null || echo root-denied; '
        'ls "$root/.cache" >/dev/null 2>&1 || echo cache-denied; '
        'touch "$CCP_PACKAGE_ROOT/x" 2>/dev/null || echo packages-denied'
    )
    job = scheduler.submit(["sh", "-c", probe])
    assert finished(scheduler, job)[0]["state"] == "Finished"
    uid, *denied = scheduler.task_output(job, 0).decode().split()
    assert int(uid) != 0 and int(uid) == pwd.getpwnam("nobody").pw_uid
    assert denied == ["root-denied", "cache-denied", "packages-denied"]


def test_a_link_planted_in_a_shared_directory_carries_no_stdout_or_output_outside(
    cluster: LocalCluster, scheduler: Scheduler, store: AzureBlobStore, one_node: Path
) -> None:
    outside = cluster.data_dir / f"outside-{uuid.uuid4().hex[:6]}"
    outside.mkdir(mode=0o777)
    outside.chmod(0o777)
    (outside / "secret.txt").write_text("the node's secret")
    prefix = f"escape-{uuid.uuid4().hex[:6]}"
    # index 1 plants d2 and e3 -> outside; index 2's stdout goes through d2, index 3's output through e3
    plant = f"test * != 1 || (ln -s {outside} d2 && ln -s {outside} e3)"
    job = submit_to_one_node(
        scheduler, f"sh -c '{plant}'", shared=True, sweep=(1, 3), stdout="d*/log.txt",
        output_files=[{"pattern": "e*/secret.txt", "blob": f"hpc-output/{prefix}/*"}],
    )  # fmt: skip
    tasks = finished(scheduler, job)
    assert tasks[1]["state"] == "Finished", tasks[1]
    for index in (2, 3):
        assert tasks[index]["state"] == "Failed"
        assert "outside the task's directory" in tasks[index]["message"], tasks[index]
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "the node's secret"
    assert not list(store.list(c.BLOB_OUTPUT, f"{prefix}/"))


def test_two_jobs_files_do_not_show_up_in_each_others_output_globs(
    scheduler: Scheduler, store: AzureBlobStore
) -> None:
    run = uuid.uuid4().hex[:6]
    jobs = {
        name: scheduler.submit(
            f"touch {name}-*.txt",
            sweep="1-3",
            output_files=[{"pattern": "^*.txt", "blob": f"hpc-output/{run}-{name}/*"}],
        )  # fmt: skip
        for name in ("a", "b")
    }
    for name, job in jobs.items():
        assert all(t["state"] == "Finished" for t in finished(scheduler, job).values())
        blobs = sorted(b.name for b in store.list(c.BLOB_OUTPUT, f"{run}-{name}/"))
        assert blobs == [f"{run}-{name}/{i}/{name}-{i}.txt" for i in (1, 2, 3)]


def test_a_task_cannot_change_a_cached_input_or_read_the_cache(
    tmp_path: Path, scheduler: Scheduler, store: AzureBlobStore, one_node: Path
) -> None:
    original = b"rates 1.5%\n"
    (tmp_path / "rates.csv").write_bytes(original)
    upload(store, tmp_path / "rates.csv", c.BLOB_DATA, "escapes/rates.csv")  # keyed by its sha256
    inputs = [{"blob": "hpc-data/escapes/rates.csv", "path": "rates.csv"}]
    scribble = (
        "chmod u+w rates.csv 2>/dev/null; echo poisoned > rates.csv 2>/dev/null || echo write-denied; "
        'ls "$(dirname "$CCP_PACKAGE_ROOT")/.cache" >/dev/null 2>&1 || echo cache-denied'
    )
    first = submit_to_one_node(scheduler, f"sh -c '{scribble}'", input_files=inputs)
    assert finished(scheduler, first)[0]["state"] == "Finished"
    assert scheduler.task_output(first, 0).split() == [b"write-denied", b"cache-denied"]
    second = submit_to_one_node(scheduler, "cat rates.csv", input_files=inputs)
    assert finished(scheduler, second)[0]["state"] == "Finished"
    assert scheduler.task_output(second, 0) == original
    key = f"sha256-{hashlib.sha256(original).hexdigest()}"
    assert (one_node / ".cache" / "objects" / key[:2] / key).read_bytes() == original


def test_a_tampered_download_is_not_cached(
    cluster: LocalCluster, scheduler: Scheduler, store: AzureBlobStore
) -> None:
    claimed = hashlib.sha256(b"the genuine solver input").hexdigest()
    store.put(c.BLOB_DATA, "escapes/tampered.bin", b"something else", metadata={META_SHA256: claimed})
    inputs = [{"blob": "hpc-data/escapes/tampered.bin", "path": "input.bin"}]
    job = scheduler.submit("cat input.bin", input_files=inputs)
    (task,) = finished(scheduler, job).values()
    assert task["state"] == "Failed" and "staging inputs failed" in task["message"]
    assert "not cached" in task["message"]
    assert not list((cluster.data_dir / "agents").glob(f"*/.cache/objects/*/sha256-{claimed}"))
