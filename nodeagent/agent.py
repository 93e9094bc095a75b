"""The node agent's core: one iteration of each of its loops, so tests drive it step by step.

- ``step`` (the main thread): apply cancels, start leased work in free slots, collect finished processes.
- ``lease_once``: ask the service for work (long-poll) for the free slots; for tiny tasks the service hands out
  more than one per slot and the agent asks again before its backlog runs dry, so no slot waits on a round trip.
- ``heartbeat_once``: say what this node holds; learn drain (offline) and what to kill.
- ``report_once``: store a batch of outputs (segment blobs) and report its results in one call.
- ``evict``: the VM is going away (``nodeagent.evictions``): give every unfinished index back.

NodePrep and NodeRelease (``nodeagent.node_steps``) run on the runner thread as the job's confined account.

``nodeagent.service`` runs these in threads. A result leaves the agent only when the service acknowledged
it, so a killed agent loses nothing acknowledged; what it held is re-leased once its heartbeats stop.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice

from hpcburst.domain.node_steps import NodeStep
from hpcburst.domain.protocol import (
    HeartbeatRequest,
    Lease,
    LeaseRequest,
    RegisterRequest,
    RegisterResponse,
    ReportRequest,
    TaskResult,
)
from hpcburst.domain.states import NodeState
from hpcburst.errors import HpcBurstError, Unauthenticated
from nodeagent.api import AgentApi, cancel_runs
from nodeagent.config import AgentConfig
from nodeagent.credential import CREDENTIAL_FILE, Credentials
from nodeagent.environment import base_environment, task_environment
from nodeagent.grants import GrantBook
from nodeagent.launcher import build_launcher
from nodeagent.ledger import Finished, Held, Ledger, RunKey
from nodeagent.node_steps import NodeStepBook, StepKey, startable
from nodeagent.outputs import OutputWriter
from nodeagent.packages import install_if_missing
from nodeagent.results import ResultMaker
from nodeagent.runas import RunAs
from nodeagent.runner import ProcessRunner, RunResult, RunSpec
from nodeagent.soa.hosts import HostManager
from nodeagent.staging import Stager
from nodeagent.taskdirs import TaskDir, TaskDirs

log = logging.getLogger("nodeagent")

STDOUT_FILE_LIMIT = 1024 * 1024  # bytes of a --stdout file also kept in blob storage (its tail)


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        runner: ProcessRunner | None = None,
        outputs: OutputWriter | None = None,
        api: Callable[[str, Callable[[], str | None]], AgentApi] = AgentApi,
    ) -> None:
        self.config = config
        self.ledger = Ledger(config.slots)
        self.runner = runner or ProcessRunner(launcher=build_launcher(config.workdir / ".bin"))
        self.registration: RegisterResponse | None = None
        self.credentials = Credentials(
            config.workdir / CREDENTIAL_FILE, config.url, config.pool, config.node, config.join_token
        )
        self._api_type = api
        self._apis = threading.local()
        self.grants = GrantBook(config.node, config.pool, self.api)  # storage rights (nodeagent.grants)
        self.outputs = outputs or OutputWriter(self.grants.next_segment)
        self._register_lock = threading.Lock()
        self._base_env = base_environment()
        self.run_as = RunAs(config.task_user, config.user_map)
        self.dirs = TaskDirs(
            config.workdir,
            config.packages,
            self.run_as.accounts(),
            config.keep_task_dirs,
            config.task_dir_ttl,
        )
        self._closed = False
        self._short_tasks = False  # the last lease gave more than one index per free slot
        # Inputs are staged on the lease thread, outputs collected on the report thread: one stager, made
        # here (its pool starts threads only when given work) so two threads never each make their own.
        self.stager = Stager(self.dirs.cache_root, config.slots, self.grants.lease_store, config.cache_max)
        self.results = ResultMaker(self.outputs, self.stager, self.dirs)
        self._last_lease = 0  # size of the last lease answer (a backlog below half of it is refilled)
        # Results whose outputs are stored, until acknowledged (report thread only): a report retried
        # after a failed call sends them again without uploading their outputs again.
        self._prepared: dict[RunKey, TaskResult] = {}
        self.steps = NodeStepBook(config.workdir)
        self.soa = HostManager(config.node, config.workdir, config.packages, self._base_env,
                               lambda owner: self.run_as.for_owner(owner), self._hosts_counted,
                               python=config.soa_python or sys.executable,
                               ensure_package=self._ensure_package)  # fmt: skip

    def _ensure_package(self, name: str) -> None:
        install_if_missing(self.config.packages, self.config.pool, self.grants.packages_store(), name)

    # --- registration ---
    def api(self) -> AgentApi:
        """This thread's connection to the service."""
        if not hasattr(self._apis, "api"):
            self._apis.api = self._api_type(self.config.url, self.credentials.current)
        return self._apis.api  # type: ignore[no-any-return]

    def register(self) -> RegisterResponse:
        with self._register_lock:
            request = RegisterRequest(
                node=self.config.node,
                pool=self.config.pool,
                slots=self.config.slots,
                hostname=os.uname().nodename,
                cloud=self.config.cloud,
            )
            again = self.registration is not None
            try:
                self.registration = self.api().register(request)
            except Unauthenticated:
                if not (self.credentials.has_node_credential() and self.credentials.forget()):
                    raise  # no credential the service accepts: an admin must give this node a join token
                self.registration = self.api().register(request)  # the node credential was revoked
            if self.registration.credential:
                self.credentials.adopt(self.registration.credential)
            self.grants.absorb(self.registration.segment, self.registration.packages_url)
            with self.ledger.lock:
                if again:  # registering re-queues what the service thought this node held
                    self.ledger.backlog.clear()
                    self.ledger.staging.clear()
                self.ledger.drain = self.registration.state != NodeState.ONLINE
                self.ledger.lock.notify_all()
            return self.registration

    def close(self) -> None:
        """Kill what still runs and stop staging (the service re-leases unreported work). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.runner.close()
        self.stager.close()
        self.soa.close()

    def _hosts_counted(self, count: int) -> None:
        with self.ledger.lock:  # service hosts hold slots (``nodeagent.soa``)
            self.ledger.hosts = count
            self.ledger.lock.notify_all()

    # --- main thread ---
    def step(self, timeout: float | None = 0.0) -> list[Finished]:
        """Start what fits, wait up to ``timeout`` for processes to end, and queue their results."""
        ledger = self.ledger
        with ledger.lock:
            cancels = ledger.take_cancels()
            starting = startable(self.ledger, self.steps)
        if cancels:
            for key in self.runner.keys():
                if not isinstance(key, StepKey) and key in cancels:
                    self.runner.kill(key)
        for step in self.steps.take_due():
            self._start_step(step)
        for held in starting:
            try:
                self.runner.start(self._spec(held))
            except (OSError, HpcBurstError) as e:  # e.g. a workdir that cannot be made or leads out
                now = time.time()
                failure = RunResult(held.key, 1, now, now, error=f"cannot start: {e}")
                with ledger.lock:
                    ledger.running.pop(held.key, None)
                    ledger.unreported.append(Finished(held, failure))
        results = self.runner.poll(timeout)
        finished: list[Finished] = []
        with ledger.lock:
            for result in results:
                if isinstance(result.key, StepKey):
                    self._step_ended(result)
                    continue
                held = ledger.running.pop(result.key, None)  # type: ignore[call-overload]
                if held is None or result.canceled:  # canceled by the service: nothing to tell it
                    self.dirs.release(result.key)  # type: ignore[arg-type]
                    continue
                done = Finished(held, result)
                ledger.unreported.append(done)
                finished.append(done)
            if results:
                ledger.lock.notify_all()
        return finished

    # --- package thread ---
    @contextmanager
    def between_tasks(self) -> Iterator[None]:
        """Hold new starts and wait until no task runs: a package swapped in meanwhile changes no running task's
        files (``hpcburst.data.package_install``). Leasing and staging go on; the backlog starts after."""
        try:
            with self.ledger.quiet():
                yield
        finally:
            self.runner.wakeup()

    def _start_step(self, step: NodeStep) -> None:
        key, lease = self.steps.started(step), step.as_lease()
        try:
            task_dir = self.dirs.prepare(lease, self.run_as.for_owner(step.owner))
            self.runner.start(self._run_spec(key, lease, task_dir))
        except (OSError, HpcBurstError) as e:
            now = time.time()
            self._step_ended(RunResult(key, 1, now, now, error=f"cannot start: {e}"))

    def _step_ended(self, result: RunResult) -> None:
        step = self.steps.ended(result)
        if step is not None:
            self.dirs.release((step.as_lease().task, 0))
            with self.ledger.lock:
                self.ledger.lock.notify_all()  # the report thread has something to send

    # --- lease thread ---
    def lease_once(self, wait: float | None = None) -> int | None:
        """Lease for the free slots; the number of leases, or None when there was no room to ask."""
        ledger, slots = self.ledger, self.config.slots
        with ledger.lock:
            if ledger.drain or ledger.stopping or ledger.evicting:
                return None
            free = ledger.free_slots()
            running = ledger.refs(processes_only=True)  # the full list goes with heartbeats
            backlog = len(ledger.backlog)
            hosts = ledger.hosts  # service hosts hold their slots even when tasks are refilled ahead
        wait = self._lease_wait() if wait is None else wait
        if free <= 0:
            if not (self._short_tasks and hosts < slots and backlog <= max(2 * slots, self._last_lease // 2)):
                return None
            free, wait = (
                slots - hosts,
                0.0,
            )  # refill ahead: tiny tasks drain a backlog faster than a round trip
        response = self.api().lease(
            LeaseRequest(
                node=self.config.node,
                pool=self.config.pool,
                free_slots=free,
                slots=slots,
                wait_seconds=wait,
                running=running,
            )
        )
        self._short_tasks = len(response.leases) > free
        for lease in response.leases:
            if lease.node_release is not None:
                self.steps.owe_release(lease.node_release)
        self.grants.absorb(response.segment, response.packages_url)
        self.soa.start(response.hosts)
        self._last_lease = len(response.leases)
        to_stage: list[Held] = []
        ready, failed = self._prepare_dirs(
            [Held(lease) for lease in response.leases if not lease.input_files]
        )
        with ledger.lock:
            for lease in response.leases:
                if lease.input_files:
                    held = Held(lease)
                    ledger.staging[held.key] = held
                    to_stage.append(held)
            ledger.backlog.extend(ready)
            ledger.unreported.extend(failed)
            ledger.cancel(cancel_runs(response, running))
            ledger.drain = response.drain
        for held in to_stage:  # (one a re-register drops meanwhile is ignored when placed)
            self._stage(held)
        if response.leases or response.cancel_runs or response.cancel:
            self.runner.wakeup()
        return len(response.leases) + len(response.hosts)

    def _prepare_dirs(self, leased: list[Held]) -> tuple[list[Held], list[Finished]]:
        """Make the leased indices' directories here, on the lease thread, so starting one on the runner
        thread is a lookup; an index whose directory cannot be made fails (as in ``step``)."""
        ready: list[Held] = []
        failed: list[Finished] = []
        for held in leased:
            try:
                self._task_dir(held)
                ready.append(held)
            except (OSError, HpcBurstError) as e:
                now = time.time()
                failed.append(Finished(held, RunResult(held.key, 1, now, now, error=f"cannot start: {e}")))
        return ready, failed

    def _stage(self, held: Held) -> None:
        """Place inputs on the staging pool; the index joins the backlog when they are in place."""
        try:
            task_dir = self._task_dir(held)
        except (OSError, HpcBurstError) as e:  # as in step: the index fails, the agent and the lease go on
            self._placed(held, e)
            return
        future = self.stager.stage_inputs(held, task_dir)
        future.add_done_callback(lambda f: self._placed(held, f.exception()))

    def _placed(self, held: Held, error: BaseException | None) -> None:
        """Staging ended: the index joins the backlog, or fails with the reason."""
        with self.ledger.lock:
            if self.ledger.staging.pop(held.key, None) is None:
                return  # dropped by a re-register meanwhile
            if error is None:
                self.ledger.backlog.append(held)
            else:
                now = time.time()
                failure = RunResult(held.key, 1, now, now, error=f"staging inputs failed: {error}")
                self.ledger.unreported.append(Finished(held, failure))
            self.ledger.lock.notify_all()
        self.runner.wakeup()

    def _lease_wait(self) -> float:
        limit = self.registration.max_lease_wait if self.registration else self.config.lease_wait
        return max(0.0, min(self.config.lease_wait, limit))

    # --- heartbeat thread ---
    def heartbeat_once(self) -> None:
        with self.ledger.lock:
            running = self.ledger.refs()
        response = self.api().heartbeat(
            HeartbeatRequest(
                node=self.config.node, pool=self.config.pool, running=running, jobs=self.steps.jobs()
            )
        )
        with self.ledger.lock:
            self.ledger.drain = response.drain
            self.ledger.cancel(cancel_runs(response, running))
            self.ledger.lock.notify_all()
        for gone in response.left:
            self.steps.left(gone.job, gone.release)
        if response.cancel_runs or response.cancel or response.left:
            self.runner.wakeup()

    # --- report thread ---
    def report_once(self) -> int:
        """Store outputs and report up to ``report_max`` results; how many the service acknowledged."""
        with self.ledger.lock:
            batch = list(islice(self.ledger.unreported, self.config.report_max))
        steps = list(self.steps.results)
        if not batch and not steps:
            return 0
        fresh = [f for f in batch if f.held.key not in self._prepared]
        if fresh:
            self._prepared.update(self.results.prepare(fresh))
        results = [self._prepared[f.held.key] for f in batch]
        response = self.api().report(
            ReportRequest(node=self.config.node, pool=self.config.pool, results=results, node_steps=steps)
        )
        if steps:
            self.steps.acknowledged(steps)
        self.grants.absorb(response.segment)
        with self.ledger.lock:
            for _ in batch:  # only this thread removes, and appends go to the other end
                self.ledger.unreported.popleft()
            self.ledger.lock.notify_all()
        for f in batch:
            self._prepared.pop(f.held.key, None)
            self.dirs.release(f.held.key)
        return len(batch)

    # --- watch thread ---
    def evict(self, reason: str) -> int:
        """Give back all unfinished work (the VM is going away): lease and start nothing more, kill what runs,
        and queue an ``evicted`` result for every held index; how many were given back. Idempotent."""
        with self.ledger.lock:
            held = self.ledger.give_back_all(reason)
        self.soa.close()  # its hosts' calls come back as retries
        if held:
            log.warning("%s: gave back %d indices", reason, len(held))
            self.runner.wakeup()
        return len(held)

    # --- heartbeat thread (clean-up) ---
    def clean_task_dirs(self, now: float | None = None) -> list[str]:
        """Remove the directories of jobs this node has held nothing of for a while (``TaskDirs.sweep``)."""
        with self.ledger.lock:
            held = self.ledger.refs()
        return self.dirs.sweep({r.task.rsplit(".", 2)[0] for r in held}, now)

    # --- helpers ---
    def _task_dir(self, held: Held) -> TaskDir:
        return self.dirs.prepare(held.lease, self.run_as.for_owner(held.lease.owner))

    def _spec(self, held: Held) -> RunSpec:
        return self._run_spec(held.key, held.lease, self._task_dir(held))

    def _run_spec(self, key: RunKey | StepKey, lease: Lease, task_dir: TaskDir) -> RunSpec:
        account = task_dir.account
        env = task_environment(self._base_env, lease, self.config.node, task_dir.cwd, str(self.config.packages),
                               home=task_dir.root, user=account.name if account else None)  # fmt: skip
        return RunSpec(key, lease.command, env, task_dir.cwd, lease.max_run_time, lease.stdout, lease.stderr,
                       argv_prefix=account.prefix if account else (), owner=task_dir.owner,
                       account=account.ids if account else None)  # fmt: skip
