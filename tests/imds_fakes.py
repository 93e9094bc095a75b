"""A fake Azure Instance Metadata Service on loopback: the scheduled-events document a real VM sees.

Serves ``GET /metadata/scheduledevents`` (the published shape: ``DocumentIncarnation`` and ``Events``), records
``POST`` acknowledgements (``StartRequests``) and answers ``/metadata/instance/compute/name``. Like IMDS it
refuses a request without the ``Metadata: true`` header. Tests announce events while agents poll it.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EVENTS_PATH = "/metadata/scheduledevents"


class FakeImds:
    def __init__(self, compute_name: str | None = None) -> None:
        self.compute_name = compute_name
        self.incarnation = 1
        self.events: list[dict[str, Any]] = []
        self.started: list[str] = []  # acknowledged event ids
        self.polls = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{EVENTS_PATH}"

    def __enter__(self) -> FakeImds:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def announce(self, event_type: str, *resources: str, status: str = "Scheduled") -> str:
        """Publish an event (as the platform does some seconds to minutes ahead); its EventId."""
        event_id = str(uuid.uuid4()).upper()
        event = {
            "EventId": event_id,
            "EventType": event_type,
            "ResourceType": "VirtualMachine",
            "Resources": list(resources),
            "EventStatus": status,
            "NotBefore": "Mon, 19 Sep 2022 18:29:47 GMT",
            "Description": "",
            "EventSource": "Platform",
            "DurationInSeconds": -1 if event_type == "Preempt" else 9,
        }
        with self._lock:
            self.events.append(event)
            self.incarnation += 1
        return event_id

    def document(self) -> dict[str, Any]:
        with self._lock:
            self.polls += 1
            return {"DocumentIncarnation": self.incarnation, "Events": list(self.events)}


def _handler(imds: FakeImds) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?")[0]
            if path == EVENTS_PATH and "api-version=" in self.path:
                self._send(200, json.dumps(imds.document()))
            elif path == "/metadata/instance/compute/name" and imds.compute_name:
                self._send(200, imds.compute_name, "text/plain")
            else:
                self._send(404, "{}")

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with imds._lock:
                imds.started += [r["EventId"] for r in body.get("StartRequests", [])]
            self._send(200, "")

        def _send(self, status: int, body: str, kind: str = "application/json") -> None:
            if self.headers.get("Metadata") != "true":
                status, body = 400, '{"error": "Bad request. Required metadata header not specified"}'
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            pass

    return Handler
