"""The agent's side of NodePrep and NodeRelease (design: ``hpcburst.domain.node_steps``).

What must outlive an agent restart is kept in ``<workdir>/.nodesteps/<job>.json`` (0700, the agent's own,
never inside a task's directory, so no task can forge it): the NodePrep outcome (``ok``/``failed``) and the
NodeRelease still owed. What runs right now (a NodePrep under way, a NodeRelease started) is in memory only:
after a restart such a step simply runs again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hpcburst.domain.node_steps import NodeStep, NodeStepResult
from hpcburst.domain.task_types import TaskType
from nodeagent.ledger import Finished, Held, Ledger
from nodeagent.runner import RunResult

PREP_OK, PREP_FAILED, PREP_RUNNING = "ok", "failed", "running"
MAX_LISTED = 1000  # jobs named per heartbeat (the service takes 10,000): the rest wait for the next ones


@dataclass(frozen=True)
class StepKey:
    """The runner key of a node step (index runs are keyed ``(task key, attempt)``)."""

    job: str
    kind: TaskType


class NodeStepBook:
    def __init__(self, root: Path) -> None:
        self.root = root / ".nodesteps"
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self._lock = threading.Lock()
        self._state: dict[str, dict[str, object]] = {}  # job -> what its file holds
        self._prepping: set[str] = set()
        self._releasing: set[str] = set()
        self._running: dict[StepKey, NodeStep] = {}
        self.due: list[NodeStep] = []  # steps to start on the runner thread
        self.results: list[NodeStepResult] = []  # finished steps, until the service acknowledges them
        for path in self.root.glob("*.json"):
            try:
                self._state[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # torn by a crash mid-write: the step runs again

    def prep(self, step: NodeStep) -> str | None:
        """Where the job's NodePrep stands here: ok, failed, running, or None (start it: it is now due)."""
        with self._lock:
            if step.job in self._prepping:
                return PREP_RUNNING
            outcome = self._state.get(step.job, {}).get("prep")
            if outcome is None:
                self._prepping.add(step.job)
                self.due.append(step)
            return outcome if isinstance(outcome, str) else None

    def owe_release(self, step: NodeStep) -> None:
        """Keep the job's NodeRelease until the job leaves this node (once per job: a dict lookup after)."""
        with self._lock:
            if "release" not in self._state.get(step.job, {}):
                self._save(step.job, release=step.model_dump(mode="json"))

    def jobs(self) -> list[str]:
        """Jobs this node keeps step state for (sent with heartbeats, until the answer says they left)."""
        with self._lock:
            listed = [j for j in self._state if j not in self._releasing]
        if len(listed) > MAX_LISTED:  # a different slice each time, so every job is asked about in turn
            start = int(time.monotonic()) % len(listed)
            listed = (listed[start:] + listed[:start])[:MAX_LISTED]
        return listed

    def left(self, job: str, release: bool) -> None:
        """The job left the node: run its NodeRelease now, or (forced cancel, excluded node) forget it."""
        with self._lock:
            saved = self._state.get(job, {}).get("release")
            if job in self._releasing:
                return
            if release and isinstance(saved, dict):
                self._releasing.add(job)
                self.due.append(NodeStep.model_validate(saved))
            else:
                self._forget(job)

    def take_due(self) -> list[NodeStep]:
        with self._lock:
            due, self.due = self.due, []
            return due

    def started(self, step: NodeStep) -> StepKey:
        """The step is handed to the runner under this key."""
        key = StepKey(step.job, step.kind)
        with self._lock:
            self._running[key] = step
        return key

    def ended(self, run: RunResult) -> NodeStep | None:
        """The runner's result for a step (None: not one of ours): recorded as ``finished``."""
        with self._lock:
            step = self._running.pop(run.key, None)  # type: ignore[call-overload]
        if step is None:
            return None
        result = NodeStepResult(
            job=step.job,
            kind=step.kind,
            exit_code=None if run.error else run.exit_code,
            timed_out=run.timed_out,
            started_at=run.started_at,
            ended_at=run.ended_at,
            message=run.error or ("timed out" if run.timed_out else None),
        )
        self.finished(step, result)
        return step

    def finished(self, step: NodeStep, result: NodeStepResult) -> None:
        """A step ended: keep a NodePrep's outcome for good, and the result until it is reported."""
        with self._lock:
            if step.kind == TaskType.NODE_PREP:
                self._prepping.discard(step.job)
                ok = step.succeeded(result.exit_code, result.timed_out)
                self._save(step.job, prep=PREP_OK if ok else PREP_FAILED)
            self.results.append(result)

    def acknowledged(self, results: list[NodeStepResult]) -> None:
        """The service recorded these: a reported NodeRelease ends what this node keeps of its job."""
        with self._lock:
            for result in results:
                self.results.remove(result)
                if result.kind == TaskType.NODE_RELEASE:
                    self._releasing.discard(result.job)
                    self._forget(result.job)

    def _save(self, job: str, **facts: object) -> None:
        state = {**self._state.get(job, {}), **facts}
        path = self.root / f"{job}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, path)  # whole or not at all
        self._state[job] = state

    def _forget(self, job: str) -> None:
        self._state.pop(job, None)
        (self.root / f"{job}.json").unlink(missing_ok=True)


def startable(ledger: Ledger, book: NodeStepBook) -> list[Held]:
    """Backlog entries to start now, moved to ``running`` (call under the ledger's lock). An index whose job's
    NodePrep has not succeeded here waits for it (which is then due), and after a failed one is given back
    (``evicted``: no retry counted; the service has excluded the node by the time it reads the report)."""
    starting: list[Held] = []
    waiting: list[Held] = []
    halted = (
        ledger.stopping or ledger.evicting or ledger.swapping > 0
    )  # a package swap waits for a quiet node
    while (
        ledger.backlog and len(ledger.running) + ledger.hosts < ledger.slots and not halted
    ):  # hosts hold slots
        held = ledger.backlog.popleft()
        prep = held.lease.node_prep
        standing = PREP_OK if prep is None else book.prep(prep)
        if standing == PREP_FAILED:
            now = time.time()
            result = RunResult(held.key, -9, now, now)
            ledger.unreported.append(Finished(held, result, evicted="NodePrep failed on this node"))
        elif standing != PREP_OK:
            waiting.append(held)
        else:
            ledger.running[held.key] = held
            starting.append(held)
    ledger.backlog.extendleft(reversed(waiting))
    return starting
