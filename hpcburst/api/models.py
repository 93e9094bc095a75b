"""The bodies of API answers that are not domain documents: list pages, the error body, the health check.

Domain documents (``Job``, ``JobView``, ``TaskInstance``, ``TaskView``, ``Node``, ``NodeView``, the agent
protocol) are answered as they are; these wrap them, so every answer is a pydantic model and the
OpenAPI document is generated from the same classes the functions return.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from hpcburst.domain.burst.models import Decision
from hpcburst.domain.burst.status import CloudNodeView
from hpcburst.domain.identity import TokenInfo, User
from hpcburst.domain.job import MAX_INDEX, Job
from hpcburst.domain.node import NodeView
from hpcburst.domain.pool import Pool
from hpcburst.domain.soa.models import ServiceRegistration, SessionView
from hpcburst.domain.task import TaskInstance
from hpcburst.domain.template import JobTemplate


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer (``hpcburst.errors.error_body``)."""

    error: str = Field(description="the error's type, e.g. InvalidSpec, NotFound, InvalidState")
    message: str
    details: dict[str, Any] | None = Field(
        default=None, description="e.g. field: the request field at fault (400)"
    )


class JobList(BaseModel):
    """A page of jobs, newest first; pass ``continuation`` back for the next page (null: no more)."""

    jobs: list[Job]
    continuation: str | None = None


class TaskList(BaseModel):
    """A page of a job's dispatched indices in index order; ``continuation`` as in JobList."""

    tasks: list[TaskInstance]
    continuation: str | None = None


class NodeList(BaseModel):
    nodes: list[NodeView]
    # cloud nodes as the burst controller sees them, in every lifecycle state (Provisioning ... Stopped)
    cloud_nodes: list[CloudNodeView] = Field(default_factory=list)


class RequeueRequest(BaseModel):
    """Which Failed or Canceled indices to requeue (all of them when ``indices`` is null or absent)."""

    indices: list[Annotated[int, Field(ge=0, le=MAX_INDEX)]] | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class UserList(BaseModel):
    users: list[User]


class NewUserAnswer(BaseModel):
    """The new user and their first token: the secret is shown this once."""

    user: User
    token: str


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class NewTokenAnswer(BaseModel):
    token: str  # the secret, shown this once
    record: TokenInfo


class PoolList(BaseModel):
    pools: list[Pool]


class JoinTokenAnswer(BaseModel):
    pool: str
    token: str  # the join secret, shown this once


class StartNodesRequest(BaseModel):
    """POST /api/pools/{pool}/nodes: the manual burst."""

    model_config = {"extra": "forbid"}
    count: int = Field(ge=1, le=1000)


class StartedNodes(BaseModel):
    pool: str
    nodes: list[str]


class StopNodesRequest(BaseModel):
    """POST /api/nodes/stop: drain, then delete (``now``: delete at once, running indices re-queued)."""

    model_config = {"extra": "forbid"}
    nodes: list[str] = Field(min_length=1, max_length=1000)
    now: bool = False


class StopNodesAnswer(BaseModel):
    nodes: dict[str, str]  # node -> "draining" | "deleting"


class BurstLog(BaseModel):
    decisions: list[Decision]  # oldest first


class TemplateList(BaseModel):
    templates: list[JobTemplate]


class SubmitAnswer(Job):
    """POST /api/jobs: the job, plus what a job XML asked for that is not supported (ignored)."""

    warnings: list[str] = Field(default_factory=list)


class ServiceList(BaseModel):
    services: list[ServiceRegistration]


class SessionList(BaseModel):
    sessions: list[SessionView]
