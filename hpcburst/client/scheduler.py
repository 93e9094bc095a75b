"""The Python SDK: ``Scheduler``, shaped after HPC Pack's IScheduler (Connect, CreateJob, CreateTask, SubmitJob).

    from hpcburst.client import Scheduler
    scheduler = Scheduler.connect()                  # HPCBURST_URL, else the local cluster
    job = scheduler.create_job(name="render", priority="AboveNormal")
    job.add_task(scheduler.create_task("render.exe frame***.rib", sweep=(1, 100)))
    job_id = scheduler.submit_job(job)
    scheduler.wait(job_id)

Every call is one HTTP request to the cluster's API; errors arrive as the server's ``HpcBurstError``
subclasses (``NotFound``, ``InvalidSpec``...), an unreachable cluster as ``ClusterUnreachable``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from hpcburst.client.access import Access
from hpcburst.client.clusrun import NodeRun, choose_nodes, clusrun_job, node_runs
from hpcburst.client.http import auth_headers, cluster_url, error_from, send, unwrap
from hpcburst.client.specs import JobDraft, command_line, job_spec, task_spec
from hpcburst.domain.job import JobSpec
from hpcburst.domain.jobxml import job_xml
from hpcburst.domain.states import JobState
from hpcburst.domain.task import OutputPage
from hpcburst.errors import HpcBurstError, NotFound

TERMINAL = {s.value for s in JobState if s.terminal}
LONG_POLL = 20  # seconds one wait request may be held by the server (below the HTTP timeout)


class Scheduler:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0) -> None:
        self.url = cluster_url(url)
        self._timeout = timeout
        self._http = httpx.Client(base_url=self.url, headers=auth_headers(token, self.url), timeout=timeout)

    @classmethod
    def connect(cls, url: str | None = None, token: str | None = None) -> Scheduler:
        """HPC Pack's ``Connect(head_node)``: here the cluster's API URL (default: HPCBURST_URL)."""
        return cls(url, token)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- building and submitting (CreateJob / CreateTask / SubmitJob) ---
    def create_job(
        self,
        name: str | None = None,
        priority: str | None = None,
        pool: str | None = None,
        owner: str | None = None,
        never_burst: bool = False,
        template: str | None = None,
        **job: Any,
    ) -> JobDraft:
        """``never_burst``: the job runs on on-premises nodes only (a cloud node never leases it);
        ``template``: the job template whose defaults and limits apply (default: the cluster's Default);
        ``priority``: None takes the template's default, else Normal. ``job``: the other JobDraft fields
        (environment, runtime, fail_dependent_tasks, group_dependencies)."""
        return JobDraft(name=name, priority=priority, pool=pool, owner=owner, never_burst=never_burst,
                        template=template, **job)  # fmt: skip

    def create_task(self, command: str | list[str], **fields: Any) -> dict[str, Any]:
        """A task spec: ``sweep=(start, end[, step])`` makes it a parametric sweep (``*`` is the index); also
        ``type`` (Basic, ParametricSweep, NodePrep, NodeRelease), ``depends_on`` (task names), ``group``,
        ``valid_exit_codes`` ("0,3..5"), ``fail_job_on_failure``."""
        return task_spec(command, **fields)

    def submit_job(self, job: JobDraft | JobSpec | dict[str, Any]) -> str:
        """Validate and submit (a draft, a spec, or a spec as JSON data); the new job's id."""
        spec = (
            job.to_spec() if isinstance(job, JobDraft) else job if isinstance(job, JobSpec) else job_spec(job)
        )
        body = self._call("POST", "/api/jobs", json=spec.model_dump(mode="json", exclude_none=True))
        return str(body["id"])

    def submit(self, command: str | list[str], name: str | None = None, priority: str | None = None,
               pool: str | None = None, never_burst: bool = False, template: str | None = None,
               **task: Any) -> str:  # fmt: skip
        """One-task job in one call (``hpcburst job submit``)."""
        job = self.create_job(
            name=name, priority=priority, pool=pool, never_burst=never_burst, template=template
        )
        job.add_task(
            self.create_task(command_line(command) if isinstance(command, list) else command, **task)
        )
        return self.submit_job(job)

    def submit_xml(self, xml: str) -> tuple[str, list[str]]:
        """Submit an HPC Pack job XML document; (the job id, warnings naming what it asked for that is not
        supported)."""
        body = self._call("POST", "/api/jobs", content=xml.encode("utf-8"),
                          headers={"Content-Type": "application/xml"})  # fmt: skip
        return str(body["id"]), list(body.get("warnings", []))

    def export_job(self, job: str) -> str:
        """The job as HPC Pack 2008 R2 job XML."""
        return job_xml(self.view_job(job))

    # --- clusrun: a command once on each chosen node ---
    def clusrun(
        self, command: str | list[str], nodes: list[str] | None = None, pool: str | None = None,
        all_nodes: bool = False,
    ) -> str:  # fmt: skip
        """Run ``command`` once on each chosen Online node (``nodes``, the Online nodes of ``pool``, or
        ``all_nodes``) as a job of its own (admins only); the job's id. ``clusrun_results`` gathers the runs."""
        chosen = choose_nodes(self.nodes(), nodes, pool, all_nodes)
        line = command_line(command) if isinstance(command, list) else command
        return self.submit_job(clusrun_job(line, chosen, pool))

    def clusrun_results(self, job: str) -> list[NodeRun]:
        """Each node's state, exit code and output (stdout, stderr) for a clusrun job, in node order."""
        return node_runs(
            self.view_job(job), self.tasks(job), lambda ref, stream: self._output_or_empty(job, ref, stream)
        )

    def _output_or_empty(self, job: str, ref: str, stream: str) -> bytes:
        try:
            return self.task_output(job, ref, stream)
        except NotFound:
            return b""

    # --- jobs ---
    def view_job(self, job: str) -> dict[str, Any]:
        return self._call("GET", f"/api/jobs/{job}")  # type: ignore[no-any-return]

    def list_jobs(self, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        params = {"limit": limit, **({"state": state} if state else {})}
        return _items(self._call("GET", "/api/jobs", params=params), "jobs")

    def cancel_job(self, job: str, force: bool = False) -> dict[str, Any]:
        """Cancel; its NodeRelease still runs on its nodes unless ``force``."""
        params = {"force": "true"} if force else None
        return self._call("POST", f"/api/jobs/{job}/cancel", params=params)  # type: ignore[no-any-return]

    def requeue_job(self, job: str) -> dict[str, Any]:
        """Failed and canceled indices run again (HPC Pack's RequeueJob)."""
        return self._call("POST", f"/api/jobs/{job}/requeue")  # type: ignore[no-any-return]

    def wait(
        self,
        job: str,
        timeout: float | None = None,
        interval: float = 0.25,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Wait until the job is Finished, Failed or Canceled; its last view (TimeoutError past ``timeout``).

        Each request long-polls: the server answers when the job's ``progress`` (state and counts) changes,
        so the end is seen at once and ``on_progress`` is called per change. ``interval``: the polling
        period against a server that does not long-poll."""
        deadline = None if timeout is None else time.monotonic() + timeout
        known: str | None = None
        while True:
            hold = min(LONG_POLL, max(0.0, self._timeout - 5))
            if deadline is not None:
                hold = min(hold, max(0.0, deadline - time.monotonic()))
            params = {"wait": int(hold), "known": known} if known else None
            view = self._call("GET", f"/api/jobs/{job}", params=params)
            if on_progress:
                on_progress(view)
            if view.get("state") in TERMINAL:
                return view  # type: ignore[no-any-return]
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job} is still {view.get('state')} after {timeout}s")
            known = view.get("progress") or None
            if known is None or int(hold) == 0:  # a server that does not long-poll, or no time to hold
                time.sleep(interval)

    # --- tasks (indices) ---
    def tasks(self, job: str, state: str | None = None, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every dispatched index of the job, in index order (all pages)."""
        continuation: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if state:
                params["state"] = state
            if continuation:
                params["continuation"] = continuation
            body = self._call("GET", f"/api/jobs/{job}/tasks", params=params)
            yield from _items(body, "tasks")
            continuation = body.get("continuation") if isinstance(body, dict) else None
            if not continuation:
                return

    def view_task(self, job: str, ref: str | int) -> dict[str, Any]:
        """One index: ``ref`` is INDEX or TASK.INDEX."""
        return self._call("GET", f"/api/jobs/{job}/tasks/{ref}")  # type: ignore[no-any-return]

    def task_output(
        self, job: str, ref: str | int, stream: str = "stdout", limit: int | None = None
    ) -> bytes:
        """An index's stdout/stderr: all of it (paging through the server's per-request cap), or at most
        ``limit`` bytes from the start."""
        data, offset = bytearray(), 0
        while limit is None or len(data) < limit:
            want = None if limit is None else limit - len(data)
            page = self.task_output_page(job, ref, stream, offset, want)
            data += page.data
            offset += len(page.data)
            if not page.truncated or not page.data:
                break
        return bytes(data)

    def task_output_page(
        self, job: str, ref: str | int, stream: str = "stdout", offset: int = 0, length: int | None = None
    ) -> OutputPage:
        """One bounded page of an index's output from ``offset`` (the server caps its length)."""
        params: dict[str, Any] = {"stream": stream, "offset": offset}
        if length:
            params["length"] = length
        response = send(self._http, self.url, "GET", f"/api/jobs/{job}/tasks/{ref}/output", params=params)
        if not response.is_success:
            raise error_from(response)
        size = int(response.headers.get("x-hpcburst-output-size", offset + len(response.content)))
        return OutputPage(response.content, offset, size)

    # --- nodes ---
    def nodes(self) -> list[dict[str, Any]]:
        return _items(self._call("GET", "/api/nodes"), "nodes")

    def node_offline(self, node: str) -> dict[str, Any]:
        """Drain: the node finishes what it runs and leases nothing new."""
        return self._call("POST", f"/api/nodes/{node}/offline")  # type: ignore[no-any-return]

    def node_online(self, node: str) -> dict[str, Any]:
        return self._call("POST", f"/api/nodes/{node}/online")  # type: ignore[no-any-return]

    def node_list(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(registered nodes, cloud nodes in every lifecycle state) from one request."""
        body = self._call("GET", "/api/nodes")
        return _items(body, "nodes"), _items(body, "cloud_nodes")

    def cloud_nodes(self) -> list[dict[str, Any]]:
        """Cloud nodes as the burst controller sees them, in every lifecycle state (Provisioning ... Stopped)."""
        return _items(self._call("GET", "/api/nodes"), "cloud_nodes")

    def start_nodes(self, pool: str, count: int) -> list[str]:
        """The manual burst: ``count`` cloud nodes in ``pool`` now (within max_nodes and cost caps); their names."""
        body = self._call("POST", f"/api/pools/{quote(pool, safe='')}/nodes", json={"count": count})
        return list(body["nodes"])

    def stop_nodes(self, nodes: list[str], now: bool = False) -> dict[str, str]:
        """Drain cloud nodes, then delete them (``now``: delete at once, running indices re-queued)."""
        return dict(self._call("POST", "/api/nodes/stop", json={"nodes": nodes, "now": now})["nodes"])

    # --- job templates ---
    def templates(self) -> list[dict[str, Any]]:
        return _items(self._call("GET", "/api/templates"), "templates")

    def template(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/api/templates/{quote(name, safe='')}")  # type: ignore[no-any-return]

    def create_template(self, name: str, **fields: Any) -> dict[str, Any]:
        """(admins) Defaults: priority, pool, max_run_time; limits: allowed_priorities, max_indices, max_runtime,
        allowed_pools; and description."""
        body = {"name": name, **{k: v for k, v in fields.items() if v is not None}}
        return self._call("POST", "/api/templates", json=body)  # type: ignore[no-any-return]

    def delete_template(self, name: str) -> dict[str, Any]:
        return self._call("DELETE", f"/api/templates/{quote(name, safe='')}")  # type: ignore[no-any-return]

    # --- the burst controller ---
    def burst_status(self) -> dict[str, Any]:
        return self._call("GET", "/api/burst")  # type: ignore[no-any-return]

    def burst_log(self, limit: int = 50, since: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if since is not None:
            params["since"] = since
        return _items(self._call("GET", "/api/burst/log", params=params), "decisions")

    def enable_pool(self, pool: str) -> dict[str, Any]:
        """Re-enable a burstable pool that repeated boot failures disabled."""
        return self._call("POST", f"/api/burst/pools/{quote(pool, safe='')}/enable")  # type: ignore[no-any-return]

    # --- cost accounting ---
    def cost(self, by: str = "job", since: float | None = None) -> dict[str, Any]:
        """What cloud node time cost since ``since`` (epoch seconds; None: all the ledger remembers), ``by``
        "job" (your jobs; admins: all), "user" or "pool" (admins): {"rows": [...], "total": dollars, ...}."""
        params: dict[str, Any] = {"by": by}
        if since is not None:
            params["since"] = since
        return self._call("GET", "/api/cost", params=params)  # type: ignore[no-any-return]

    # --- users, tokens, pools ---
    @property
    def access(self) -> Access:
        """Users, tokens and pools (``scheduler.access.add_user("ana")``); most calls are for admins."""
        return Access(self._call)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return unwrap(send(self._http, self.url, method, path, **kwargs))


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for name in (key, "items", "value"):
            if isinstance(body.get(name), list):
                return body[name]  # type: ignore[no-any-return]
    raise HpcBurstError(f"unexpected answer listing {key}: {str(body)[:200]}")
