"""A finished index's result: its output files uploaded, its stdout/stderr stored, the reason it failed.

Runs on the report thread. Output files and a ``--stdout`` file's tail are read inside the task's directory
as the task's account could (``beneath``): a path a task made lead elsewhere fails the index instead.
"""

from __future__ import annotations

import logging
import os

from hpcburst.domain.protocol import TaskResult
from hpcburst.errors import ConfigError, HpcBurstError, PathRefused
from nodeagent.beneath import open_readable
from nodeagent.ledger import Finished, Held, RunKey
from nodeagent.outputs import Output, OutputWriter
from nodeagent.staging import Stager
from nodeagent.taskdirs import TaskDirs

log = logging.getLogger("nodeagent")

STDOUT_FILE_LIMIT = 1024 * 1024  # bytes of a --stdout file also kept in blob storage (its tail)


class ResultMaker:
    def __init__(self, outputs: OutputWriter, stager: Stager, dirs: TaskDirs) -> None:
        self._outputs, self._stager, self._dirs = outputs, stager, dirs

    def prepare(self, batch: list[Finished]) -> dict[RunKey, TaskResult]:
        """Upload output files and store stdout/stderr of ``batch``; the result to report for each."""
        given_back = {f.held.key: _given_back(f) for f in batch if f.evicted}
        batch = [f for f in batch if not f.evicted]
        notes = self._collect_output_files(batch)
        refs = self._store_outputs(batch)
        return given_back | {f.held.key: _task_result(f, refs, notes.get(f.held.key)) for f in batch}

    def _collect_output_files(self, batch: list[Finished]) -> dict[RunKey, str]:
        """Upload each finished index's output files; a failure becomes the result's message."""
        notes: dict[RunKey, str] = {}
        for f in batch:
            task_dir = self._dirs.get(f.held.key)
            if f.held.lease.output_files and f.result.error is None and task_dir is not None:
                try:
                    self._stager.collect_outputs(f.held, task_dir)
                except PathRefused as e:  # a path leading out of the task's directory fails the index
                    f.result.error = f"exit code {f.result.exit_code}, but {e.message}"
                except Exception as e:  # noqa: BLE001 - reported to the user, the exit code stays
                    notes[f.held.key] = f"collecting output files failed: {e}"
        return notes

    def _store_outputs(self, batch: list[Finished]) -> dict[tuple[str, str], object]:
        outputs: list[Output] = []
        for f in batch:
            lease, result = f.held.lease, f.result
            stdout = result.stdout or self._file_tail(f.held, lease.stdout)
            stderr = result.stderr or self._file_tail(f.held, lease.stderr)
            outputs.append(Output(lease.job, lease.task, "stdout", stdout))
            outputs.append(Output(lease.job, lease.task, "stderr", stderr))
        try:
            return dict(self._outputs.write(outputs))
        except ConfigError as e:  # nowhere to keep output: still report the exit codes
            log.warning("output not stored: %s", e.message)
            return {}

    def _file_tail(self, held: Held, path: str | None) -> bytes:
        task_dir = self._dirs.get(held.key)
        if not path or task_dir is None:
            return b""
        try:  # read as the task could: never through a link out of its directory
            fd = open_readable(task_dir.cwd, path, "stdout file", task_dir.owner)
        except (OSError, HpcBurstError):
            return b""
        with open(fd, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - STDOUT_FILE_LIMIT))
            return fh.read()


def _task_result(f: Finished, refs: dict[tuple[str, str], object], note: str | None = None) -> TaskResult:
    lease, r = f.held.lease, f.result
    message = r.error or ("killed after its max run time" if r.timed_out else None) or note
    return TaskResult(
        task=lease.task,
        attempt=lease.attempt,
        exit_code=None if r.error else r.exit_code,
        started_at=r.started_at,
        ended_at=r.ended_at,
        timed_out=r.timed_out,
        stdout=refs.get((lease.task, "stdout")),  # type: ignore[arg-type]
        stderr=refs.get((lease.task, "stderr")),  # type: ignore[arg-type]
        message=message,
    )


def _given_back(f: Finished) -> TaskResult:
    """An index given back unfinished: no outputs, no exit code; the service re-queues it at once."""
    return TaskResult(task=f.held.lease.task, attempt=f.held.lease.attempt, evicted=True, reason=f.evicted)
