"""The durable journal's contract, on every state store adapter (memory, a SQLite file, the Cosmos server).

A "crash" is a new Journal on the same store: it knows only what was stored.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from journal_support import (
    ADAPTERS,
    Counting,
    FailingWrites,
    answers,
    fault,
    numbered,
    open_store,
    requests,
)

from hpcburst import constants as c
from hpcburst.errors import PayloadTooLarge, StorageUnavailable
from hpcburst.services.soa.journal import FOLD_AT, Journal
from hpcburst.storage.state.port import StateStore, query_all
from hpcburst.storage.state.sqlite import SqliteStateStore


@pytest.fixture(params=ADAPTERS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    yield from open_store(request, tmp_path)


def stored_ids(store: StateStore, session: str = "s1") -> list[str]:
    return sorted(d.id for d in query_all(store, c.SOA, partition=session))


def kinds(store: StateStore, session: str = "s1") -> list[str]:
    return [id[0] for id in stored_ids(store, session)]


def pending_ids(journal: Journal, session: str = "s1") -> list[tuple[str, str]]:
    return [(client, item.id) for client, item in journal.load(session).requests]


def test_stored_requests_are_pending_after_a_crash_in_arrival_order(store: StateStore) -> None:
    before = Journal(store)
    before.append_requests("s1", "c1", requests("a", "b"))
    before.append_requests("s1", "c2", requests("x"))
    before.append_requests("s1", "c1", requests("c"))
    recovered = Journal(store).load("s1")
    assert [(client, item.id) for client, item in recovered.requests] == [
        ("c1", "a"),
        ("c1", "b"),
        ("c2", "x"),
        ("c1", "c"),
    ]
    assert recovered.requests[0][1].payload == {"args": ["a"]}
    assert recovered.responses == [] and recovered.acknowledged == set()


def test_payloads_and_responses_come_back_as_they_were_stored(store: StateStore) -> None:
    journal = Journal(store)
    odd = [None, 1.5, "é", {"nested": [True, {"k": None}]}, [1, [2, [3]]]]
    items = requests("p", payload=odd)
    items[0].user_data = {"tag": "mine"}
    journal.append_requests("s1", "c1", items)
    assert Journal(store).load("s1").requests[0][1] == items[0]
    journal.append_requests("s1", "c1", requests("q", "f"))
    journal.append_responses("s1", [*answers("c1", "q", value=odd), fault("c1", "f")])
    assert Journal(store).load("s1").responses == [*answers("c1", "q", value=odd), fault("c1", "f")]


def test_a_request_with_a_stored_response_is_no_longer_pending(store: StateStore) -> None:
    journal = Journal(store)
    journal.append_requests("s1", "c1", requests("a", "b", "c"))
    journal.append_responses("s1", answers("c1", "b"))
    recovered = Journal(store).load("s1")
    assert [item.id for _, item in recovered.requests] == ["a", "c"]
    assert [(r.client_id, r.id) for r in recovered.responses] == [("c1", "b")]


def test_the_first_response_stored_wins(store: StateStore) -> None:
    journal = Journal(store)
    journal.append_requests("s1", "c1", requests("a"))
    journal.append_responses("s1", answers("c1", "a", value="first"))
    journal.append_responses("s1", answers("c1", "a", value="late retry"))
    assert [r.value for r in Journal(store).load("s1").responses] == ["first"]


def test_acknowledged_responses_are_gone_and_their_keys_stay_duplicates(store: StateStore) -> None:
    journal = Journal(store)
    journal.append_requests("s1", "c1", requests("a", "b"))
    journal.append_responses("s1", answers("c1", "a", "b"))
    journal.acknowledge("s1", "c1", ["a"])
    assert journal.compact("s1") == 1  # the q doc: every request answered
    recovered = Journal(store).load("s1")
    assert [r.id for r in recovered.responses] == ["b"]
    assert recovered.acknowledged == {("c1", "a")}
    journal.acknowledge("s1", "c1", ["b"])
    assert journal.compact("s1") == 1  # the r doc: every response acknowledged
    after = Journal(store)
    assert after.load("s1").acknowledged == {("c1", "a"), ("c1", "b")}
    after.append_requests("s1", "c1", requests("a"))  # a resend the broker should have refused
    assert pending_ids(Journal(store)) == []


def test_a_journal_after_a_restart_continues_the_sequence(store: StateStore) -> None:
    Journal(store).append_requests("s1", "c1", requests("a"))
    restarted = Journal(store)
    restarted.load("s1")
    restarted.append_requests("s1", "c1", requests("b"))
    unloaded = Journal(store)  # never asked to load: it reads the session on first use
    unloaded.append_requests("s1", "c1", requests("c"))
    assert len(stored_ids(store)) == 3
    assert pending_ids(Journal(store)) == [("c1", "a"), ("c1", "b"), ("c1", "c")]


def test_compaction_deletes_exactly_the_finished_docs(store: StateStore) -> None:
    journal = Journal(store)
    journal.append_requests("s1", "c1", requests("a", "b"))  # q1: both answered
    journal.append_requests("s1", "c1", requests("c", "d"))  # q2: d unanswered
    journal.append_responses("s1", answers("c1", "a", "b"))  # r1: both acknowledged
    journal.append_responses("s1", answers("c1", "c"))  # r2: not acknowledged
    journal.acknowledge("s1", "c1", ["a", "b"])
    q1, q2, r1, r2 = (id for id in stored_ids(store) if id[0] in "qr")
    before = Journal(store).load("s1")
    assert journal.compact("s1") == 2
    assert [id for id in stored_ids(store) if id[0] in "qr"] == [q2, r2]
    after = Journal(store).load("s1")
    assert (after.requests, after.responses, after.acknowledged) == (
        before.requests,
        before.responses,
        before.acknowledged,
    )
    assert journal.compact("s1") == 0
    assert {q1, r1}.isdisjoint(stored_ids(store))


def test_a_restarted_journal_compacts_what_the_store_holds(store: StateStore) -> None:
    first = Journal(store)
    first.append_requests("s1", "c1", requests("a"))
    first.append_responses("s1", answers("c1", "a"))
    first.acknowledge("s1", "c1", ["a"])
    assert Journal(store).compact("s1") == 2
    assert kinds(store) == ["a"]


def test_a_forgotten_session_is_read_again_on_its_next_use(store: StateStore) -> None:
    journal = Journal(store)
    journal.append_requests("s1", "c1", requests("a"))
    journal.append_responses("s1", answers("c1", "a"))
    journal.forget("s1")  # e.g. closed, its responses kept for their TTL
    journal.acknowledge("s1", "c1", ["a"])
    assert journal.compact("s1") == 2
    assert kinds(store) == ["a"]


def test_many_small_tombstone_docs_are_folded_into_one(store: StateStore) -> None:
    journal = Journal(store)
    ids = numbered("k", FOLD_AT + 2)
    journal.append_requests("s1", "c1", requests(*ids))
    journal.append_responses("s1", answers("c1", *ids))
    for id in ids:
        journal.acknowledge("s1", "c1", [id])
    assert journal.compact("s1") == 2 + len(ids)
    assert kinds(store) == ["a"]
    assert Journal(store).load("s1").acknowledged == {("c1", id) for id in ids}


def test_purge_deletes_every_doc_of_the_session_and_only_it(store: StateStore) -> None:
    journal, other_process = Journal(store), Journal(store)
    journal.append_requests("s1", "c1", requests("a"))
    other_process.append_responses("s1", answers("c1", "a"))
    journal.acknowledge("s1", "c1", ["a"])
    journal.append_requests("s2", "c1", requests("kept"))
    journal.purge("s1")
    assert stored_ids(store) == []
    assert pending_ids(Journal(store), "s2") == [("c1", "kept")]
    journal.append_requests("s1", "c1", requests("again"))
    assert pending_ids(Journal(store)) == [("c1", "again")]


def test_a_batch_too_big_for_one_doc_is_split_in_order(store: StateStore) -> None:
    journal = Journal(store, max_doc_bytes=4000)
    ids = numbered("r", 256)
    journal.append_requests("s1", "c1", requests(*ids))
    assert len(stored_ids(store)) > 2
    assert pending_ids(Journal(store)) == [("c1", id) for id in ids]


def test_a_megabyte_batch_is_split_below_the_cosmos_item_limit(store: StateStore) -> None:
    Journal(store).append_requests("s1", "c1", requests("a", "b", "c", payload="x" * 400_000))
    assert len(stored_ids(store)) == 2
    assert [item.id for _, item in Journal(store).load("s1").requests] == ["a", "b", "c"]


def test_one_item_no_document_can_hold_is_refused_with_the_fix(store: StateStore) -> None:
    with pytest.raises(PayloadTooLarge, match="common data"):
        Journal(store).append_requests("s1", "c1", requests("a", "huge", payload="x" * 2_000_000))
    assert stored_ids(store) == []


def test_concurrent_calls_on_many_sessions_lose_nothing(store: StateStore) -> None:
    journal = Journal(store)
    sessions = ["s1", "s2", "s3"]

    def client(session: str, name: str) -> None:
        for n in range(5):
            ids = numbered(f"{n}-", 20)
            journal.append_requests(session, name, requests(*ids))
            journal.append_responses(session, answers(name, *ids[:10]))
            journal.acknowledge(session, name, ids[:5])
            journal.compact(session)

    threads = [threading.Thread(target=client, args=(s, f"c{i}")) for s in sessions for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        recovered = Journal(store).load(session)
        assert len(recovered.requests) == 2 * 5 * 10
        assert len(recovered.responses) == 2 * 5 * 5
        assert len(recovered.acknowledged) == 2 * 5 * 5


def test_a_failed_write_leaves_the_indexes_as_they_were(store: StateStore) -> None:
    failing = FailingWrites(store)
    journal = Journal(failing)  # type: ignore[arg-type]  # a delegating wrapper, not a StateStore subclass
    journal.append_requests("s1", "c1", requests("a"))
    journal.append_responses("s1", answers("c1", "a"))
    failing.fail_next = True
    with pytest.raises(StorageUnavailable):
        journal.acknowledge("s1", "c1", ["a"])
    assert journal.compact("s1") == 1  # the q doc only: the response was never acknowledged
    assert [r.id for r in Journal(store).load("s1").responses] == ["a"]
    journal.acknowledge("s1", "c1", ["a"])  # the retry is stored
    assert journal.compact("s1") == 1


def test_each_call_on_a_256_request_batch_is_one_write_and_no_read(store: StateStore) -> None:
    counting = Counting(store)
    journal = Journal(counting)  # type: ignore[arg-type]  # a delegating wrapper
    ids = numbered("r", 256)
    journal.load("s1")
    counting.reset()
    journal.append_requests("s1", "client-1", requests(*ids))
    assert (counting.writes, counting.reads) == (1, 0)
    journal.append_responses("s1", answers("client-1", *ids))
    assert (counting.writes, counting.reads) == (2, 0)
    journal.acknowledge("s1", "client-1", ids)
    assert (counting.writes, counting.reads) == (3, 0)
    journal.acknowledge("s1", "client-1", ids)  # acknowledged already: nothing to store
    assert (counting.writes, counting.reads) == (3, 0)
    assert journal.compact("s1") == 2
    assert (counting.calls["batch"], counting.writes, counting.reads) == (1, 4, 0)


def test_a_new_journal_reads_a_session_once_then_only_writes(store: StateStore) -> None:
    counting = Counting(store)
    journal = Journal(counting)  # type: ignore[arg-type]  # a delegating wrapper
    for n in range(3):
        journal.append_requests("s1", "c1", requests(*numbered(f"{n}-", 256)))
    assert (counting.calls["query"], counting.writes) == (1, 3)


def test_a_kill_9_at_any_point_loses_nothing_a_call_returned(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    writer = Path(__file__).with_name("journal_writer_process.py")
    said: list[tuple[str, str]] = []
    for run in range(3):  # each run restarts on what the last one left, and is killed at another point
        child = subprocess.Popen(
            [sys.executable, str(writer), str(path), str(run)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        for _ in range(20 + 7 * run):
            kind, n = child.stdout.readline().split()
            said.append((kind, f"{run}.{n}"))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    store = SqliteStateStore(path)
    recovered = Journal(store).load("s1")
    store.close()
    pending = {item.id for _, item in recovered.requests}
    answered = {r.id for r in recovered.responses}
    acked = {id for _, id in recovered.acknowledged}
    for kind, n in said:
        batch = [f"{n}-{i}" for i in range(64)]
        if kind == "q":
            assert set(batch) <= pending | answered | acked
        elif kind == "r":
            assert set(batch[::2]) <= answered | acked
        else:
            assert set(batch[::4]) <= acked
