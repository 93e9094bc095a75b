"""`hpcburst data` and `hpcburst pkg` from the command line: results, and clear messages for bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.emulators import Azurite

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


@pytest.fixture
def configured(azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.delenv("HPCBURST_STORAGE_ACCOUNT_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_upload_download_round_trip(configured: Path, container: str) -> None:
    (configured / "in.bin").write_bytes(os.urandom(300_000))
    code, out = run("data", "upload", "in.bin", f"{container}/x/in.bin", "--block-size", "64k", "-q")
    assert code == 0 and "5 blocks sent, 0 reused" in out
    code, out = run("data", "upload", "in.bin", f"{container}/x/in.bin", "--block-size", "64k", "-q")
    assert code == 0 and "0 blocks sent, 5 reused" in out
    code, out = run("data", "download", f"{container}/x/in.bin", "back.bin", "-q")
    assert code == 0 and "verified sha256" in out
    assert (configured / "back.bin").read_bytes() == (configured / "in.bin").read_bytes()


def test_download_into_a_directory_keeps_the_blob_name(configured: Path, container: str) -> None:
    (configured / "in.bin").write_bytes(b"payload")
    assert run("data", "upload", "in.bin", f"{container}/x/in.bin", "-q")[0] == 0
    (configured / "dl").mkdir()
    code, out = run("data", "download", f"{container}/x/in.bin", "dl", "-q")
    assert code == 0, out
    assert (configured / "dl" / "in.bin").read_bytes() == b"payload"


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [
        # the old order, LOCAL first: a file name that is no container name
        (("back.bin", "hpc-data/x/in.bin"), "hpcburst data download hpc-data/x/in.bin back.bin"),
        # a local directory that exists, even one spelled like a container name
        (("dl", "hpc-data/x/in.bin"), "hpcburst data download hpc-data/x/in.bin dl"),
        (("./out/back.bin", "hpc-data/x/in.bin"), "hpcburst data download hpc-data/x/in.bin ./out/back.bin"),
    ],
)
def test_download_with_swapped_arguments_suggests_the_right_order(
    configured: Path, args: tuple[str, str], suggestion: str
) -> None:
    (configured / "dl").mkdir()
    code, out = run("data", "download", *args)
    assert code == 2, out
    assert "arguments are SOURCE DESTINATION" in out and f"did you mean `{suggestion}`?" in out, out
    assert "Traceback" not in out


def test_download_of_a_missing_blob_whose_destination_looks_remote_suggests_the_order(
    configured: Path,
) -> None:
    code, out = run(
        "data", "download", "out/back.bin", "hpc-data/x/in.bin"
    )  # 'out' is a valid container name
    assert code == 1, out
    assert "did you mean `hpcburst data download hpc-data/x/in.bin out/back.bin`?" in out, out


def test_sync_both_ways(configured: Path, container: str) -> None:
    (configured / "src" / "sub").mkdir(parents=True)
    (configured / "src" / "sub" / "a.txt").write_text("a")
    code, out = run("data", "sync", "src", f"{container}/proj", "-q")
    assert code == 0 and "1 copied" in out
    code, out = run("data", "sync", "dst", f"{container}/proj", "--down", "-q")
    assert code == 0 and (configured / "dst" / "sub" / "a.txt").read_text() == "a"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("data", "upload", "missing.bin", "hpc-data/x"), 1, "local file missing.bin does not exist"),
        (
            ("data", "upload", "f.txt", "Bad_Container/x"),
            2,
            "expected CONTAINER/PATH, e.g. hpc-data/inputs/rates.csv",
        ),
        (("data", "upload", "f.txt", "hpc-data"), 2, "'hpc-data' names no blob"),
        (("data", "upload", "f.txt", "hpc-data/x", "--block-size", "4XB"), 2, "size '4XB'"),
        (("data", "download", "hpc-data/no/such/blob", "out"), 1, "blob hpc-data/no/such/blob not found"),
        (("data", "bench", "--concurrency", "0"), 2, "concurrency '0'"),
        (("pkg", "upload", "solver"), 1, "run `hpcburst pkg create solver DIR` first"),
        (("pkg", "create", "solver", "nodir"), 1, "package directory nodir does not exist"),
        (("pkg", "remove", "never-uploaded"), 1, "not in the registry"),
        (("pkg", "create", "solver", "app", "-o", "f.txt/x.zip"), 1, "File exists: f.txt"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(
    configured: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    (configured / "f.txt").write_text("x")
    (configured / "app").mkdir()
    (configured / "app" / "a").write_text("a")
    exit_code, out = run(*args)
    assert (exit_code, message in out) == (code, True), out
    assert "Traceback" not in out


def test_missing_storage_settings_name_the_variable(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    (configured / "f.txt").write_text("x")
    code, out = run("data", "upload", "f.txt", "hpc-data/f.txt")
    assert code == 1 and "AzureWebJobsStorage" in out


def test_bench_prints_a_table_and_writes_a_plot(configured: Path, container: str) -> None:
    code, out = run(
        "data", "bench", "--sizes", "256k", "--concurrency", "1,2", "--block-size", "64k",
        "--container", container, "--plot", "bench.png",
    )  # fmt: skip
    assert code == 0 and "blob throughput" in out and "MiB/s" in out
    assert (configured / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_package_lifecycle(configured: Path) -> None:
    name = f"cli-{os.getpid()}"
    (configured / "app").mkdir()
    (configured / "app" / "run.sh").write_text("echo hi")
    assert run("pkg", "create", name, "app")[0] == 0
    code, out = run("pkg", "upload", name, "--relative-path", "tools/app")
    assert code == 0 and f"uploaded {name} version 1 for every pool" in out
    code, out = run("pkg", "list", name)
    assert code == 0 and name in out and "tools/app" in out
    code, out = run("pkg", "sync", "--root", "nodes")
    assert code == 0 and f"installed {name} version 1" in out
    assert (configured / "nodes" / "tools" / "app" / "run.sh").read_text() == "echo hi"
    assert run("pkg", "remove", name)[0] == 0


def test_pkg_sync_needs_a_root(configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCP_PACKAGE_ROOT", raising=False)
    code, out = run("pkg", "sync")
    assert code == 1 and "CCP_PACKAGE_ROOT" in out
