"""The StateStore contract, run against every adapter (SQLite file, Cosmos server, in-memory fake).

Each test gets a fresh, empty store (see conftest.py). A missing server fails the fixture: no skips.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from pathlib import Path

import pytest

from hpcburst import constants as c
from hpcburst.errors import Conflict, InvalidSpec, NotFound
from hpcburst.storage.state.memory import MemoryStateStore
from hpcburst.storage.state.port import Document, StateStore, WriteOp, query_all
from hpcburst.storage.state.sqlite import SqliteStateStore

pytestmark = pytest.mark.filterwarnings(
    "ignore:Unverified HTTPS request"
)  # the Cosmos server's own certificate


def test_create_then_get_returns_the_body_and_an_etag(state_store: StateStore) -> None:
    created = state_store.create(
        c.JOBS, "job1", "job1", {"state": "Queued", "owner": "ana", "spec": {"n": [1, 2]}}
    )
    got = state_store.get(c.JOBS, "job1", "job1")
    assert got == Document(
        "job1", "job1", {"state": "Queued", "owner": "ana", "spec": {"n": [1, 2]}}, created.etag
    )
    assert created.etag


def test_get_of_a_missing_document_is_not_found(state_store: StateStore) -> None:
    with pytest.raises(NotFound):
        state_store.get(c.JOBS, "nope", "nope")


def test_create_of_an_existing_id_is_a_conflict(state_store: StateStore) -> None:
    state_store.create(c.JOBS, "j", "j", {"state": "Queued"})
    with pytest.raises(Conflict):
        state_store.create(c.JOBS, "j", "j", {"state": "Running"})
    assert state_store.get(c.JOBS, "j", "j").body == {"state": "Queued"}


def test_the_same_id_in_two_partitions_is_two_documents(state_store: StateStore) -> None:
    state_store.create(c.NODES, "pool-a", "n1", {"state": "Online"})
    state_store.create(c.NODES, "pool-b", "n1", {"state": "Offline"})
    assert state_store.get(c.NODES, "pool-a", "n1").body == {"state": "Online"}
    assert state_store.get(c.NODES, "pool-b", "n1").body == {"state": "Offline"}


def test_every_write_changes_the_etag(state_store: StateStore) -> None:
    first = state_store.create(c.TASKS, "j", "j.0", {"state": "Queued"})
    second = state_store.replace(c.TASKS, "j", "j.0", {"state": "Running"}, if_match=first.etag)
    third = state_store.upsert(c.TASKS, "j", "j.0", {"state": "Running"})
    assert len({first.etag, second.etag, third.etag}) == 3
    assert state_store.get(c.TASKS, "j", "j.0").etag == third.etag


def test_replace_with_a_stale_etag_is_a_conflict_and_changes_nothing(state_store: StateStore) -> None:
    first = state_store.create(c.TASKS, "j", "j.0", {"state": "Queued"})
    state_store.replace(c.TASKS, "j", "j.0", {"state": "Running"}, if_match=first.etag)
    with pytest.raises(Conflict):
        state_store.replace(c.TASKS, "j", "j.0", {"state": "Failed"}, if_match=first.etag)
    assert state_store.get(c.TASKS, "j", "j.0").body == {"state": "Running"}


def test_replace_and_delete_of_a_missing_document_are_not_found(state_store: StateStore) -> None:
    with pytest.raises(NotFound):
        state_store.replace(c.TASKS, "j", "j.9", {"state": "Running"})
    with pytest.raises(NotFound):
        state_store.replace(c.TASKS, "j", "j.9", {"state": "Running"}, if_match="whatever")
    with pytest.raises(NotFound):
        state_store.delete(c.TASKS, "j", "j.9")


def test_upsert_creates_then_overwrites(state_store: StateStore) -> None:
    state_store.upsert(c.NODES, "pool", "n1", {"state": "Online"})
    state_store.upsert(c.NODES, "pool", "n1", {"state": "Draining"})
    assert state_store.get(c.NODES, "pool", "n1").body == {"state": "Draining"}


def test_delete_honours_if_match(state_store: StateStore) -> None:
    doc = state_store.create(c.NODES, "pool", "n1", {"state": "Online"})
    state_store.replace(c.NODES, "pool", "n1", {"state": "Offline"})
    with pytest.raises(Conflict):
        state_store.delete(c.NODES, "pool", "n1", if_match=doc.etag)
    state_store.delete(c.NODES, "pool", "n1", if_match=state_store.get(c.NODES, "pool", "n1").etag)
    with pytest.raises(NotFound):
        state_store.get(c.NODES, "pool", "n1")


def test_reserved_keys_and_unknown_containers_are_refused(state_store: StateStore) -> None:
    with pytest.raises(InvalidSpec, match="reserved"):
        state_store.create(c.JOBS, "j", "j", {"id": "other"})
    with pytest.raises(InvalidSpec, match="unknown state container"):
        state_store.create("nosuch", "j", "j", {})
    with pytest.raises(InvalidSpec, match="indexed fields"):
        state_store.query(c.JOBS, where={"colour": "red"})
    with pytest.raises(InvalidSpec, match="unknown state container"):
        state_store.batch("nosuch", "j", [])
    with pytest.raises(InvalidSpec, match="unknown write kind"):
        state_store.batch(c.TASKS, "j", [WriteOp("merge", "j.0", {})])  # type: ignore[arg-type]


def race_two_writers(store: StateStore, etag: str | None) -> list[str]:
    """Two threads replace the same task with the same if_match at the same moment; their outcomes."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(node: str) -> None:
        barrier.wait()
        try:
            store.replace(c.TASKS, "j", "j.0", {"state": "Running", "node": node}, if_match=etag)
            outcomes.append(node)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_of_two_writers_racing_on_one_etag_exactly_one_wins(state_store: StateStore) -> None:
    for round_ in range(5):
        base = state_store.upsert(c.TASKS, "j", "j.0", {"state": "Queued", "round": round_})
        outcomes = race_two_writers(state_store, base.etag)
        winners = [o for o in outcomes if o != "conflict"]
        assert outcomes.count("conflict") == 1 and len(winners) == 1
        assert state_store.get(c.TASKS, "j", "j.0").body["node"] == winners[0]


def increment(store: StateStore, times: int) -> None:
    """Add ``times`` to the counter document by compare-and-set, retrying every lost race."""
    for _ in range(times):
        while True:
            doc = store.get(c.JOBS, "counter", "counter")
            try:
                store.replace(c.JOBS, "counter", "counter", {"n": doc.body["n"] + 1}, if_match=doc.etag)
                break
            except Conflict:
                continue


def test_compare_and_set_from_many_threads_loses_no_update(state_store: StateStore) -> None:
    state_store.create(c.JOBS, "counter", "counter", {"n": 0})
    threads = [threading.Thread(target=increment, args=(state_store, 6)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state_store.get(c.JOBS, "counter", "counter").body == {"n": 18}


def seed_tasks(store: StateStore, job: str, count: int) -> None:
    store.batch(
        c.TASKS,
        job,
        [
            WriteOp("create", f"{job}.{i}", {"index": i, "state": "Finished" if i % 3 == 0 else "Queued"})
            for i in range(count)
        ],
    )


def test_paging_returns_every_document_once_across_several_pages(state_store: StateStore) -> None:
    seed_tasks(state_store, "j", 25)
    seen: list[str] = []
    pages = 0
    continuation = None
    while True:
        page = state_store.query(c.TASKS, partition="j", limit=10, continuation=continuation)
        assert len(page.items) <= 10
        seen.extend(d.id for d in page.items)
        pages += 1
        if page.continuation is None:
            break
        continuation = page.continuation
    assert pages >= 3
    assert sorted(seen) == sorted(f"j.{i}" for i in range(25))


def test_order_by_pages_in_order_both_ways(state_store: StateStore) -> None:
    seed_tasks(state_store, "j", 23)
    ascending = [
        d.body["index"] for d in query_all(state_store, c.TASKS, partition="j", order_by="index", limit=7)
    ]
    assert ascending == list(range(23))
    descending = query_all(state_store, c.TASKS, partition="j", order_by="index", descending=True, limit=5)
    assert [d.body["index"] for d in descending] == list(range(22, -1, -1))


def test_order_by_with_ties_spans_partitions_without_losing_documents(state_store: StateStore) -> None:
    for j in range(12):
        state_store.create(c.JOBS, f"job{j:02}", f"job{j:02}", {"priority": j % 3, "state": "Running"})
    docs = list(query_all(state_store, c.JOBS, order_by="priority", descending=True, limit=4))
    assert [d.body["priority"] for d in docs] == [2] * 4 + [1] * 4 + [0] * 4
    assert len({d.id for d in docs}) == 12


def test_cross_partition_query_filters_by_indexed_fields(state_store: StateStore) -> None:
    seed_tasks(state_store, "a", 6)
    seed_tasks(state_store, "b", 6)
    finished = list(query_all(state_store, c.TASKS, where={"state": "Finished"}, limit=3))
    assert sorted(d.id for d in finished) == ["a.0", "a.3", "b.0", "b.3"]
    assert {d.partition for d in finished} == {"a", "b"}
    in_one = list(query_all(state_store, c.TASKS, partition="b", where={"state": "Finished"}))
    assert sorted(d.id for d in in_one) == ["b.0", "b.3"]


def test_in_filters_match_any_listed_value(state_store: StateStore) -> None:
    seed_tasks(state_store, "j", 10)
    docs = list(
        query_all(state_store, c.TASKS, partition="j", where={"index": [1, 4, 7, 42]}, order_by="index")
    )
    assert [d.body["index"] for d in docs] == [1, 4, 7]
    both = query_all(state_store, c.TASKS, where={"state": ["Queued", "Finished"], "index": (0, 1)})
    assert sorted(d.id for d in both) == ["j.0", "j.1"]
    assert list(query_all(state_store, c.TASKS, where={"index": []})) == []


def test_count_follows_partition_and_filters(state_store: StateStore) -> None:
    seed_tasks(state_store, "a", 9)
    seed_tasks(state_store, "b", 4)
    assert state_store.count(c.TASKS) == 13
    assert state_store.count(c.TASKS, partition="a") == 9
    assert state_store.count(c.TASKS, where={"state": "Finished"}) == 5
    assert state_store.count(c.TASKS, partition="a", where={"state": ["Finished", "Queued"]}) == 9
    assert state_store.count(c.JOBS) == 0


def test_batch_applies_mixed_writes_to_one_partition(state_store: StateStore) -> None:
    first = state_store.create(c.TASKS, "j", "j.0", {"state": "Queued"})
    state_store.create(c.TASKS, "j", "j.1", {"state": "Queued"})
    results = state_store.batch(
        c.TASKS,
        "j",
        [
            WriteOp("replace", "j.0", {"state": "Running"}, if_match=first.etag),
            WriteOp("delete", "j.1"),
            WriteOp("create", "j.2", {"state": "Queued"}),
            WriteOp("upsert", "j.3", {"state": "Queued"}),
        ],
    )
    assert results[1] is None
    assert [r.id for r in results if r is not None] == ["j.0", "j.2", "j.3"]
    assert state_store.get(c.TASKS, "j", "j.0") == results[0]
    assert sorted(d.id for d in query_all(state_store, c.TASKS, partition="j")) == ["j.0", "j.2", "j.3"]


def test_a_batch_with_a_lost_race_raises_conflict(state_store: StateStore) -> None:
    doc = state_store.create(c.TASKS, "j", "j.0", {"state": "Queued"})
    state_store.replace(c.TASKS, "j", "j.0", {"state": "Running"})
    with pytest.raises(Conflict):
        state_store.batch(c.TASKS, "j", [WriteOp("replace", "j.0", {"state": "Failed"}, if_match=doc.etag)])
    assert state_store.get(c.TASKS, "j", "j.0").body == {"state": "Running"}


def test_a_batch_holds_at_most_one_hundred_writes(state_store: StateStore) -> None:
    with pytest.raises(InvalidSpec, match="at most 100"):
        state_store.batch(c.TASKS, "j", [WriteOp("upsert", f"j.{i}", {}) for i in range(101)])
    assert state_store.count(c.TASKS) == 0


def test_a_batch_replacing_a_missing_document_raises_not_found(state_store: StateStore) -> None:
    with pytest.raises(NotFound):
        state_store.batch(c.TASKS, "j", [WriteOp("replace", "j.404", {"state": "Running"})])


@pytest.mark.parametrize("kind", ["sqlite", "memory"])  # the Cosmos server's batch is not atomic
def test_a_failed_batch_leaves_nothing_behind(kind: str, tmp_path: Path) -> None:
    store: StateStore = SqliteStateStore(tmp_path / "state.db") if kind == "sqlite" else MemoryStateStore()
    store.create(c.TASKS, "j", "j.1", {"state": "Queued"})
    with pytest.raises(Conflict):
        store.batch(c.TASKS, "j", [WriteOp("create", "j.0", {}), WriteOp("create", "j.1", {})])
    with pytest.raises(NotFound):
        store.get(c.TASKS, "j", "j.0")
    store.close()


def test_short_lived_threads_do_not_leak_sqlite_connections(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    for i in range(50):
        thread = threading.Thread(target=store.upsert, args=(c.TASKS, "j", f"j.{i}", {"index": i}))
        thread.start()
        thread.join()
    gc.collect()
    assert store.open_connections == 1  # the main thread's; each thread's closed with its thread
    assert store.count(c.TASKS) == 50
    store.close()
    assert store.open_connections == 0


def increment_in_process(path: str, times: int) -> None:
    store = SqliteStateStore(path)
    increment(store, times)
    store.batch(
        c.TASKS,
        f"p{multiprocessing.current_process().pid}",
        [WriteOp("create", f"t{i}", {}) for i in range(50)],
    )
    store.close()


def test_two_processes_writing_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    store = SqliteStateStore(path)
    store.create(c.JOBS, "counter", "counter", {"n": 0})
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=increment_in_process, args=(path, 300)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert store.get(c.JOBS, "counter", "counter").body == {"n": 600}
    assert store.count(c.TASKS) == 100
    store.close()
