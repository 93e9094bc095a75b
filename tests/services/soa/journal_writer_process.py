"""A process that journals batches on a SQLite store forever, saying after each call returns what it stored
(``q N``, ``r N``, ``a N`` for batch N of keys ``<run>.<N>-<i>``), so a test can kill it -9 at any point and check that nothing it said is lost."""

from __future__ import annotations

import sys

from hpcburst.domain.soa.protocol import RequestItem, StoredResponse
from hpcburst.services.soa.journal import Journal
from hpcburst.storage.state.sqlite import SqliteStateStore

BATCH = 64


def main(path: str, run: str) -> None:
    def ids(n: int) -> list[str]:
        return [f"{run}.{n}-{i}" for i in range(BATCH)]

    journal = Journal(SqliteStateStore(path))
    journal.load("s1")
    n = 0
    while True:
        journal.append_requests("s1", "c1", [RequestItem(id=i, op="work", payload=[i]) for i in ids(n)])
        print(f"q {n}", flush=True)
        journal.append_responses("s1", [StoredResponse(client_id="c1", id=i, ok=True) for i in ids(n)[::2]])
        print(f"r {n}", flush=True)
        journal.acknowledge("s1", "c1", ids(n)[::4])
        print(f"a {n}", flush=True)
        journal.compact("s1")
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
