"""Task staging: inputs from a node-wide content-addressed cache, outputs back to blobs (Azurite)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hpcburst.data import upload
from hpcburst.data.staging import NodeCache
from hpcburst.domain.staging import InputFile, OutputFile
from hpcburst.emulators import Azurite
from hpcburst.errors import InvalidSpec
from hpcburst.storage.blob.azure import AzureBlobStore


class CountingStore:
    """The real store, counting ranged reads per blob: what actually crossed the network."""

    def __init__(self, inner: AzureBlobStore) -> None:
        self.inner = inner
        self.reads: Counter[str] = Counter()

    def download_range(self, container: str, name: str, offset: int, length: int) -> bytes:
        self.reads[name] += 1
        return self.inner.download_range(container, name, offset, length)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def shared_rates(store: AzureBlobStore, container: str, tmp_path: Path) -> bytes:
    data = b"historical interest rates\n" * 4000
    (tmp_path / "rates.csv").write_bytes(data)
    upload(store, tmp_path / "rates.csv", container, "static/rates.csv")
    for i in range(20):
        store.put(container, f"per-task/part-{i:02d}.csv", f"part {i}\n".encode())
    return data


def test_shared_input_is_fetched_once_for_twenty_tasks(
    store: AzureBlobStore, container: str, shared_rates: bytes, tmp_path: Path
) -> None:
    counting = CountingStore(store)
    cache = NodeCache(tmp_path / "cache", counting)  # type: ignore[arg-type]
    inputs = [
        {"blob": f"{container}/static/rates.csv", "path": "data/rates.csv"},
        {"blob": f"{container}/per-task/part-**.csv", "path": "part.csv"},
    ]

    def run_task(index: int) -> list[Path]:
        return cache.stage_inputs(inputs, tmp_path / f"task{index}", index=index)

    with ThreadPoolExecutor(max_workers=8) as slots:
        placed = list(slots.map(run_task, range(20)))

    assert counting.reads["static/rates.csv"] == 1
    assert cache.downloads == 21 and cache.hits == 19
    for index, (rates, part) in enumerate(placed):
        assert rates.read_bytes() == shared_rates
        assert part.read_text() == f"part {index}\n"
    assert (tmp_path / "task3/data/rates.csv").stat().st_ino == (
        tmp_path / "task4/data/rates.csv"
    ).stat().st_ino


def test_processes_on_one_node_share_one_download(
    azurite: Azurite, container: str, shared_rates: bytes, tmp_path: Path
) -> None:
    script = (
        "import json, sys; from pathlib import Path\n"
        "from hpcburst.data.staging import NodeCache\n"
        "from hpcburst.storage.blob.azure import AzureBlobStore\n"
        "conn, root, blob, workdir = sys.argv[1:]\n"
        "cache = NodeCache(Path(root), AzureBlobStore.from_connection_string(conn))\n"
        "cache.stage_inputs([{'blob': blob, 'path': 'rates.csv'}], Path(workdir))\n"
        "print(json.dumps(cache.downloads))\n"
    )
    blob = f"{container}/static/rates.csv"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                script,
                azurite.connection_string,
                str(tmp_path / "cache"),
                blob,
                str(tmp_path / f"w{i}"),
            ],
            stdout=subprocess.PIPE,
        )
        for i in range(3)
    ]
    downloads = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(downloads) == 1
    assert all((tmp_path / f"w{i}/rates.csv").read_bytes() == shared_rates for i in range(3))


def test_an_input_changed_through_its_link_is_fetched_again(
    store: AzureBlobStore, container: str, shared_rates: bytes, tmp_path: Path
) -> None:
    cache = NodeCache(tmp_path / "cache", store)
    spec = [InputFile(blob=f"{container}/static/rates.csv", path="rates.csv")]
    (placed,) = cache.stage_inputs(spec, tmp_path / "t1")
    placed.chmod(0o644)
    placed.write_bytes(b"scribbled")  # the task wrote its input in place (through the hard link)
    (again,) = cache.stage_inputs(spec, tmp_path / "t2")
    assert again.read_bytes() == shared_rates and cache.downloads == 2


def test_a_changed_blob_is_a_new_cache_entry(store: AzureBlobStore, container: str, tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "cache", store, link=False)
    store.put(container, "v.txt", b"one")
    spec = [{"blob": f"{container}/v.txt", "path": "v.txt"}]
    assert cache.stage_inputs(spec, tmp_path / "a")[0].read_bytes() == b"one"
    store.put(container, "v.txt", b"two")
    assert cache.stage_inputs(spec, tmp_path / "b")[0].read_bytes() == b"two"
    assert cache.downloads == 2


def test_outputs_are_collected_by_pattern_with_sweep_substitution(
    store: AzureBlobStore, container: str, tmp_path: Path
) -> None:
    workdir = tmp_path / "w"
    (workdir / "out").mkdir(parents=True)
    for name in ("result-a.csv", "result-b.csv", "notes.txt", "tile-007.png"):
        (workdir / "out" / name).write_text(name)
    cache = NodeCache(tmp_path / "cache", store)
    outputs = [
        {"pattern": "out/result-^*.csv", "blob": f"{container}/job1/*"},  # ^* = glob; * = the index
        {"pattern": "out/tile-***.png", "blob": f"{container}/tiles/tile-***.png"},  # one exact file
        {"pattern": "missing/*.dat", "blob": f"{container}/none"},
    ]
    uploaded = cache.collect_outputs(outputs, workdir, index=7)
    assert uploaded == [
        f"{container}/job1/7/out/result-a.csv",
        f"{container}/job1/7/out/result-b.csv",
        f"{container}/tiles/tile-007.png",
    ]
    assert store.get(container, "tiles/tile-007.png") == b"tile-007.png"


def test_an_output_symlink_pointing_outside_the_workdir_is_refused(
    store: AzureBlobStore, container: str, tmp_path: Path
) -> None:
    workdir = tmp_path / "w"
    workdir.mkdir()
    (tmp_path / "secret").write_text("key")
    (workdir / "leak.txt").symlink_to(tmp_path / "secret")
    with pytest.raises(InvalidSpec, match="outside the workdir"):
        NodeCache(tmp_path / "cache", store).collect_outputs(
            [{"pattern": "*.txt", "blob": f"{container}/o"}], workdir
        )


@pytest.mark.parametrize(
    "spec",
    [
        {"blob": "hpc-data/x", "path": "../escape"},
        {"blob": "hpc-data/x", "path": "/etc/passwd"},
        {"blob": "Not_A_Container/x", "path": "x"},
        {"blob": "hpc-data", "path": "x"},
        {"blob": "hpc-data/x", "path": "x", "extra": 1},
    ],
)
def test_bad_input_specs_are_rejected(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        InputFile.model_validate(spec)


def test_bad_output_specs_are_rejected() -> None:
    with pytest.raises(ValidationError, match="relative path"):
        OutputFile(pattern="../*.csv", blob="hpc-output/x")


def test_a_bad_spec_from_a_lease_is_an_invalid_spec(store: AzureBlobStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidSpec, match="InputFile"):
        NodeCache(tmp_path / "cache", store).stage_inputs([{"blob": "hpc-data/x", "path": "../up"}], tmp_path)
