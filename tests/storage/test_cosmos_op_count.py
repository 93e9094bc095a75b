"""Counting Cosmos operations by kind at the server (bench/cosmos_ops.py), which the sweep cost figure rests on;
and what each StateStore call costs in Cosmos operations."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hpcburst import constants as c
from hpcburst.emulators import REPO_ROOT
from hpcburst.errors import NotFound
from hpcburst.storage.state.cosmos import CosmosStateStore
from hpcburst.storage.state.port import WriteOp

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def _cosmos_ops() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cosmos_ops", REPO_ROOT / "bench" / "cosmos_ops.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("cosmos_ops", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def counting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = _cosmos_ops().start_counting_cosmos(Path(tmp_path_factory.mktemp("counting-cosmos")))
    yield server
    server.stop()


def _store(counting: Any, emulator: bool) -> CosmosStateStore:
    endpoint, key = counting.server.endpoint, counting.server.key
    store = CosmosStateStore(endpoint, key, "count", verify_tls=False, emulator=emulator)
    counting.reset()
    return store


def _data_ops(counting: Any) -> dict[str, int]:
    return {k: v for k, v in counting.counts().items() if k not in ("metadata", "by") and v}


def test_each_store_call_is_one_operation_of_its_kind(counting: Any) -> None:
    store = _store(counting, emulator=False)
    store.upsert(c.JOBS, "j1", "j1", {"state": "Queued"})
    store.get(c.JOBS, "j1", "j1")
    store.query(c.JOBS, "j1")
    store.batch(
        c.TASKS, "j1", [WriteOp("upsert", "j1.1", {"index": 1}), WriteOp("upsert", "j1.2", {"index": 2})]
    )
    assert _data_ops(counting) == {"point read": 1, "query": 1, "write": 1, "batch": 1, "batch ops": 2}
    store.close()


def test_a_get_is_a_point_read_and_only_the_emulator_workaround_adds_a_query_for_a_miss(
    counting: Any,
) -> None:
    store = _store(counting, emulator=True)
    store.upsert(c.JOBS, "j2", "j2", {"state": "Queued"})
    counting.reset()
    store.get(c.JOBS, "j2", "j2")
    assert _data_ops(counting) == {"point read": 1}
    with pytest.raises(NotFound):
        store.get(c.JOBS, "nobody", "nobody")
    # the SDK tries the emulator's 500 twice before the workaround's query settles it (Cosmos DB answers 404)
    assert _data_ops(counting) == {"point read": 3, "query": 1}
    store.close()


def test_request_units_are_estimated_from_the_published_costs() -> None:
    ops = _cosmos_ops()
    counts = {"point read": 10, "query": 2, "write": 1, "batch": 1, "batch ops": 100}
    assert ops.request_units(counts) == 10 * 1.0 + 2 * 3.0 + 101 * 7.0
