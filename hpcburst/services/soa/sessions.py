"""Session records (``sessions`` container, pk = session id, id "session"): create, get, list, save, end.

Written on create, on close and by the orchestration's tick, never per request. Only the owner or an
admin sees a session: to anyone else it does not exist (404, never 403, so ids reveal nothing).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.identity import Principal
from hpcburst.domain.soa.models import SessionRecord, SessionStartInfo, SessionState, SessionView
from hpcburst.errors import Conflict, NotFound
from hpcburst.services.soa.broker import Broker
from hpcburst.storage.state.port import Document, StateStore, query_all

RECORD_ID = "session"
ENDED = (SessionState.CLOSED, SessionState.FAULTED)


def new_session_id() -> str:
    """ "s" + 10 base32 characters (50 random bits): short, url-safe, unique in practice (create checks)."""
    return "s" + base64.b32encode(secrets.token_bytes(10)).decode()[:10].lower()


class SessionService:
    def __init__(
        self,
        store: StateStore,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_session_id,
    ) -> None:
        self._store, self._clock, self._new_id = store, clock, new_id

    def create(self, info: SessionStartInfo, owner: str) -> SessionRecord:
        for _ in range(5):
            record = SessionRecord(
                **info.model_dump(), id=self._new_id(), owner=owner, created_at=self._clock()
            )
            try:
                self._store.create(c.SESSIONS, record.id, RECORD_ID, _body(record))
                return record
            except Conflict:
                continue  # an id already taken: draw another
        raise Conflict("could not find a free session id; try again")

    def get(self, session_id: str) -> SessionRecord:
        try:
            return _record(self._store.get(c.SESSIONS, session_id, RECORD_ID))
        except NotFound:
            raise NotFound(f"no session {session_id}; `hpcburst session list` shows yours") from None

    def visible(self, session_id: str, who: Principal) -> SessionRecord:
        """The session when ``who`` owns it or is an admin; NotFound otherwise (as if it did not exist)."""
        record = self.get(session_id)
        if record.owner != who.name and not who.admin:
            raise NotFound(f"no session {session_id}; `hpcburst session list` shows yours")
        return record

    def list_sessions(
        self, owner: str | None = None, state: SessionState | None = None
    ) -> list[SessionRecord]:
        where: dict[str, str] = {}
        if owner is not None:
            where["owner"] = owner
        if state is not None:
            where["state"] = state.value
        found = query_all(self._store, c.SESSIONS, where=where or None, limit=1000)
        records = (_record(d) for d in found if d.id == RECORD_ID)
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    def open_using(self, service: str) -> list[str]:
        """Ids of sessions not yet ended that use ``service``."""
        live = [SessionState.ACTIVE.value, SessionState.CLOSING.value]
        found = query_all(self._store, c.SESSIONS, where={"state": live}, limit=1000)
        return [d.partition for d in found if d.body.get("service") == service and d.id == RECORD_ID]

    def save(self, record: SessionRecord) -> SessionRecord:
        self._store.upsert(c.SESSIONS, record.id, RECORD_ID, _body(record))
        return record

    def end(self, session_id: str, state: SessionState, reason: str | None = None) -> SessionRecord:
        """Mark the session Closed or Faulted (once: an ended session keeps its first end)."""
        record = self.get(session_id)
        if record.state in ENDED:
            return record
        ended = record.model_copy(update={"state": state, "reason": reason, "closed_at": self._clock()})
        return self.save(ended)

    def close(self, session_id: str, reason: str | None = None) -> SessionRecord:
        return self.end(session_id, SessionState.CLOSED, reason)

    def add_data(self, session_id: str, name: str, keep: bool) -> SessionRecord:
        record = self.get(session_id)
        return self.save(record.model_copy(update={"data": {**record.data, name: keep}}))


def _body(record: SessionRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"id"})  # the id is the partition key


def _record(doc: Document) -> SessionRecord:
    return SessionRecord.model_validate({**doc.body, "id": doc.partition})


def session_view(record: SessionRecord, broker: Broker | None = None) -> SessionView:
    """The record as users see it, with the broker's live numbers when it holds the session."""
    fields = record.model_dump(include=set(SessionView.model_fields))
    view = SessionView(**fields)
    if broker is None:
        return view
    standing = broker.standing(record.id)
    if standing is None:
        return view
    state, reason = (record.state, record.reason) if record.state in ENDED else standing
    units, target = broker.units(record.id)
    return view.model_copy(
        update={
            "state": state,
            "reason": reason,
            "units": units,
            "target_units": target,
            "clients": broker.clients(record.id),
            "counts": broker.view_counts(record.id),
        }
    )
