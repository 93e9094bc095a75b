"""The agent as a long-running service: the loops of ``nodeagent.agent`` in threads, with retry and re-register.

Threads: lease (long-poll), heartbeat, report, and the SOA pair (``nodeagent.soa.loop``: a long-poll while
the node runs service hosts, and a flush that carries their responses at once); the process runner lives on
the calling (main) thread. Any call
answered 404 (the service forgot this node, e.g. after it was presumed dead) re-registers; an unreachable
service is retried with backoff while processes keep running and results wait, so a restarted runtime
picks up where it left off.

A cloud agent also runs a watch loop (``watch_step``): the VM's scheduled events (a spot eviction gives all
work back, ``nodeagent.evictions``) and the dead-man switch (no successful call for a while: stop, and run the
``on_dead_man`` command, ``nodeagent.deadman``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hpcburst.domain.soa.protocol import SoaPollAnswer
from hpcburst.errors import HpcBurstError, NotFound, Unauthenticated
from nodeagent.agent import Agent
from nodeagent.deadman import DeadManSwitch, run_command
from nodeagent.evictions import EvictionWatcher, ImdsClient
from nodeagent.packages import SYNC_INTERVAL, sync_packages
from nodeagent.soa.loop import SoaLoop

log = logging.getLogger("nodeagent")

MAX_BACKOFF = 5.0
STOP_FLUSH = 5.0  # seconds a stopping agent keeps trying to report what finished
WATCH_TICK = 0.2  # seconds between watch steps (each watcher keeps its own interval)


class AgentService:
    def __init__(self, agent: Agent, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock``: what the watchers measure time with (tests pass their own)."""
        self.agent, self._clock = agent, clock
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._backoff: dict[str, float] = {}  # per loop: seconds to wait after its last failure
        self._stop_seen: float | None = None
        self.soa = SoaLoop(
            agent.soa, agent.api, agent.config.node, agent.config.pool, agent.config.lease_wait
        )
        config = agent.config
        self.dead_man = DeadManSwitch(config.dead_man_minutes * 60.0, self.stop, clock())
        self.evictions = (
            None
            if config.scheduled_events_url is None
            else EvictionWatcher(ImdsClient(config.scheduled_events_url), {config.node}, agent.evict,
                                 config.scheduled_events_interval, config.acknowledge_evictions)
        )  # fmt: skip

    def stop(self) -> None:
        """Ask ``run`` to end (safe from signal handlers and other threads)."""
        self.stop_event.set()
        self.agent.runner.wakeup()
        with self.agent.ledger.lock:
            self.agent.ledger.lock.notify_all()

    def run(self) -> None:
        """Register, then serve until ``stop``: running processes are killed, finished results flushed."""
        watch = threading.Thread(target=self._watch_loop, name="agent-watch", daemon=True)
        watch.start()
        try:
            if self._retrying(self.agent.register, "register"):
                self._serve()
        finally:
            self.stop_event.set()
            if self.dead_man.fired:
                run_command(self.agent.config.on_dead_man)

    def watch_step(self, now: float) -> None:
        """One step of the watchers: scheduled events (when configured), then the dead-man switch."""
        if self.evictions is not None:
            self.evictions.step(now)
        self.dead_man.step(now)

    def _watch_loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.watch_step(self._clock())
            except Exception:  # noqa: BLE001 - the watchers must outlive any one failure
                log.exception("watch step failed")
            self.stop_event.wait(WATCH_TICK)

    def _serve(self) -> None:
        log.info(
            "registered %s (pool %s, %d slots)",
            self.agent.config.node,
            self.agent.config.pool,
            self.agent.config.slots,
        )
        for name, loop in (
            ("lease", self._lease_loop),
            ("heartbeat", self._heartbeat_loop),
            ("report", self._report_loop),
            ("packages", self._package_loop),
            ("soa-poll", self._soa_poll_loop),
            ("soa-flush", self._soa_flush_loop),
        ):
            thread = threading.Thread(target=loop, name=f"agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        try:
            while not self.stop_event.is_set():
                self.agent.step(0.5)
        finally:
            self._shut_down()

    def _shut_down(self) -> None:
        ledger = self.agent.ledger
        with ledger.lock:
            ledger.stopping = True
            ledger.lock.notify_all()
        self.stop_event.set()
        self.agent.close()  # kills what still runs: the service re-leases it when heartbeats stop
        for thread in self._threads:
            if thread.name in (
                "agent-report",
                "agent-soa-flush",
            ):  # the others hold nothing (a long-poll may hang on): daemons
                thread.join(timeout=STOP_FLUSH)

    # --- loops ---
    def _lease_loop(self) -> None:
        ledger = self.agent.ledger
        while not self.stop_event.is_set():
            began = time.monotonic()
            got = self._once(self.agent.lease_once, "lease")
            if got is None:  # no room (or draining): wait for a slot to free up
                with ledger.lock:
                    ledger.lock.wait(0.5)
            elif got == 0 and time.monotonic() - began < 0.02:
                self.stop_event.wait(0.05)  # the service did not long-poll: do not spin

    def _soa_poll_loop(self) -> None:
        while not self.stop_event.is_set():
            if self.agent.soa.count == 0:  # no hosts: nothing to ask for (a lease starts them)
                with self.agent.ledger.lock:
                    self.agent.ledger.lock.wait(0.5)
                continue
            began = time.monotonic()
            answer = self._once(self.soa.long_poll_step, "soa")
            quick = time.monotonic() - began < 0.02
            if quick and isinstance(answer, SoaPollAnswer) and not answer.requests:
                self.stop_event.wait(0.05)  # the broker did not long-poll: do not spin

    def _soa_flush_loop(self) -> None:
        outbox = self.agent.soa.outbox
        while not self.stop_event.is_set() or (len(outbox) and self._stopped_for() < STOP_FLUSH):
            self._once(self.soa.flush_step, "soa-flush", stopping_ok=True)

    def _heartbeat_loop(self) -> None:
        while not self.stop_event.is_set():
            self._once(self.agent.heartbeat_once, "heartbeat")
            self._once(self.agent.clean_task_dirs, "clean-up")
            interval = self.agent.registration.heartbeat_interval if self.agent.registration else 5.0
            self.stop_event.wait(interval)

    def _package_loop(self) -> None:
        config = self.agent.config
        root = config.packages
        while not self.stop_event.is_set():
            if not sync_packages(
                root, config.pool, self.agent.grants.packages_store(), self.agent.between_tasks
            ):
                return  # no storage connection or grant: nothing to sync from
            self.stop_event.wait(SYNC_INTERVAL)

    def _report_loop(self) -> None:
        ledger, config = self.agent.ledger, self.agent.config
        deadline: float | None = None
        while True:
            with ledger.lock:
                if not ledger.unreported:
                    if self.stop_event.is_set():
                        return
                    ledger.lock.wait(0.5)
                    continue
                if deadline is None:
                    deadline = time.monotonic() + config.report_interval
                wait = deadline - time.monotonic()
                if wait > 0 and len(ledger.unreported) < config.report_max and not self.stop_event.is_set():
                    ledger.lock.wait(wait)
                    continue
            deadline = None
            if self._once(self.agent.report_once, "report", stopping_ok=True) is None:
                if self.stop_event.is_set() and self._stopped_for() > STOP_FLUSH:
                    return

    # --- retry policy ---
    def _once(self, call: Callable[[], object], what: str, stopping_ok: bool = False) -> object:
        """One call; on NotFound re-register, on other failures back off. None when it failed."""
        try:
            result = call()
            self.dead_man.alive(self._clock())
            self._backoff[what] = 0.0
            return result
        except NotFound:
            log.warning("%s: the service does not know this node; registering again", what)
            self._retrying(self.agent.register, "register")
        except Unauthenticated:
            log.warning("%s: the service refused this node's credential (revoked?); registering again", what)
            if self.agent.credentials.has_node_credential():
                self.agent.credentials.forget()
            self._retrying(self.agent.register, "register")
        except Exception as e:  # noqa: BLE001 - a loop must outlive any one failed call
            backoff = self._backoff[what] = min(MAX_BACKOFF, max(0.1, self._backoff.get(what, 0.0) * 2))
            if isinstance(e, HpcBurstError | OSError):
                log.warning("%s failed (%s); retrying in %.1fs", what, e, backoff)
            else:
                log.exception("%s failed unexpectedly; retrying in %.1fs", what, backoff)
            if stopping_ok:
                time.sleep(backoff)  # the report loop keeps flushing while the agent stops
            else:
                self.stop_event.wait(backoff)
        return None

    def _retrying(self, call: Callable[[], object], what: str) -> bool:
        backoff = 0.1
        while not self.stop_event.is_set():
            try:
                call()
                self.dead_man.alive(self._clock())
                return True
            except (HpcBurstError, OSError) as e:
                log.warning("%s failed (%s); retrying in %.1fs", what, e, backoff)
                self.stop_event.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
        return False

    def _stopped_for(self) -> float:
        if self._stop_seen is None:
            self._stop_seen = time.monotonic()
        return time.monotonic() - self._stop_seen
