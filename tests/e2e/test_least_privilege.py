"""Least-privilege grants on the real runtime, Azurite and agent processes that hold no storage key.

A test node ("probe", in a pool no agent serves) leases through the HTTP API like an agent and then tries
its grants beyond their scope: storage itself (Azurite) must refuse each attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hpcburst import constants as c
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.errors import Forbidden, NotFound
from hpcburst.storage.blob.azure import AzureBlobStore
from hpcburst.storage.blob.sas_blob import SasClients

WAIT = 90.0
POOL = "probe"
MAX_OUTPUT = 1024 * 1024  # what the e2e cluster serves per output request (conftest)


@pytest.fixture
def admin(cluster: LocalCluster) -> AzureBlobStore:
    assert cluster.state is not None
    store = AzureBlobStore.from_connection_string(cluster.state.connection)
    for container in (c.BLOB_DATA, c.BLOB_OUTPUT, c.BLOB_PACKAGES):
        store.ensure_container(container)
    return store


@pytest.fixture
def agent_http(cluster: LocalCluster) -> Iterator[httpx.Client]:
    """The agent API as a probe node: it joins with the pool's join secret, then uses its node credential."""
    join = cluster.access().join_token(POOL)
    headers = {"Authorization": f"Bearer {join}"}
    with httpx.Client(base_url=f"{cluster.url}/api/agent", timeout=30, headers=headers) as client:
        yield client


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    if path == "/register" and answer.get("credential"):
        client.headers["Authorization"] = f"Bearer {answer['credential']}"
    return answer  # type: ignore[no-any-return]


def refused(*attempts: Callable[[], object]) -> None:
    for attempt in attempts:
        with pytest.raises(Forbidden):
            attempt()


def test_a_lease_grant_used_beyond_its_scope_is_refused_by_storage(
    scheduler: Scheduler, admin: AzureBlobStore, agent_http: httpx.Client
) -> None:
    admin.put(c.BLOB_DATA, "probe/in-1.txt", b"mine")
    admin.put(c.BLOB_DATA, "probe/in-2.txt", b"another index's")
    registered = post(agent_http, "/register", {"node": "probe-1", "pool": POOL, "slots": 1})
    scheduler.submit(
        "true",
        sweep="1-1",
        pool=POOL,
        input_files=[{"blob": "hpc-data/probe/in-*.txt", "path": "in.txt"}],
        output_files=[{"pattern": "out.txt", "blob": "hpc-output/probe/out-*.txt"}],
    )
    answer = post(
        agent_http, "/lease", {"node": "probe-1", "pool": POOL, "free_slots": 1, "wait_seconds": 10}
    )
    (lease,) = answer["leases"]
    read_url, write_url = (
        lease["grants"]["hpc-data/probe/in-1.txt"],
        lease["grants"]["hpc-output/probe/out-1.txt"],
    )
    segment = answer["segment"]
    with SasClients() as clients:
        reader, writer, seg = clients.blob(read_url), clients.blob(write_url), clients.blob(segment["url"])
        assert reader.get() == b"mine"
        writer.put(b"result")
        seg.put(b"stdout bytes")
        as_store = {
            name: AzureBlobStore.from_sas(admin.account_url, url.split("?", 1)[1])
            for name, url in (("read", read_url), ("write", write_url), ("segment", segment["url"]))
        }
        refused(
            lambda: list(as_store["read"].list(c.BLOB_DATA)),  # list the container
            lambda: list(as_store["write"].list(c.BLOB_OUTPUT)),
            reader.delete,  # delete the blob
            writer.delete,
            seg.delete,
            writer.get,  # read an output-only grant
            seg.get,
            lambda: reader.put(b"overwritten"),  # write an input-only grant
            lambda: as_store["read"].get(c.BLOB_DATA, "probe/in-2.txt"),  # another blob with the same grant
            lambda: as_store["segment"].put(c.BLOB_OUTPUT, segment["blob"] + "-2", b"x"),  # another name
            lambda: as_store["segment"].put(c.BLOB_OUTPUT, "nodes/default/local-1/x.seg", b"x"),
        )
        packages = clients.container_store(registered["packages_url"])
        admin.put(c.BLOB_PACKAGES, "probe/v000001.json", b"{}")
        assert packages.get(c.BLOB_PACKAGES, "probe/v000001.json") == b"{}"
        refused(
            lambda: packages.put(c.BLOB_PACKAGES, "probe/v000002.json", b"{}"),
            lambda: packages.put(c.BLOB_PACKAGES, "probe/v000001.json", b"replaced"),
            lambda: packages.delete(c.BLOB_PACKAGES, "probe/v000001.json"),
            lambda: packages.get(c.BLOB_DATA, "probe/in-1.txt"),
        )
    assert admin.get(c.BLOB_DATA, "probe/in-1.txt") == b"mine"
    assert admin.get(c.BLOB_OUTPUT, "probe/out-1.txt") == b"result"
    report = {
        "node": "probe-1",
        "pool": POOL,
        "results": [{"task": lease["task"], "attempt": 1, "exit_code": 0}],
    }
    post(agent_http, "/report", report)


def test_a_forged_output_reference_is_not_stored_and_never_served(
    scheduler: Scheduler, admin: AzureBlobStore, agent_http: httpx.Client
) -> None:
    admin.put(c.BLOB_DATA, "probe/secret.txt", b"someone else's data")
    done = scheduler.submit(["echo", "mine-*"], sweep="1-1")  # a real agent's output segment
    assert scheduler.wait(done, timeout=WAIT, interval=0.1)["state"] == "Finished"
    theirs = scheduler.view_task(done, 1)["stdout"]
    assert theirs["blob"].startswith(f"nodes/default/{scheduler.view_task(done, 1)['node']}/")
    post(agent_http, "/register", {"node": "probe-2", "pool": POOL, "slots": 2})
    job = scheduler.submit("true", sweep="1-2", pool=POOL)
    leases = post(
        agent_http, "/lease", {"node": "probe-2", "pool": POOL, "free_slots": 2, "wait_seconds": 10}
    )
    forged = [theirs, {"container": c.BLOB_DATA, "blob": "probe/secret.txt"}]
    results = [
        {"task": lease["task"], "attempt": lease["attempt"], "exit_code": 0, "stdout": ref}
        for lease, ref in zip(leases["leases"], forged, strict=True)
    ]
    post(agent_http, "/report", {"node": "probe-2", "pool": POOL, "results": results})
    view = scheduler.wait(job, timeout=WAIT, interval=0.1)
    assert view["state"] == "Finished"  # the exit codes count
    for index in (1, 2):
        task = scheduler.view_task(job, index)
        assert "stdout" not in task and "outside the node's output prefix" in task["message"]
        with pytest.raises(NotFound):
            scheduler.task_output(job, index)


def test_glob_outputs_are_uploaded_by_keyless_agents_through_grants_for_matching_files_only(
    scheduler: Scheduler, admin: AzureBlobStore
) -> None:
    job = scheduler.submit(
        "mkdir -p out && echo a-* > out/part-1.csv && echo b-* > out/part-2.csv && echo x > out/notes.txt",
        sweep="1-2",
        workdir="globbed-*",
        output_files=[{"pattern": "out/part-^*.csv", "blob": "hpc-output/globbed-*"}],
    )
    assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Finished"
    for index in (1, 2):
        assert scheduler.view_task(job, index).get("message") is None
        assert admin.get(c.BLOB_OUTPUT, f"globbed-{index}/out/part-1.csv") == f"a-{index}\n".encode()
        assert admin.get(c.BLOB_OUTPUT, f"globbed-{index}/out/part-2.csv") == f"b-{index}\n".encode()
        assert not list(admin.list(c.BLOB_OUTPUT, f"globbed-{index}/out/notes"))


def test_a_long_output_is_served_in_pages_and_read_whole_by_the_sdk(scheduler: Scheduler) -> None:
    size = 3 * MAX_OUTPUT + 5  # the e2e cluster serves MAX_OUTPUT bytes per request
    job = scheduler.submit(f"head -c {size} /dev/zero | tr '\\0' x", sweep="1-1")
    assert scheduler.wait(job, timeout=WAIT, interval=0.1)["state"] == "Finished"
    first = scheduler.task_output_page(job, 1)
    assert (len(first.data), first.size, first.truncated) == (MAX_OUTPUT, size, True)
    last = scheduler.task_output_page(job, 1, offset=3 * MAX_OUTPUT)
    assert (last.data, last.truncated) == (b"x" * 5, False)
    assert scheduler.task_output(job, 1) == b"x" * size
    assert scheduler.task_output(job, 1, limit=10) == b"x" * 10
