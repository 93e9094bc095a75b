"""Fixtures of the client SDK's tests: the in-process fake broker and a client connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broker_fake import OWNER_TOKEN, FakeBroker

from hpcburst import soa
from hpcburst.soa.client import Client
from hpcburst.soa.session import Session


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def client(broker: FakeBroker) -> Iterator[Client]:
    with soa.connect("http://broker.test", OWNER_TOKEN, transport=broker.transport) as c:
        yield c


@pytest.fixture
def session(client: Client) -> Session:
    return client.create_session(soa.SessionStartInfo(service="echo"))


@pytest.fixture
def durable(client: Client) -> Session:
    return client.create_session(soa.SessionStartInfo(service="echo", durable=True))
