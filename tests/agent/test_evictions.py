"""Spot evictions: the scheduled-events watcher, stepped with a fake clock against a fake IMDS on loopback,
and an agent that gives every held index back when its VM is preempted."""

from __future__ import annotations

import time
from collections.abc import Callable

from agent_fakes import FakeService
from imds_fakes import FakeImds

from nodeagent.agent import Agent
from nodeagent.evictions import EvictionWatcher, ImdsClient, evictions, parse_events
from nodeagent.service import AgentService

# As the Azure docs publish it (a spot VM about to be preempted), plus entries IMDS never sends.
PUBLISHED = {
    "DocumentIncarnation": 2,
    "Events": [
        {
            "EventId": "C7061BAC-AFDC-4513-B24B-AA5F13A16123",
            "EventStatus": "Scheduled",
            "EventType": "Preempt",
            "ResourceType": "VirtualMachine",
            "Resources": ["spot-1"],
            "NotBefore": "Mon, 19 Sep 2022 18:29:47 GMT",
            "Description": "",
            "EventSource": "Platform",
            "DurationInSeconds": -1,
        },
        {"EventId": "X", "EventType": "Freeze", "ResourceType": "VirtualMachine", "Resources": ["spot-1"]},
        "not an event",
        {"EventId": "Y", "EventType": "Preempt", "Resources": "spot-1"},
    ],
}


class Evictions:
    """The watcher's ``evict`` callback: what it was told, in order."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def __call__(self, reason: str) -> int:
        self.reasons.append(reason)
        return 0


def _watcher(imds: FakeImds, evict: Evictions, **kw: object) -> EvictionWatcher:
    return EvictionWatcher(ImdsClient(imds.url), {"spot-1"}, evict, **kw)  # type: ignore[arg-type]


def test_a_published_document_parses_into_its_events_and_only_a_preempt_of_this_vm_evicts() -> None:
    events = parse_events(PUBLISHED)
    assert [(e.event_type, e.resources) for e in events] == [
        ("Preempt", ("spot-1",)),
        ("Freeze", ("spot-1",)),
        ("Preempt", ()),
    ]
    assert [e.event_id for e in evictions(events, ["SPOT-1"])] == ["C7061BAC-AFDC-4513-B24B-AA5F13A16123"]
    assert evictions(events, ["spot-2"]) == []
    assert parse_events({"DocumentIncarnation": 0, "Events": []}) == parse_events("garbage") == []


def test_a_preempt_for_this_vm_evicts_it_at_the_next_poll() -> None:
    evict = Evictions()
    with FakeImds() as imds:
        watcher = _watcher(imds, evict, interval=1.0)
        assert watcher.step(100.0) is None and evict.reasons == []
        event_id = imds.announce("Preempt", "spot-1")
        assert watcher.step(100.5) is None and imds.polls == 1  # not due yet: no call
        event = watcher.step(101.0)
        assert event is not None and event.event_id == event_id
        assert evict.reasons == ["spot eviction"]
        watcher.step(102.0)  # still announced: whatever was leased meanwhile goes back too
        assert evict.reasons == ["spot eviction"] * 2
        assert imds.started == []  # not acknowledged unless asked


def test_events_for_other_vms_and_freeze_or_reboot_are_ignored() -> None:
    evict = Evictions()
    with FakeImds() as imds:
        imds.announce("Preempt", "spot-2")
        imds.announce("Freeze", "spot-1")
        imds.announce("Reboot", "spot-1")
        imds.announce("Redeploy", "spot-1")
        watcher = _watcher(imds, evict)
        assert [watcher.step(float(t)) for t in range(3)] == [None] * 3
        assert evict.reasons == [] and imds.polls == 3


def test_a_terminate_naming_the_vms_compute_name_evicts_it() -> None:
    evict = Evictions()
    with FakeImds(compute_name="burst_vmss_3") as imds:  # a scale set instance: not its host name
        imds.announce("Terminate", "burst_vmss_3")
        assert _watcher(imds, evict).step(0.0) is not None
        assert evict.reasons == ["VM terminate"]


def test_an_acknowledged_eviction_is_started_once() -> None:
    with FakeImds() as imds:
        event_id = imds.announce("Preempt", "spot-1")
        watcher = _watcher(imds, Evictions(), acknowledge=True)
        watcher.step(0.0)
        watcher.step(5.0)
        assert imds.started == [event_id]


def test_an_unreachable_metadata_service_is_no_eviction() -> None:
    evict = Evictions()
    watcher = EvictionWatcher(ImdsClient("http://127.0.0.1:9/metadata/scheduledevents"), {"spot-1"}, evict)
    assert watcher.step(0.0) is None and evict.reasons == []


def test_an_eviction_mid_run_gives_every_held_index_back_and_leases_nothing_more(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    service.per_slot = 2  # 2 slots, 4 leased: two run, two wait in the backlog
    keys = service.add("sweep", "sleep 30", 4)
    with FakeImds() as imds:
        agent = make_agent(slots=2, node="spot-1", cloud=True, scheduled_events_url=imds.url)
        watch = AgentService(agent)
        assert agent.lease_once(wait=0) == 4
        agent.step(0.05)
        assert agent.runner.running == 2 and len(agent.ledger.backlog) == 2
        watch.watch_step(time.monotonic())
        assert not agent.ledger.unreported  # nothing announced yet

        imds.announce("Preempt", "spot-1")
        watch.watch_step(time.monotonic() + 1)
        assert agent.lease_once(wait=0) is None  # drained
        for _ in range(100):
            agent.step(0.05)
            if agent.runner.running == 0:
                break
        assert agent.runner.running == 0  # the process trees are killed
        assert agent.report_once() == 4
    assert sorted(r.task for r in service.given_back) == sorted(keys)
    assert all(r.evicted and r.reason == "spot eviction" and r.exit_code is None for r in service.given_back)
    assert service.results == {}  # nothing reported as run
    assert [lease.attempt for lease in service.queued] == [2, 2, 2, 2]  # queued again, for someone else
    agent.heartbeat_once()  # still heartbeating, holding nothing
    assert service.heartbeats[-1].running == []
