"""Spot evictions: watch the VM's scheduled events (Azure Instance Metadata Service) and give work back.

IMDS answers ``GET {url}?api-version=2020-07-01`` (header ``Metadata: true``) with
``{"DocumentIncarnation": n, "Events": [{"EventId", "EventType", "ResourceType", "Resources", "EventStatus",
"NotBefore", ...}]}``. A ``Preempt`` (spot eviction) or ``Terminate`` naming this VM means it goes away
within seconds: the agent drains and reports everything it holds as ``evicted``, so the service re-queues it
at once. ``Freeze``, ``Reboot`` and ``Redeploy`` keep the disk and the agent: they are ignored. Optionally
the event is acknowledged (``StartRequests``) so the VM goes sooner and stops billing.

``EvictionWatcher.step(now)`` is one poll; the agent service calls it from its watch loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger("nodeagent")

DEFAULT_URL = "http://169.254.169.254/metadata/scheduledevents"
API_VERSION = "2020-07-01"
COMPUTE_NAME_API = "2021-02-01"
EVICTING = frozenset({"Preempt", "Terminate"})
TIMEOUT = 2.0  # IMDS is local to the host: a slow answer means there is none


@dataclass(frozen=True)
class ScheduledEvent:
    event_id: str
    event_type: str
    resources: tuple[str, ...]
    status: str = "Scheduled"


def parse_events(document: Any) -> list[ScheduledEvent]:
    """The events of an IMDS scheduled-events document (malformed entries are skipped)."""
    events = document.get("Events") if isinstance(document, dict) else None
    parsed = []
    for e in events if isinstance(events, list) else []:
        if not isinstance(e, dict) or e.get("ResourceType", "VirtualMachine") != "VirtualMachine":
            continue
        resources = e.get("Resources")
        resources = resources if isinstance(resources, list) else []
        parsed.append(ScheduledEvent(str(e.get("EventId", "")), str(e.get("EventType", "")),
                                     tuple(str(r) for r in resources), str(e.get("EventStatus", "Scheduled"))))  # fmt: skip
    return parsed


def evictions(events: Iterable[ScheduledEvent], names: Iterable[str]) -> list[ScheduledEvent]:
    """The events that take away the VM known by any of ``names`` (case-insensitive, as Azure names are)."""
    mine = {n.lower() for n in names if n}
    return [e for e in events if e.event_type in EVICTING and mine & {r.lower() for r in e.resources}]


class ImdsClient:
    """The scheduled-events endpoint (and the VM's compute name, on the same metadata service)."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        # Never through a proxy: IMDS is only reachable directly from the VM.
        self._http = httpx.Client(timeout=TIMEOUT, headers={"Metadata": "true"}, trust_env=False)

    def events(self) -> Any:
        response = self._http.get(self.url, params={"api-version": API_VERSION})
        response.raise_for_status()
        return response.json()

    def start(self, event_id: str) -> None:
        """Acknowledge an event: the platform may go ahead now."""
        body = {"StartRequests": [{"EventId": event_id}]}
        self._http.post(self.url, params={"api-version": API_VERSION}, json=body).raise_for_status()

    def compute_name(self) -> str | None:
        """The VM's name as IMDS knows it (a scale set instance's differs from its host name)."""
        base = self.url.rsplit("/", 1)[0]
        try:
            response = self._http.get(f"{base}/instance/compute/name",
                                      params={"api-version": COMPUTE_NAME_API, "format": "text"})  # fmt: skip
            return response.text.strip() or None if response.status_code == 200 else None
        except httpx.HTTPError:
            return None

    def close(self) -> None:
        self._http.close()


class EvictionWatcher:
    """Polls scheduled events every ``interval`` seconds; on an eviction of this VM calls ``evict(reason)``
    (again at every later poll while the event stands, so work leased meanwhile goes back too)."""

    def __init__(self, imds: ImdsClient, names: Iterable[str], evict: Callable[[str], object],
                 interval: float = 1.0, acknowledge: bool = False) -> None:  # fmt: skip
        self.imds, self.names, self._evict = imds, set(names), evict
        self.interval, self.acknowledge = interval, acknowledge
        self._next = 0.0
        self._named = False
        self.acknowledged: set[str] = set()
        self.evicted: ScheduledEvent | None = None

    def step(self, now: float) -> ScheduledEvent | None:
        """One poll when due: the eviction of this VM if one is announced (or was already seen)."""
        if now < self._next:
            return self.evicted
        self._next = now + self.interval
        if not self._named:
            self._named = True
            self.names.add(self.imds.compute_name() or "")
        try:
            found = evictions(parse_events(self.imds.events()), self.names)
        except (httpx.HTTPError, ValueError) as e:
            log.debug("scheduled events unavailable: %s", e)
            found = []
        if found and self.evicted is None:
            self.evicted = found[0]
            log.warning("scheduled event %s (%s) for this VM: giving all work back", found[0].event_id,
                        found[0].event_type)  # fmt: skip
        if self.evicted is not None:
            self._evict(reason(self.evicted))
        for event in found:
            self._acknowledge(event)
        return self.evicted

    def _acknowledge(self, event: ScheduledEvent) -> None:
        if not self.acknowledge or event.event_id in self.acknowledged:
            return
        try:
            self.imds.start(event.event_id)
            self.acknowledged.add(event.event_id)
        except httpx.HTTPError as e:
            log.warning("acknowledging scheduled event %s failed: %s", event.event_id, e)


def reason(event: ScheduledEvent) -> str:
    return "spot eviction" if event.event_type == "Preempt" else f"VM {event.event_type.lower()}"
