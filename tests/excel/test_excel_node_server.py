"""The node's calculation server: one per job directory, warm across indices, private to the task's account,
and never the reason a case is lost (an index whose server is gone calculates in-process)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import stat
import threading
from pathlib import Path

import pytest
from excel_sweep_node import node, place, results_in, run_indices, server_pid, sweep_in

from hpcburst.excel.plan import CaseResult, result_name
from hpcburst.excel.runner import SOCKET

__all__ = ["node"]  # the fixture


def test_later_indices_are_answered_by_the_same_warm_server(node: Path, tmp_path: Path) -> None:
    job, first = sweep_in(node, tmp_path, 4)
    pid = server_pid(node)
    later = run_indices(node, [3, 1])
    assert server_pid(node) == pid
    assert "parsed" not in later and "compiled form reused" not in later  # nothing loaded the book again
    assert "case 3: 6 outputs" in later
    assert results_in(node, 4) == [r.outputs for r in job.calculate_locally()]


def test_the_socket_and_its_directory_are_private_to_the_tasks_account(node: Path, tmp_path: Path) -> None:
    sweep_in(node, tmp_path, 1)
    assert stat.S_IMODE((node / ".hpcburst-excel").stat().st_mode) == 0o700
    assert stat.S_IMODE((node / SOCKET).stat().st_mode) == 0o600
    assert stat.S_ISSOCK((node / SOCKET).stat().st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another account")
def test_another_account_cannot_connect_to_the_server(node: Path, tmp_path: Path) -> None:
    sweep_in(node, tmp_path, 1)
    node.chmod(0o755)  # even with the job directory opened up, the 0700 directory and 0600 socket keep it out
    pid = os.fork()
    if pid == 0:  # the outsider
        os.setgid(65534)
        os.setuid(65534)
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(str(node / SOCKET))
        except PermissionError:
            os._exit(0)
        os._exit(1)
    assert os.waitpid(pid, 0)[1] == 0


def test_an_index_whose_server_dies_while_answering_calculates_in_process(node: Path, tmp_path: Path) -> None:
    job = place(node, tmp_path, 4)
    (node / ".hpcburst-excel").mkdir(mode=0o700)
    # a stand-in server that takes the request and dies without answering
    dying = socket.socket(socket.AF_UNIX)
    dying.bind(str(node / SOCKET))
    dying.listen(4)

    def die_on_each() -> None:
        for _ in range(2):
            conn, _ = dying.accept()
            conn.recv(64)
            conn.close()

    stand_in = threading.Thread(target=die_on_each)
    stand_in.start()
    logs = run_indices(node, [2, 3])
    stand_in.join()
    dying.close()
    assert logs.count("parsed book.xlsx") == 1 and "compiled form reused" in logs  # still one parse per node
    assert [CaseResult.from_json((node / result_name(i)).read_text()).outputs for i in (2, 3)] == [
        r.outputs for r in job.calculate_locally()
    ][2:]


def test_an_index_whose_server_was_killed_starts_another_from_the_node_cache(
    node: Path, tmp_path: Path
) -> None:
    job, _ = sweep_in(node, tmp_path, 3)
    killed = server_pid(node)
    os.kill(killed, signal.SIGKILL)
    logs = run_indices(node, [2])
    assert server_pid(node) != killed
    assert "compiled form reused from the node cache" in logs and "parsed" not in logs
    assert results_in(node, 3) == [r.outputs for r in job.calculate_locally()]


def test_the_server_exits_when_its_job_directory_is_removed(node: Path, tmp_path: Path) -> None:
    sweep_in(node, tmp_path, 1)
    exited = os.pidfd_open(server_pid(node))
    try:
        shutil.rmtree(node)  # the agent removes the job's directory when the job ends
        readable, _, _ = select.select([exited], [], [], 120)
        assert readable, "the server outlived its job's directory"
    finally:
        os.close(exited)
