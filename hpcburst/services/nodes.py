"""Nodes: register, heartbeat (returns what to kill and whether to drain), offline/online, expiry.

A node whose heartbeats stop for ``node_timeout`` seconds is Unreachable and its Running indices
go back to the queue (their attempt is then stale, so a late result from it is ignored). A node
that registers again lost whatever it ran, so its Running indices are re-queued too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from hpcburst import constants as c
from hpcburst.domain.identity import CredentialKind, Principal
from hpcburst.domain.leasing import HOLDER, holds, requeued
from hpcburst.domain.node import Node, NodeView
from hpcburst.domain.node_steps import LeftJob
from hpcburst.domain.protocol import (
    HeartbeatRequest,
    HeartbeatResponse,
    RegisterRequest,
    RegisterResponse,
    RunningRef,
)
from hpcburst.domain.states import NodeState
from hpcburst.domain.task import parse_task_key
from hpcburst.domain.task_document import TaskDocument
from hpcburst.errors import Conflict, Forbidden, InvalidSpec, NotFound
from hpcburst.services.grants import GrantService
from hpcburst.services.identity import IdentityService
from hpcburst.services.wakeup import WorkSignal
from hpcburst.storage.state.port import Document, StateStore, query_all

HEARTBEAT_INTERVAL = 2.0
RECONCILE_EVERY = 5.0  # seconds between "what does this node really hold" checks
LOST_LEASE_GRACE = 10.0  # a lease younger than this may still be on its way to the agent
NODE_TIMEOUT = 10.0
MAX_LEASE_WAIT = 30.0
Held = tuple[Document, TaskDocument]  # a task document as read (its etag) and typed once


class NodeService:
    def __init__(
        self,
        store: StateStore,
        signal: WorkSignal,
        clock: Callable[[], float] = time.time,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        node_timeout: float = NODE_TIMEOUT,
        grants: GrantService | None = None,
        identity: IdentityService | None = None,
    ) -> None:
        self._store, self._signal, self._clock = store, signal, clock
        self._grants = grants
        self._identity = identity or IdentityService(store, clock)
        self.heartbeat_interval, self.node_timeout = heartbeat_interval, node_timeout
        self._last_expiry = 0.0
        # Which of the jobs a node owes a NodeRelease have left it (NodeStepService.left); set by the root.
        self.left_jobs: Callable[[str, list[str]], list[LeftJob]] = lambda node, jobs: []
        self._reconciled: dict[str, float] = {}

    def register(self, req: RegisterRequest, who: Principal) -> RegisterResponse:
        """Register (or re-register) a node. ``who`` holds the pool's join secret, or this node's own
        credential; only the latter may take over a node that is still live (its leases)."""
        now = self._clock()
        old = self._admit(req, who, now)
        # An operator's "offline" survives an agent restart; anything else comes back online.
        state = NodeState.OFFLINE if old and old.get("state") == NodeState.OFFLINE else NodeState.ONLINE
        credential, credential_id = None, who.token_id
        if who.kind == CredentialKind.JOIN:  # a new holder: a new credential, the old one dies
            if old and old.get("credential_id"):
                self._revoke(old["credential_id"])
            credential, record = self._identity.issue(CredentialKind.NODE, req.node, pool=req.pool)
            credential_id = record.id
        node = Node(
            name=req.node,
            pool=req.pool,
            slots=req.slots,
            state=state,
            last_heartbeat=now,
            registered_at=now,
            hostname=req.hostname,
            cloud=req.cloud,
            credential_id=credential_id,
        )
        self._store.upsert(c.NODES, req.pool, req.node, node.document())
        self.requeue_node_work(req.node, "its node restarted")
        return RegisterResponse(
            node=req.node,
            pool=req.pool,
            state=state,
            heartbeat_interval=self.heartbeat_interval,
            node_timeout=self.node_timeout,
            max_lease_wait=MAX_LEASE_WAIT,
            segment=self._grants.segment(req.pool, req.node) if self._grants else None,
            packages_url=self._grants.packages_url() if self._grants else None,
            credential=credential,
        )

    def _admit(self, req: RegisterRequest, who: Principal, now: float) -> dict[str, Any] | None:
        """The node's stored record (None if new) when ``who`` may register it; Forbidden/Conflict if not."""
        if who.pool != req.pool:
            raise Forbidden(f"this credential is for pool {who.pool!r}, not {req.pool!r}")
        if who.kind == CredentialKind.NODE and who.name != req.node:
            raise Forbidden(f"this credential belongs to node {who.name!r}, not {req.node!r}")
        for doc in query_all(self._store, c.NODES, limit=500):
            if doc.id == req.node and doc.partition != req.pool:
                raise Conflict(
                    f"node name {req.node!r} is taken in pool {doc.partition!r}; names are cluster-wide"
                )
        try:
            old = self._store.get(c.NODES, req.pool, req.node).body
        except NotFound:
            return None
        live = old.get("state") != NodeState.UNREACHABLE and now - old["last_heartbeat"] < self.node_timeout
        if who.kind == CredentialKind.JOIN and live:
            raise Conflict(
                f"node {req.node!r} is live: only its own credential may register it again "
                f"(or wait {self.node_timeout:.0f}s after its last heartbeat)"
            )
        return old

    def _revoke(self, token_id: str) -> None:
        try:
            self._identity.revoke(token_id)
        except NotFound:
            pass

    def heartbeat(self, req: HeartbeatRequest) -> HeartbeatResponse:
        """(The caller is checked to be this node: ``check_node``.)"""
        body = self._touch(req.pool, req.node, len(req.running))
        state = NodeState(body["state"])
        # One read of what the store says this node runs answers both questions (kill what? lost what?).
        running = self._running_on(req.node)
        cancel = [r for r in req.running if _attempt(running.get(r.task)) != r.attempt]
        self._reconcile(req.node, req.running, running)
        left = self.left_jobs(req.node, req.jobs)
        return HeartbeatResponse(state=state, drain=state == NodeState.OFFLINE, cancel_runs=cancel, left=left)

    def _touch(self, pool: str, name: str, running: int) -> dict[str, Any]:
        while True:
            doc = self._store.get(c.NODES, pool, name)  # NotFound: the agent must register (404)
            body = {**doc.body, "last_heartbeat": self._clock(), "running": running}
            if body["state"] == NodeState.UNREACHABLE:
                body["state"] = NodeState.ONLINE.value
            try:
                self._store.replace(c.NODES, pool, name, body, if_match=doc.etag)
                return body
            except Conflict:
                continue

    def reconcile(self, node: str, held: list[RunningRef]) -> int:
        """Re-queue indices leased to ``node`` that it does not hold (see ``_reconcile``), now."""
        self._reconciled.pop(node, None)
        return self._reconcile(node, held, self._running_on(node))

    def _reconcile(self, node: str, held: list[RunningRef], running: dict[str, Document]) -> int:
        """Re-queue indices leased to ``node`` that it does not hold (the lease response was lost, e.g.
        the runtime died before answering). Leases younger than the grace may still be in flight.
        Runs at most every ``RECONCILE_EVERY`` seconds per node; returns how many were re-queued."""
        now = self._clock()
        if now - self._reconciled.get(node, -RECONCILE_EVERY) < RECONCILE_EVERY:
            return 0
        self._reconciled[node] = now
        holds = {(ref.task, ref.attempt) for ref in held}
        cutoff = now - max(LOST_LEASE_GRACE, 3 * self.heartbeat_interval)
        lost = [
            (doc, task)
            for doc, task in _typed(running.values())  # typed only when a reconcile is due
            if (doc.id, task.attempt) not in holds and (task.leased_at or now) < cutoff
        ]
        return self._requeue(lost, "its node does not hold it (lease response lost)")

    def _running_on(self, node: str) -> dict[str, Document]:
        """The documents of the indices leased to ``node``, by task key (untyped: a heartbeat types
        only those it looks at, not a backlog of thousands leased ahead)."""
        return {doc.id: doc for doc in query_all(self._store, c.TASKS, where={HOLDER: node}, limit=1000)}

    def standing(self, pool: str, name: str) -> tuple[NodeState, bool]:
        """The node's state and whether it is a cloud (burst) node, from one read."""
        body = self._store.get(c.NODES, pool, name).body
        return NodeState(body["state"]), bool(body.get("cloud"))

    def stale(self, node: str, running: list[RunningRef]) -> list[RunningRef]:
        """The (task, attempt)s the node runs that are no longer its current attempt (canceled or re-leased).

        A point read per key, not heartbeat's holder lookup: a lease call names only the processes
        running (at most the node's slots), while the lookup returns all leased to the node,
        including a backlog of thousands of short tasks leased ahead.
        """
        cancel = []
        for ref in running:
            try:
                job, _, _ = parse_task_key(ref.task)
                task = TaskDocument.stored(self._store.get(c.TASKS, job, ref.task).body)
            except (ValueError, NotFound):
                cancel.append(ref)
                continue
            if not holds(task, node, ref.attempt):
                cancel.append(ref)
        return cancel

    # --- operators ---
    def list_nodes(self) -> list[NodeView]:
        return [
            NodeView(**d.body, alive_seconds_ago=round(self._clock() - d.body["last_heartbeat"], 1))
            for d in query_all(self._store, c.NODES, limit=500)
        ]

    def set_state(self, name: str, state: NodeState) -> Node:
        """Take a node offline (drain: it finishes what it runs, leases nothing new) or bring it online."""
        if state not in (NodeState.ONLINE, NodeState.OFFLINE):
            raise InvalidSpec("a node can only be set Online or Offline")
        for doc in query_all(self._store, c.NODES, limit=500):
            if doc.id == name:
                body = {**doc.body, "state": state.value}
                try:
                    self._store.replace(c.NODES, doc.partition, doc.id, body, if_match=doc.etag)
                except Conflict:
                    return self.set_state(name, state)
                self._signal.notify()
                return Node.model_validate(body)
        raise NotFound(f"node {name!r} is not registered; see `hpcburst node list`")

    def forget(self, name: str, why: str) -> bool:
        """A deleted cloud node: its record goes, its credential is revoked and its running work re-queued.
        False if it was not registered."""
        for doc in query_all(self._store, c.NODES, limit=500):
            if doc.id != name:
                continue
            if doc.body.get("credential_id"):
                self._revoke(doc.body["credential_id"])
            try:
                self._store.delete(c.NODES, doc.partition, doc.id)
            except NotFound:
                pass
            self.requeue_node_work(name, why)
            return True
        return False

    # --- expiry ---
    def expire(self, force: bool = True) -> list[str]:
        """Mark nodes silent for ``node_timeout`` Unreachable and re-queue their work; returns their names.

        ``force=False`` (from lease calls) runs at most every half ``node_timeout`` per process.
        """
        now = self._clock()
        if not force and now - self._last_expiry < self.node_timeout / 2:
            return []
        self._last_expiry = now
        expired = []
        for doc in query_all(self._store, c.NODES, limit=500):
            body = doc.body
            if body["state"] == NodeState.UNREACHABLE or now - body["last_heartbeat"] < self.node_timeout:
                continue
            try:
                self._store.replace(
                    c.NODES,
                    doc.partition,
                    doc.id,
                    {**body, "state": NodeState.UNREACHABLE.value},
                    if_match=doc.etag,
                )
            except Conflict:
                continue  # it just heartbeated
            self.requeue_node_work(doc.id, "its node stopped heartbeating")
            expired.append(doc.id)
        return expired

    def requeue_node_work(self, node: str, why: str) -> int:
        return self._requeue(_typed(self._running_on(node).values()), why)

    def _requeue(self, docs: list[Held], why: str) -> int:
        count = 0
        for doc, task in docs:
            try:
                self._store.replace(
                    c.TASKS,
                    doc.partition,
                    doc.id,
                    requeued(task, f"re-queued: {why}").body(),
                    if_match=doc.etag,
                )
                count += 1
            except (Conflict, NotFound):
                pass  # its result arrived meanwhile
        if count:
            self._signal.notify()
        return count


def _attempt(doc: Document | None) -> int | None:
    return None if doc is None else TaskDocument.stored(doc.body).attempt


def _typed(docs: Iterable[Document]) -> list[Held]:
    return [(doc, TaskDocument.stored(doc.body)) for doc in docs]


def check_node(who: Principal, node: str, pool: str | None) -> None:
    """Forbidden unless ``who`` is the credential of ``node`` (in ``pool``, when the request names one)."""
    if who.kind != CredentialKind.NODE or who.name != node or (pool is not None and who.pool != pool):
        raise Forbidden(f"this credential may not act for node {node!r}")
