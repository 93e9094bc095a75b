"""A burst (cloud) worker holds only the cluster's URL: no storage key. The service's storage grant
(register and lease answers) is all it needs to install packages, stage inputs and write outputs."""

from __future__ import annotations

import time
from pathlib import Path

from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.data.packages import create_package, upload_package
from hpcburst.storage.blob.azure import AzureBlobStore


def test_a_cloud_worker_without_a_storage_key_installs_packages_stages_files_and_writes_outputs(
    cluster: LocalCluster, scheduler: Scheduler, tmp_path: Path
) -> None:
    assert cluster.state is not None
    store = AzureBlobStore.from_connection_string(cluster.state.connection)
    store.ensure_container("hpc-data")
    store.put("hpc-data", "cloud/greeting.txt", b"hello from on-premises\n")
    tool = tmp_path / "tool"
    tool.mkdir()
    (tool / "version.txt").write_text("tool v1\n")
    upload_package(store, "tool", create_package("tool", tool, tmp_path / "tool.zip"), pool="cloud")

    cluster.start_agent("cloud-1", slots=2, pool="cloud", cloud=True)
    package = cluster.data_dir / "agents" / "cloud-1" / "packages" / "tool" / "version.txt"
    deadline = time.monotonic() + 30
    while not package.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert package.read_text() == "tool v1\n"  # installed through the grant alone

    job = scheduler.submit(
        'cat greeting.txt "$CCP_PACKAGE_ROOT/tool/version.txt" > result-*.txt && echo index *',
        sweep="1-3",
        pool="cloud",
        input_files=[{"blob": "hpc-data/cloud/greeting.txt", "path": "greeting.txt"}],
        output_files=[{"pattern": "result-*.txt", "blob": "hpc-data/cloud/results/result-*.txt"}],
    )
    view = scheduler.wait(job, timeout=60, interval=0.1)
    assert view["state"] == "Finished", view
    for index in (1, 2, 3):
        task = scheduler.view_task(job, index)
        assert task["node"] == "cloud-1"
        assert scheduler.task_output(job, index) == f"index {index}\n".encode()
        result = store.get("hpc-data", f"cloud/results/result-{index}.txt")
        assert result == b"hello from on-premises\ntool v1\n"
    cluster.kill("agent:cloud-1")
