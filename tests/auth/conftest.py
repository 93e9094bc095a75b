"""Fixtures for identity tests: the tenant's signing keys, and its JWKS served on loopback (entra_fakes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from entra_fakes import JwksServer, Signer


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer("key-2024")


@pytest.fixture(scope="session")
def next_signer() -> Signer:
    return Signer("key-2025")


@pytest.fixture
def jwks(signer: Signer, monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    # urllib (PyJWKClient) honours proxy variables; loopback must never go through one.
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server = JwksServer()
    server.publish(signer)
    yield server
    server.stop()
