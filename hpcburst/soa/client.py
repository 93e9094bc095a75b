"""``soa.connect()``: the SOA client, shaped after HPC Pack's session API.

    from hpcburst import soa
    with soa.connect() as client:                      # HPCBURST_URL / HPCBURST_TOKEN as elsewhere
        session = client.create_session(soa.SessionStartInfo(service="echo", durable=True))
        with session.executor(client_id="run7") as ex:
            futures = [ex.submit("echo", x, user_data=i) for i, x in enumerate(xs)]

Control calls (create, list, view, close sessions; services) are one HTTP request each on the client's own
connection; an executor's streams use connections of their own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hpcburst.domain.soa.models import SessionStartInfo, SessionState, SessionView
from hpcburst.errors import InvalidSpec
from hpcburst.soa.admin import ServiceAdmin
from hpcburst.soa.http import Channel, items, validated
from hpcburst.soa.session import DurableSession, Session


class Client(ServiceAdmin):
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0,
                 transport: Any = None) -> None:  # fmt: skip
        """``transport``: an httpx transport to use instead of the network (tests)."""
        self.channel = Channel(url, token, timeout, transport)

    @property
    def url(self) -> str:
        return self.channel.url

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.channel.call(method, path, **kwargs)

    # --- sessions ---
    def create_session(self, info: SessionStartInfo | dict[str, Any] | None = None, **fields: Any) -> Session:
        """Open a session: ``info`` or its fields (``service="echo", durable=True``). A ``DurableSession``
        when ``durable``."""
        if not isinstance(info, SessionStartInfo):
            info = validated(SessionStartInfo, {**(info or {}), **fields}, "session")
        elif fields:
            info = validated(SessionStartInfo, {**info.model_dump(), **fields}, "session")
        view = SessionView.model_validate(
            self._call("POST", "/api/sessions", json=info.model_dump(mode="json"))
        )
        return _session_of(self, view)

    def session(self, session_id: str) -> Session:
        """An existing session (a ``DurableSession`` if it is durable)."""
        return _session_of(self, self.session_view(session_id))

    def session_view(self, session_id: str) -> SessionView:
        return SessionView.model_validate(self._call("GET", f"/api/sessions/{quote(session_id, safe='')}"))

    def sessions(self, state: str | None = None, all_users: bool = False) -> list[SessionView]:
        """Your sessions (``all_users``: everyone's, for admins), optionally in one ``state``."""
        params: dict[str, str] = {}
        if state:
            states = [s.value for s in SessionState]
            if state not in states:
                raise InvalidSpec(f"state {state!r}: one of {', '.join(states)}", field="state")
            params["state"] = state
        if all_users:
            params["all"] = "true"
        body = self._call("GET", "/api/sessions", params=params)
        return [SessionView.model_validate(v) for v in items(body, "sessions")]

    def close_session(self, session_id: str, purge: bool = False) -> None:
        """``Session.close`` by id, without fetching the session first."""
        self._call("POST", f"/api/sessions/{quote(session_id, safe='')}/close", json={"purge": purge})

    # --- lifetime ---
    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(url: str | None = None, token: str | None = None, timeout: float = 30.0,
            transport: Any = None) -> Client:  # fmt: skip
    """The cluster at ``url`` (default: HPCBURST_URL, else the local cluster), as ``token``'s user
    (default: HPCBURST_TOKEN, else the local cluster's admin token)."""
    return Client(url, token, timeout, transport)


def _session_of(client: Client, view: SessionView) -> Session:
    return (DurableSession if view.durable else Session)(client, view)
