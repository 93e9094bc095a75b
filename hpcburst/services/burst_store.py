"""Where the burst controller keeps its record and its decision log (container ``burst``).

The record is one document changed by compare-and-set only, so controllers in several processes (Functions
instances) never lose each other's decisions: the loser re-reads and decides again. The log holds one
document per recorded decision, ordered by time, kept for ``LOG_DAYS`` days.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from hpcburst import constants as c
from hpcburst.domain.burst.models import Decision
from hpcburst.domain.burst.record import BurstRecord
from hpcburst.errors import Conflict, NotFound
from hpcburst.storage.state.port import StateStore

CONTROLLER, RECORD_ID, LOG = "controller", "record", "log"
LOG_DAYS = 7
_NUMBERS = re.compile(r"\d+(\.\d+)?")


class BurstStore:
    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._last_logged: str | None = None

    def read(self) -> tuple[BurstRecord, str | None]:
        """The record and its etag (None: no record yet)."""
        try:
            doc = self._store.get(c.BURST, CONTROLLER, RECORD_ID)
        except NotFound:
            return BurstRecord(), None
        return BurstRecord.model_validate(doc.body), doc.etag

    def write(self, record: BurstRecord, etag: str | None) -> None:
        """Conflict when another controller changed the record since it was read."""
        body = record.model_dump(mode="json")
        if etag is None:
            self._store.create(c.BURST, CONTROLLER, RECORD_ID, body)
        else:
            self._store.replace(c.BURST, CONTROLLER, RECORD_ID, body, if_match=etag)

    def update(self, change: Callable[[BurstRecord], BurstRecord]) -> BurstRecord:
        """Apply ``change`` to the current record, retrying on lost races; the record as written."""
        while True:
            record, etag = self.read()
            changed = change(record)
            try:
                self.write(changed, etag)
                return changed
            except Conflict:
                continue

    def log(self, decision: Decision) -> None:
        """Record a decision that did something, or whose reason (numbers aside) differs from the last
        recorded one: a steady "no change" is written once, not every tick."""
        shape = _NUMBERS.sub("#", decision.reason)
        if not decision.actions and shape == self._last_logged:
            return
        self._last_logged = shape
        entry = {"at": decision.at, "reason": decision.reason,
                 "actions": [a.model_dump(mode="json") for a in decision.actions]}  # fmt: skip
        # time first so ids sort by time; the suffix keeps two decisions of the same instant apart
        self._store.create(c.BURST, LOG, f"{decision.at:017.6f}-{uuid.uuid4().hex[:8]}", entry)

    def entries(self, limit: int = 50, since: float | None = None) -> list[Decision]:
        """The newest ``limit`` recorded decisions (since ``since``), oldest first."""
        page = self._store.query(c.BURST, LOG, order_by="at", descending=True, limit=limit)
        found = [Decision.model_validate(d.body) for d in page.items]
        return sorted((d for d in found if since is None or d.at >= since), key=lambda d: d.at)

    def prune(self, now: float) -> int:
        """Forget decisions older than ``LOG_DAYS`` days; how many went."""
        cutoff, gone = now - LOG_DAYS * 86400, 0
        while True:
            page = self._store.query(c.BURST, LOG, order_by="at", limit=200)
            old = [d for d in page.items if d.body["at"] < cutoff]
            for doc in old:
                try:
                    self._store.delete(c.BURST, LOG, doc.id)
                except NotFound:
                    pass
            gone += len(old)
            if len(old) < len(page.items) or not old:
                return gone
