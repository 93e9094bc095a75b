"""SOA services and sessions over HTTP on the real app (SQLite, Azurite), with a fake node agent that
leases hosts and answers for them through ``POST /api/agent/soa``; no host processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from soa_journal_standin import MemoryJournal

from hpcburst import constants as c
from hpcburst.services import root
from hpcburst.services.soa.services import INTERACTIVE_LOST, default_journal

POOL = "fn"


class Agent:
    """A node that starts the hosts its lease names and answers every request with its payload."""

    def __init__(self, client: httpx.Client, node: str) -> None:
        self.client, self.node = client, node
        self.hosts: dict[str, int] = {}

    def lease(self, free_slots: int = 2) -> list[dict[str, Any]]:
        body = {"node": self.node, "pool": POOL, "free_slots": free_slots, "wait_seconds": 0}
        response = self.client.post("/agent/lease", json=body)
        assert response.status_code == 200, response.text
        hosts = response.json()["hosts"]
        self.hosts.update({h["host"]: 8 for h in hosts})
        return hosts

    def poll(self, responses: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
        listed = [{"host": h, "ready": True, "want": want} for h, want in self.hosts.items()]
        body = {"node": self.node, "pool": POOL, "hosts": listed, "responses": responses or [], **more}
        response = self.client.post("/agent/soa", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def answer(self, requests: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
        return self.poll([_echo(r, **changes) for r in requests])


def _echo(request: dict[str, Any], **changes: Any) -> dict[str, Any]:
    keys = ("host", "client_id", "id", "attempt")
    return {**{k: request[k] for k in keys}, "ok": True, "value": request["payload"], **changes}


def _requests(*ids: str) -> list[dict[str, Any]]:
    return [{"id": i, "op": "echo", "payload": {"args": [i]}, "user_data": i.upper()} for i in ids]


@pytest.fixture
def echo_service(http: httpx.Client) -> str:
    response = http.post("/services", json={"name": "echo", "module": "echo_service", "resend_limit": 2})
    assert response.status_code == 201, response.text
    return "echo"


@pytest.fixture
def open_session(echo_service: str) -> Iterator[Callable[..., dict[str, Any]]]:
    """``open_session(client, **info)``: a session of the echo service in pool "fn", closed afterwards."""
    opened: list[tuple[httpx.Client, str]] = []

    def make(client: httpx.Client, **info: Any) -> dict[str, Any]:
        response = client.post("/sessions", json={"service": echo_service, "pool": POOL, **info})
        assert response.status_code == 201, response.text
        opened.append((client, response.json()["id"]))
        return response.json()

    yield make
    for client, session in opened:
        client.post(f"/sessions/{session}/close", json={"purge": True})


def _post(client: httpx.Client, session: str, *ids: str, client_id: str = "c1") -> httpx.Response:
    return client.post(
        f"/sessions/{session}/requests", json={"client_id": client_id, "requests": _requests(*ids)}
    )


def _take(client: httpx.Client, session: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/sessions/{session}/responses", json={"client_id": "c1", **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_request_round_trips_through_a_host_on_a_node(as_user, register, open_session):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    agent = Agent(register("soa-1"), "soa-1")
    (host,) = agent.lease(free_slots=1)  # min_units 1: a host at once, before any request
    assert (host["session"], host["owner"], host["environment"]["HPC_SESSIONID"]) == (
        session,
        "alice",
        session,
    )

    assert _post(alice, session, "a", "b").json() == {"accepted": 2, "duplicates": 0}
    assert _post(alice, session, "b").json() == {"accepted": 0, "duplicates": 1}
    sent = agent.poll(wait=5)["requests"]
    assert sorted(r["id"] for r in sent) == ["a", "b"]
    assert agent.answer(sent)["accepted"] == 2

    got = _take(alice, session, wait=5)
    assert sorted((r["id"], r["value"], r["user_data"]) for r in got["responses"]) == [
        ("a", {"args": ["a"]}, "A"),
        ("b", {"args": ["b"]}, "B"),
    ]
    assert (got["outstanding"], got["state"]) == (0, "Active")
    _take(alice, session, ack=["a", "b"])
    view = alice.get(f"/sessions/{session}").json()
    assert (view["counts"]["acknowledged"], view["units"], view["clients"]) == (2, 1, ["c1"])


def test_a_request_retried_past_the_resend_limit_is_a_fault_naming_attempts_and_node(
    as_user, register, open_session
):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    agent = Agent(register("soa-2"), "soa-2")
    agent.lease(1)
    _post(alice, session, "a")
    first = agent.poll()["requests"]
    second = agent.answer(first, ok=False, retry=True)["requests"]
    agent.answer(second, ok=False, retry=True, fault={"type": "Flaky", "message": "try again", "attempts": 0})
    (response,) = _take(alice, session)["responses"]
    assert response["ok"] is False
    fault = response["fault"]
    assert (fault["type"], fault["attempts"], fault["node"]) == ("Flaky", 2, "soa-2")


def test_a_vanished_host_has_its_requests_run_again(as_user, register, open_session):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    agent = Agent(register("soa-3"), "soa-3")
    agent.lease(1)
    _post(alice, session, "a")
    assert agent.poll()["requests"]
    agent.hosts.clear()  # the host process is gone
    agent.poll()
    agent.lease(1)
    (again,) = agent.poll()["requests"]
    assert (again["id"], again["attempt"]) == ("a", 2)


def test_only_the_owner_or_an_admin_sees_and_uses_a_session(http, as_user, open_session):
    alice, bob = as_user("alice"), as_user("bob")
    session = open_session(alice)["id"]
    for method, path, body in [
        ("GET", f"/sessions/{session}", None),
        ("POST", f"/sessions/{session}/requests", {"client_id": "c1", "requests": _requests("x")}),
        ("POST", f"/sessions/{session}/responses", {"client_id": "c1"}),
        ("POST", f"/sessions/{session}/data", {"name": "table"}),
        ("POST", f"/sessions/{session}/close", {}),
    ]:
        response = bob.request(method, path, json=body)
        assert (response.status_code, response.json()["error"]) == (404, "NotFound"), path
    assert session not in [s["id"] for s in bob.get("/sessions").json()["sessions"]]
    assert session in [s["id"] for s in alice.get("/sessions").json()["sessions"]]
    assert http.get(f"/sessions/{session}").json()["owner"] == "alice"  # an admin sees all


def test_a_node_cannot_move_requests_of_another_nodes_hosts(as_user, register, open_session):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    owner, thief = Agent(register("soa-4"), "soa-4"), Agent(register("soa-5"), "soa-5")
    (host,) = owner.lease(1)
    _post(alice, session, "a")
    (request,) = owner.poll()["requests"]
    thief.hosts[host["host"]] = 8
    stolen = thief.answer([request])
    assert (stolen["accepted"], stolen["requests"], stolen["stop"]) == (0, [], [host["host"]])
    assert _take(alice, session)["responses"] == []


def test_an_agent_may_only_poll_as_its_own_node_and_a_user_not_at_all(as_user, register):
    node = register("soa-6")
    other = node.post("/agent/soa", json={"node": "soa-7", "pool": POOL})
    assert other.status_code == 403
    user = as_user("alice").post("/agent/soa", json={"node": "soa-6", "pool": POOL})
    assert (user.status_code, user.json()["error"]) == (403, "Forbidden")


def test_a_closed_session_refuses_requests_and_keeps_its_responses_until_purged(
    as_user, register, open_session
):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    agent = Agent(register("soa-8"), "soa-8")
    (host,) = agent.lease(1)
    _post(alice, session, "a")
    agent.answer(agent.poll()["requests"])
    closed = alice.post(f"/sessions/{session}/close", json={"purge": False})
    assert closed.json()["state"] == "Closed"

    refused = _post(alice, session, "b")
    assert (refused.status_code, refused.json()["error"]) == (409, "InvalidState")
    got = _take(alice, session, wait=5)
    assert ([r["id"] for r in got["responses"]], got["state"]) == (["a"], "Closed")
    assert agent.poll()["stop"] == [host["host"]]

    alice.post(f"/sessions/{session}/close", json={"purge": True})
    assert _take(alice, session, restart=True)["responses"] == []


def test_starting_a_session_of_an_unknown_service_is_a_400_naming_it(as_user):
    response = as_user("alice").post("/sessions", json={"service": "nope", "pool": POOL})
    assert (response.status_code, response.json()["details"]["field"]) == (400, "service")
    assert "nope" in response.json()["message"]


def test_listing_sessions_by_a_state_that_is_not_one_is_a_400_naming_the_states(as_user):
    for bad in ("", "Sleeping"):
        answer = as_user("alice").get("/sessions", params={"state": bad})
        assert (answer.status_code, answer.json()["error"]) == (400, "InvalidSpec")
        assert "Active" in answer.json()["message"]


def test_services_are_registered_by_admins_and_removed_only_when_unused(http, as_user, open_session):
    alice = as_user("alice")
    assert alice.get("/services/echo").json()["registered_by"] == "ada"
    assert "echo" in [s["name"] for s in alice.get("/services").json()["services"]]
    refused = alice.post("/services", json={"name": "mine", "module": "mine"})
    assert refused.status_code == 403
    session = open_session(alice)["id"]
    busy = http.delete("/services/echo")
    assert (busy.status_code, busy.json()["error"]) == (409, "InvalidState") and session in busy.text
    alice.post(f"/sessions/{session}/close", json={})
    assert http.delete("/services/echo").status_code == 200
    assert alice.get("/services/echo").status_code == 404


def test_published_data_is_writable_by_the_owner_and_readable_by_nodes_with_its_hosts(
    as_user, register, open_session
):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    grant = alice.post(f"/sessions/{session}/data", json={"name": "table"}).json()
    assert f"/{c.BLOB_DATA}/sessions/{session}/table" in grant["url"]
    agent, stranger = Agent(register("soa-9"), "soa-9"), Agent(register("soa-10"), "soa-10")
    agent.lease(1)
    urls = agent.poll()["data_urls"]
    assert f"/{c.BLOB_DATA}/sessions/{session}/table" in urls[session]["table"]
    assert session not in stranger.poll()["data_urls"]


def test_an_interactive_session_is_faulted_when_the_broker_restarts(as_user, open_session):
    alice = as_user("alice")
    session = open_session(alice)["id"]
    _post(alice, session, "a")
    root.services().rebuild_soa()
    view = alice.get(f"/sessions/{session}").json()
    assert (view["state"], view["reason"]) == ("Faulted", INTERACTIVE_LOST)
    got = _take(alice, session)
    assert got["state"] == "Faulted"


def test_two_sessions_share_a_nodes_slots(as_user, register, open_session):
    alice = as_user("alice")
    first, second = open_session(alice)["id"], open_session(alice)["id"]
    _post(alice, first, *[f"a{i}" for i in range(50)])
    _post(alice, second, *[f"b{i}" for i in range(50)])
    agent = Agent(register("soa-11", slots=4), "soa-11")
    placed = [h["session"] for h in agent.lease(free_slots=4)]
    assert sorted(placed) == sorted([first, first, second, second])


def test_a_durable_session_comes_back_after_the_broker_restarts(as_user, register, open_session):
    services = root.services()
    journal = MemoryJournal()
    services.soa_journal = lambda store: journal
    services.rebuild_soa()
    try:
        alice = as_user("alice")
        session = open_session(alice, durable=True)["id"]
        agent = Agent(register("soa-12"), "soa-12")
        agent.lease(1)
        agent.hosts = {h: 1 for h in agent.hosts}  # one request at a time: "b" stays queued
        _post(alice, session, "a", "b")
        agent.answer(agent.poll()["requests"])

        services.rebuild_soa()  # as a new process: the session reloads from the journal
        view = alice.get(f"/sessions/{session}").json()
        assert (view["state"], view["counts"]["pending"]) == ("Active", 1)
        assert [r["id"] for r in _take(alice, session)["responses"]] == ["a"]
        again = Agent(agent.client, "soa-12")
        again.lease(1)
        assert [r["id"] for r in again.poll()["requests"]] == ["b"]
    finally:
        services.soa_journal = default_journal


def test_a_closed_durable_sessions_responses_stay_readable_after_a_restart(as_user, register, open_session):
    services = root.services()
    journal = MemoryJournal()
    services.soa_journal = lambda store: journal
    services.rebuild_soa()
    try:
        alice = as_user("alice")
        session = open_session(alice, durable=True)["id"]
        agent = Agent(register("soa-13"), "soa-13")
        agent.lease(1)
        _post(alice, session, "a")
        agent.answer(agent.poll()["requests"])
        alice.post(f"/sessions/{session}/close", json={"purge": False})

        services.rebuild_soa()
        got = _take(alice, session)
        assert ([r["id"] for r in got["responses"]], got["state"]) == (["a"], "Closed")
    finally:
        services.soa_journal = default_journal
