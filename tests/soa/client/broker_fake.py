"""A first-class fake of the broker's HTTP API, served in process through ``httpx.MockTransport``.

It keeps the broker's rules (docs/soa.md, ``hpcburst.domain.soa.protocol``): a request is keyed by
``(client_id, id)`` and a duplicate is not queued again; the first response stored wins; each response is
handed out once per attachment (``restart`` hands out every unacknowledged one again); acknowledged
responses are gone; ``outstanding`` counts a client's requests with no response handed out yet; a poll is
held (on a condition, woken by new responses) for up to ``wait`` seconds. Only the owner of a session may
use it. It also plays the service hosts: operation ``echo`` answers its first argument, ``fail`` a fault,
``hold`` nothing until ``release()``.

Tests turn knobs on it: ``fail_next_posts(path_part, n, lose_answer=...)`` makes the next calls fail with
503 (optionally after doing the work, as when an answer is lost on the way back).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from hpcburst.constants import BLOB_DATA
from hpcburst.domain.soa.models import SessionStartInfo, SessionState, SessionView
from hpcburst.domain.soa.protocol import GetResponses, PostRequests, PublishData
from hpcburst.soa.codec import decode_call, encode_value

OWNER_TOKEN, OUTSIDER_TOKEN = "ana-token", "bob-token"
USERS = {OWNER_TOKEN: "ana", OUTSIDER_TOKEN: "bob"}
ADMINS = {"ana"}  # registering and removing services is theirs alone


@dataclass
class FakeSession:
    view: SessionView
    requests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    held: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    responses: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # stored, not acked
    handed: set[tuple[str, str]] = field(default_factory=set)  # handed out in this attachment
    acked: set[tuple[str, str]] = field(default_factory=set)


class FakeBroker:
    def __init__(self, blobs: Any = None) -> None:
        self.blobs = blobs  # a BlobStore (Azurite) to grant common-data uploads in, if a test publishes
        self.sessions: dict[str, FakeSession] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.request_batches: list[int] = []  # items per accepted POST .../requests
        self.polls: list[dict[str, Any]] = []  # bodies of POST .../responses
        self._changed = threading.Condition()
        self._failures: dict[str, tuple[int, bool]] = {}
        self.transport = httpx.MockTransport(self.handle)

    # --- knobs ---
    def fail_next_posts(self, path_part: str, n: int, lose_answer: bool = False) -> None:
        with self._changed:
            self._failures[path_part] = (n, lose_answer)

    def release(self, session: str) -> None:
        """Answer every held request (their operation was ``hold``) with its first argument."""
        with self._changed:
            s = self.sessions[session]
            for client_id, item in s.held:
                self._answer(s, client_id, item, force=True)
            s.held.clear()
            self._changed.notify_all()

    def end(self, session: str, state: SessionState = SessionState.FAULTED) -> None:
        with self._changed:
            self.sessions[session].view.state = state
            self._changed.notify_all()

    def outstanding(self, session: str, client_id: str) -> int:
        s = self.sessions[session]
        return sum(
            1 for key in s.requests if key[0] == client_id and key not in s.handed and key not in s.acked
        )

    # --- HTTP ---
    def handle(self, request: httpx.Request) -> httpx.Response:
        user = USERS.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if user is None:
            return _error(401, "Unauthenticated", "no valid token")
        path, method = request.url.path, request.method
        failing = next((part for part in self._failures if part in path and method == "POST"), None)
        if failing is not None:
            n, lose = self._failures[failing]
            if n > 0:
                self._failures[failing] = (n - 1, lose)
                if lose:
                    self._route(user, method, path, request)
                return _error(503, "StorageUnavailable", "the broker is busy")
        return self._route(user, method, path, request)

    def _route(self, user: str, method: str, path: str, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        if path.startswith("/api/services") and method in ("POST", "DELETE") and user not in ADMINS:
            return _error(403, "Forbidden", "registering and removing services is for admins")
        if path == "/api/services":
            if method == "POST":
                self.services[body["name"]] = {**body, "registered_by": user}
                return _ok(self.services[body["name"]], 201)
            return _ok({"services": list(self.services.values())})
        if m := re.fullmatch(r"/api/services/([^/]+)", path):
            found = self.services.get(m[1]) if method == "GET" else self.services.pop(m[1], None)
            return _ok(found) if found else _error(404, "NotFound", f"no service {m[1]}")
        if path == "/api/sessions":
            if method == "POST":
                return _ok(self._create(user, body).view.model_dump(mode="json"), 201)
            state = request.url.params.get("state")
            views = [s.view.model_dump(mode="json") for s in self.sessions.values()
                     if s.view.owner == user and (state is None or s.view.state == state)]  # fmt: skip
            return _ok({"sessions": views})
        m = re.fullmatch(r"/api/sessions/([^/]+)(/[a-z]+)?", path)
        if not m or m[1] not in self.sessions:
            return _error(404, "NotFound", f"no {path}")
        s = self.sessions[m[1]]
        if s.view.owner != user:
            return _error(403, "Forbidden", "not your session")
        return self._session_call(s, m[2] or "", method, body)

    def _session_call(self, s: FakeSession, action: str, method: str, body: Any) -> httpx.Response:
        if action == "" and method == "GET":
            return _ok(s.view.model_dump(mode="json"))
        if action == "/close":
            with self._changed:
                s.view.state, s.view.closed_at = SessionState.CLOSED, time.time()
                if body and body.get("purge"):
                    s.responses.clear()
                self._changed.notify_all()
            return _ok(s.view.model_dump(mode="json"))
        if action == "/data" and method == "POST" and self.blobs is not None:
            ask = PublishData.model_validate(body)
            url = self.blobs.sas_url(BLOB_DATA, f"sessions/{s.view.id}/{ask.name}", "cw")
            return _ok({"name": ask.name, "url": url})
        if action == "/requests":
            return _ok(self._submit(s, PostRequests.model_validate(body)))
        if action == "/responses":
            self.polls.append(body)
            return _ok(self._responses(s, GetResponses.model_validate(body)))
        return _error(404, "NotFound", f"no {action}")

    # --- the broker's rules ---
    def _create(self, user: str, body: dict[str, Any]) -> FakeSession:
        info = SessionStartInfo.model_validate(body)
        sid = str(len(self.sessions) + 1)
        view = SessionView(id=sid, owner=user, state=SessionState.ACTIVE, created_at=time.time(),
                           **info.model_dump(include=set(SessionView.model_fields)))  # fmt: skip
        self.sessions[sid] = FakeSession(view)
        return self.sessions[sid]

    def _submit(self, s: FakeSession, body: PostRequests) -> dict[str, int]:
        accepted = duplicates = 0
        with self._changed:
            for item in body.requests:
                key = (body.client_id, item.id)
                if key in s.requests or key in s.acked:
                    duplicates += 1
                    continue
                s.requests[key] = item.model_dump()
                accepted += 1
                self._answer(s, body.client_id, s.requests[key])
            self.request_batches.append(accepted + duplicates)
            self._changed.notify_all()
        return {"accepted": accepted, "duplicates": duplicates}

    def _answer(self, s: FakeSession, client_id: str, item: dict[str, Any], force: bool = False) -> None:
        args, _, codec = decode_call(item["payload"])
        if item["op"] == "hold" and not force:
            s.held.append((client_id, item))
            return
        key = (client_id, item["id"])
        if key in s.responses or key in s.acked:
            return  # the first response stored wins
        response: dict[str, Any] = {"id": item["id"], "ok": True, "user_data": item.get("user_data")}
        if item["op"] == "fail":
            response.update(ok=False, fault={"type": "ValueError", "message": f"bad {args[0]!r}", "attempts": 3,
                                             "node": "n1", "traceback": "Traceback ..."})  # fmt: skip
        else:
            response["value"] = encode_value(args[0] if args else None, codec)
        s.responses[key] = response

    def _responses(self, s: FakeSession, body: GetResponses) -> dict[str, Any]:
        deadline = time.monotonic() + body.wait
        with self._changed:
            for rid in body.ack:
                key = (body.client_id, rid)
                s.acked.add(key)
                s.responses.pop(key, None)
            if body.restart:
                s.handed = {key for key in s.handed if key[0] != body.client_id}
            while True:
                ready = [
                    r for key, r in s.responses.items() if key[0] == body.client_id and key not in s.handed
                ]
                ended = s.view.state in (SessionState.CLOSED, SessionState.FAULTED)
                left = deadline - time.monotonic()
                if ready or ended or left <= 0 or self.outstanding(s.view.id, body.client_id) == 0:
                    break
                self._changed.wait(left)
            ready = ready[: body.max]
            s.handed.update((body.client_id, r["id"]) for r in ready)
            return {"responses": ready, "outstanding": self.outstanding(s.view.id, body.client_id),
                    "state": s.view.state.value}  # fmt: skip


def _ok(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def _error(status: int, kind: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": kind, "message": message})
