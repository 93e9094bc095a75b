"""The agent's fixtures: the fake service, real blob storage (Azurite) and agents on a reachable work root."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agent_fakes import FakeService

from hpcburst import constants as c
from hpcburst.emulators import Azurite
from hpcburst.storage.blob.azure import AzureBlobStore
from nodeagent.agent import Agent, AgentConfig
from nodeagent.runner import ProcessRunner


@pytest.fixture
def blobs(azurite: Azurite) -> AzureBlobStore:
    store = AzureBlobStore.from_connection_string(azurite.connection_string)
    store.ensure_container(c.BLOB_OUTPUT)
    return store


@pytest.fixture
def service(blobs: AzureBlobStore) -> FakeService:
    return FakeService(signer=blobs)


@pytest.fixture
def make_agent(
    service: FakeService, task_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Agent]]:
    monkeypatch.delenv(c.ENV_STORAGE_CONNECTION, raising=False)  # agents work through grants alone
    agents: list[Agent] = []

    def make(slots: int = 2, node: str = "n1", **settings: object) -> Agent:
        config = AgentConfig(url="http://fake", node=node, slots=slots, workdir=task_root / node, **settings)  # type: ignore[arg-type]
        agent = Agent(config, runner=ProcessRunner(kill_grace=0.5), api=service.api)
        agent.register()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()
