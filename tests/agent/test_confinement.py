"""Confinement on the node: each index in its own directory, as an unprivileged account, and nothing the agent
does for a task (stdout files, inputs, outputs) leaves that directory. Real processes, real Azurite.

The agent runs as root here, as in CI: that is the case the account switch is for, so not being root is a
failure of the set-up, not a reason to skip.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agent_fakes import FakeService, read_ref, run_until_reported

from hpcburst import constants as c
from hpcburst.data.manifest import META_SHA256
from hpcburst.data.staging import CACHE_MTIME_NS, NodeCache
from hpcburst.emulators import Azurite
from hpcburst.errors import ConfigError, IntegrityError
from hpcburst.storage.blob.azure import AzureBlobStore
from nodeagent.agent import Agent
from nodeagent.environment import base_environment
from nodeagent.runas import RunAs, load_user_map


@pytest.fixture(autouse=True)
def as_root() -> None:
    assert os.geteuid() == 0, "these tests (and CI) run as root: the agent then runs tasks unprivileged"


@pytest.fixture
def storage(
    azurite: Azurite, blobs: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AzureBlobStore]:
    monkeypatch.setenv(c.ENV_STORAGE_CONNECTION, azurite.connection_string)
    blobs.ensure_container(c.BLOB_DATA)
    yield blobs


def out(blobs: AzureBlobStore, service: FakeService, key: str) -> str:
    ref = service.results[key].stdout
    return "" if ref is None else read_ref(blobs, ref).decode()


def test_each_index_runs_in_its_own_fresh_directory_which_is_ccp_workdir_and_home(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore, task_root: Path
) -> None:
    keys = service.add("fresh", "sh -c 'touch mine-*; echo \"$(pwd) $CCP_WORKDIR $HOME\"; ls -A'", 3)
    run_until_reported(make_agent(), service, 3)
    for index, key in enumerate(keys):
        index_dir = str(task_root / "n1" / "tasks" / "fresh" / f"1.{index}.1")
        assert out(blobs, service, key) == f"{index_dir} {index_dir} {index_dir}\nmine-{index}\n"
        assert not os.path.exists(index_dir)  # removed once reported
    assert os.listdir(task_root / "n1" / "tasks" / "fresh") == []


def test_a_task_runs_unprivileged_and_cannot_touch_the_work_root_cache_or_packages(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore, task_root: Path
) -> None:
    root = task_root / "n1"
    probe = (
        f"sh -c 'id -u; touch {root}/x 2>/dev/null || echo root-denied; ls {root}/.cache >/dev/null 2>&1 "
        f"|| echo cache-denied; touch $CCP_PACKAGE_ROOT/x 2>/dev/null || echo packages-denied; "
        f"ls {root}/tasks >/dev/null 2>&1 || echo tasks-unlisted'"
    )
    (key,) = service.add("probe", probe)
    run_until_reported(make_agent(), service, 1)
    uid, *denied = out(blobs, service, key).split()
    assert int(uid) == pwd.getpwnam("nobody").pw_uid != 0
    assert denied == ["root-denied", "cache-denied", "packages-denied", "tasks-unlisted"]


def test_an_owner_in_the_user_map_runs_as_their_local_account_and_others_as_the_task_user(
    service: FakeService, make_agent: Callable[..., Agent], blobs: AzureBlobStore
) -> None:
    (alice,) = service.add("mapped", "id -un", owner="alice")
    (bob,) = service.add("unmapped", "id -un", owner="bob")
    run_until_reported(make_agent(user_map={"alice": "daemon"}), service, 2)
    assert out(blobs, service, alice) == "daemon\n" and out(blobs, service, bob) == "nobody\n"


def test_an_account_that_is_root_or_a_missing_setpriv_is_refused_when_the_agent_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="never run as root"):
        RunAs(user_map={"admin": "root"})
    with pytest.raises(ConfigError, match="never run as root"):
        RunAs(task_user="0")
    with monkeypatch.context() as m:
        m.setattr("shutil.which", lambda *_a, **_k: None)
        with pytest.raises(ConfigError, match="util-linux"):
            RunAs()
    user_map = tmp_path / "users"
    user_map.write_text("# hpcburst user = local account\nalice = daemon\n\nbob=nobody  # batch\n")
    assert load_user_map(user_map) == {"alice": "daemon", "bob": "nobody"}
    user_map.chmod(0o666)
    with pytest.raises(ConfigError, match="may be changed by other users"):
        load_user_map(user_map)


def test_a_non_root_agent_runs_tasks_as_itself() -> None:
    run_as = RunAs(euid=1000)
    assert run_as.for_owner("alice") is None and run_as.accounts() == []


def test_no_agent_credential_reaches_a_task() -> None:
    secrets = {c.ENV_TOKEN: "t", c.ENV_JOIN_TOKEN: "j", c.ENV_STORAGE_CONNECTION: "s", c.ENV_COSMOS_KEY: "k"}
    assert base_environment({**secrets, "PATH": "/bin"}) == {"PATH": "/bin"}


def test_a_stdout_file_through_a_link_a_task_planted_fails_the_index_and_writes_nothing_outside(
    service: FakeService, make_agent: Callable[..., Agent], task_root: Path
) -> None:
    outside = task_root / "outside"
    outside.mkdir(mode=0o777)
    outside.chmod(0o777)
    (plant,) = service.add("plant", f"ln -s {outside} d", shared_workdir=True)
    (victim,) = service.add("plant", "echo overwritten", start=1, stdout="d/passwd", shared_workdir=True)
    run_until_reported(make_agent(slots=1), service, 2)
    assert service.results[plant].exit_code == 0
    assert service.results[victim].exit_code is None
    assert "resolves outside the task's directory" in (service.results[victim].message or "")
    assert os.listdir(outside) == []


def test_an_output_or_input_through_a_planted_link_fails_the_index_and_nothing_crosses(
    service: FakeService, make_agent: Callable[..., Agent], storage: AzureBlobStore, task_root: Path
) -> None:
    outside = task_root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root's secret")
    storage.put(c.BLOB_DATA, "confine/in.txt", b"input")
    (plant,) = service.add("link", f"ln -s {outside} e", shared_workdir=True)
    (leak,) = service.add(
        "link", "true", start=1, shared_workdir=True,
        output_files=[{"pattern": "e/secret.txt", "blob": "hpc-output/confine/leak.txt"}],
    )  # fmt: skip
    inputs = [{"blob": "hpc-data/confine/in.txt", "path": "e/in.txt"}]
    (drop,) = service.add("link", "true", start=2, shared_workdir=True, input_files=inputs)
    agent = make_agent(slots=1)
    run_until_reported(agent, service, 2)  # the input is staged only after the link exists
    run_until_reported(agent, service, 3)
    assert service.results[plant].exit_code == 0
    assert service.results[leak].exit_code is None and "outside" in (service.results[leak].message or "")
    assert not list(storage.list(c.BLOB_OUTPUT, "confine/"))
    assert "staging inputs failed" in (service.results[drop].message or "")
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_output_globs_see_only_the_index_own_directory(
    service: FakeService, make_agent: Callable[..., Agent], storage: AzureBlobStore
) -> None:
    for job in ("ga", "gb"):
        for index in (0, 1):  # a lease's patterns come substituted: "*" here is the glob
            outputs = [{"pattern": "*.txt", "blob": f"hpc-output/{job}-{index}"}]
            service.add(job, f"touch {job}-{index}.txt", start=index, output_files=outputs)
    run_until_reported(make_agent(slots=4), service, 4)
    for job in ("ga", "gb"):
        for index in (0, 1):
            names = [b.name for b in storage.list(c.BLOB_OUTPUT, f"{job}-{index}/")]
            assert names == [f"{job}-{index}/{job}-{index}.txt"]


def test_a_task_cannot_change_a_cached_input_for_the_next_task(
    service: FakeService, make_agent: Callable[..., Agent], storage: AzureBlobStore, blobs: AzureBlobStore
) -> None:
    storage.put(c.BLOB_DATA, "confine/rates.csv", b"1.5%\n")
    inputs = [{"blob": "hpc-data/confine/rates.csv", "path": "rates.csv"}]
    scribble = "sh -c 'chmod u+w rates.csv; echo poisoned > rates.csv; cat rates.csv'"
    (first,) = service.add("poison", scribble, input_files=inputs)
    (second,) = service.add("victim", "cat rates.csv", input_files=inputs)
    agent = make_agent(slots=1)
    run_until_reported(agent, service, 2)
    assert out(blobs, service, first) == "1.5%\n"  # its writes were refused
    assert out(blobs, service, second) == "1.5%\n"
    (entry,) = [p for p in (agent.dirs.cache_root / "objects").rglob("*") if p.is_file()]
    assert entry.read_bytes() == b"1.5%\n"  # one entry, never changed: no refetch was needed
    assert entry.stat().st_mtime_ns == CACHE_MTIME_NS and entry.stat().st_mode & 0o777 == 0o444


def test_a_download_whose_bytes_do_not_match_its_sha256_key_is_not_cached(
    storage: AzureBlobStore, tmp_path: Path
) -> None:
    claimed = hashlib.sha256(b"the real rates").hexdigest()
    storage.put(c.BLOB_DATA, "confine/tampered.csv", b"poisoned rates", metadata={META_SHA256: claimed})
    cache = NodeCache(tmp_path / "cache", storage)
    with pytest.raises(IntegrityError, match="not cached"):
        cache.fetch(c.BLOB_DATA, "confine/tampered.csv")
    assert not any(p.is_file() for p in (tmp_path / "cache" / "objects").rglob("*"))


def test_a_jobs_directory_goes_once_nothing_of_it_has_been_here_for_the_ttl(
    service: FakeService, make_agent: Callable[..., Agent], task_root: Path
) -> None:
    service.add("scratch", "touch shared-file", shared_workdir=True)
    agent = make_agent(task_dir_ttl=60.0)
    run_until_reported(agent, service, 1)
    job_dir = task_root / "n1" / "tasks" / "scratch"
    assert (job_dir / "shared" / "shared-file").exists()
    now = time.monotonic() + 31  # past the sweep interval, within the ttl
    assert agent.clean_task_dirs(now) == [] and job_dir.exists()
    assert agent.clean_task_dirs(now + 61) == ["scratch"] and not job_dir.exists()
