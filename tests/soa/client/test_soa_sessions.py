"""Sessions: create, view, list, close; attach again and collect what was not acknowledged, once."""

from __future__ import annotations

import asyncio

import pytest
from broker_fake import OWNER_TOKEN, FakeBroker

from hpcburst import soa
from hpcburst.constants import BLOB_DATA
from hpcburst.domain.soa.models import SessionState
from hpcburst.emulators import Azurite
from hpcburst.errors import InvalidSpec, InvalidState
from hpcburst.soa.client import Client
from hpcburst.soa.codec import encode_call, encode_value
from hpcburst.soa.session import Session
from hpcburst.storage.blob.azure import AzureBlobStore


def _disconnected_client_sent(client: Client, session: Session, client_id: str, values: list[object]) -> None:
    """What a client that died after sending leaves behind: requests posted, no response acknowledged."""
    requests = [
        {"id": f"r{i}", "op": "echo", "payload": {"args": [v]}, "user_data": i} for i, v in enumerate(values)
    ]
    client.channel.call(
        "POST", f"{session.path}/requests", json={"client_id": client_id, "requests": requests}
    )


def test_a_durable_session_is_created_as_one_and_shows_its_state(client: Client) -> None:
    session = client.create_session(
        soa.SessionStartInfo(service="echo", durable=True, min_units=1, max_units=64)
    )
    assert isinstance(session, soa.DurableSession)
    view = session.status()
    assert (view.service, view.state, view.max_units) == ("echo", SessionState.ACTIVE, 64)
    assert [v.id for v in client.sessions(state="Active")] == [session.id]
    session.close()
    assert session.status().state == SessionState.CLOSED and client.sessions(state="Active") == []


def test_bad_session_settings_are_refused_before_anything_is_sent(client: Client, broker: FakeBroker) -> None:
    with pytest.raises(InvalidSpec, match="max_units"):
        client.create_session(service="echo", min_units=5, max_units=2)
    assert broker.sessions == {}


def test_attach_yields_every_unacknowledged_response_exactly_once(client: Client, durable: Session) -> None:
    _disconnected_client_sent(client, durable, "run7", ["a", "b", "c"])
    again = soa.DurableSession.attach(client, durable.id)
    got = {(r.id, r.ok, r.value, r.user_data) for r in again.responses("run7")}
    assert got == {("r0", True, "a", 0), ("r1", True, "b", 1), ("r2", True, "c", 2)}
    assert list(again.responses("run7")) == []  # acknowledged: gone for good
    again.close(purge=True)


def test_a_consumer_that_stops_early_gets_the_rest_on_the_next_attach(
    client: Client, durable: Session
) -> None:
    _disconnected_client_sent(client, durable, "run7", list(range(5)))
    first = next(iter(durable.responses("run7")))  # the generator is dropped after one response
    rest = [r.value for r in soa.DurableSession.attach(client, durable.id).responses("run7")]
    assert first.value not in rest and sorted([first.value, *rest]) == list(range(5))


def test_a_fault_comes_back_as_a_response_whose_result_raises(client: Client, durable: Session) -> None:
    client.channel.call("POST", f"{durable.path}/requests",
                        json={"client_id": "c", "requests": [{"id": "x", "op": "fail", "payload": {"args": [1]}}]})  # fmt: skip
    (response,) = durable.responses("c")
    assert not response.ok and response.fault is not None and response.fault.type == "ValueError"
    with pytest.raises(soa.SoaFault):
        response.result()


def test_aresponses_iterates_the_same_responses_with_asyncio(client: Client, durable: Session) -> None:
    _disconnected_client_sent(client, durable, "run8", ["x", "y"])

    async def collect() -> list[str]:
        return [r.value async for r in durable.aresponses("run8")]

    assert sorted(asyncio.run(collect())) == ["x", "y"]
    assert list(durable.responses("run8")) == []


def test_executor_responses_are_acknowledged_so_an_attach_gets_none_again(
    client: Client, durable: Session
) -> None:
    with durable.executor(client_id="run9") as ex:
        assert [f.result() for f in [ex.submit("echo", i) for i in range(10)]] == list(range(10))
    assert list(soa.DurableSession.attach(client, durable.id).responses("run9")) == []


def test_attaching_an_interactive_session_as_durable_is_refused(client: Client, session: Session) -> None:
    with pytest.raises(InvalidState, match="interactive"):
        soa.DurableSession.attach(client, session.id)
    assert soa.Session.attach(client, session.id).id == session.id


def test_an_interactive_session_used_as_a_context_closes_at_the_end(client: Client) -> None:
    with client.create_session(service="echo") as session:
        pass
    assert session.status().state == SessionState.CLOSED


def test_services_are_registered_listed_shown_and_removed(client: Client) -> None:
    registered = client.register_service(
        "echo", module="echo_service", resend_limit=5, environment={"K": "V"}
    )
    assert (registered.name, registered.resend_limit, registered.environment) == ("echo", 5, {"K": "V"})
    assert [s.name for s in client.services()] == ["echo"] and client.service("echo").module == "echo_service"
    client.remove_service("echo")
    assert client.services() == []


def test_a_bad_registration_is_refused_naming_the_field(client: Client) -> None:
    with pytest.raises(InvalidSpec, match="module"):
        client.register_service("echo", module="not a module")


def test_published_common_data_lands_in_the_sessions_blob_through_the_write_grant(azurite: Azurite) -> None:
    blobs = AzureBlobStore.from_connection_string(azurite.connection_string)
    blobs.ensure_container(BLOB_DATA)
    broker = FakeBroker(blobs)
    with soa.connect("http://broker.test", OWNER_TOKEN, transport=broker.transport) as client:
        session = client.create_session(service="echo")
        assert session.publish("table.bin", b"\x00\x01" * 1000) == "table.bin"
    assert blobs.get(BLOB_DATA, f"sessions/{session.id}/table.bin") == b"\x00\x01" * 1000


def test_a_bad_common_data_name_is_refused_naming_it(session: Session) -> None:
    with pytest.raises(InvalidSpec, match="data.name"):
        session.publish("../escape", b"x")


def test_pickled_values_and_user_data_come_back_decoded_on_attach(client: Client, durable: Session) -> None:
    item = {"id": "r1", "op": "echo", "payload": encode_call(({1, 2},), {}, "pickle"),
            "user_data": encode_value(("row", 3), "pickle")}  # fmt: skip
    client.channel.call("POST", f"{durable.path}/requests", json={"client_id": "p", "requests": [item]})
    (response,) = soa.DurableSession.attach(client, durable.id).responses("p", codec="pickle")
    assert (response.id, response.value, response.user_data) == ("r1", {1, 2}, ("row", 3))


def test_the_executor_sends_user_data_json_cannot_carry_when_pickling(
    session: Session, broker: FakeBroker
) -> None:
    with session.executor(codec="pickle") as ex:
        future = ex.submit("echo", 1, user_data={"a", "set"})
    assert future.result() == 1 and future.user_data == {"a", "set"}
    (stored,) = broker.sessions[session.id].requests.values()
    assert "pickle" in stored["user_data"]  # opaque to the broker, like the payload
