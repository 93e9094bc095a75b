"""Services and sessions as users register, start and see them (pure pydantic, no I/O)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hpcburst.domain.states import Priority

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"


class ServiceRegistration(BaseModel):
    """``hpcburst service register NAME --module MOD --package PKG ...`` (admins only, as HPC Pack's
    service configuration files were the head node administrator's)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    module: str = Field(pattern=MODULE_PATTERN, max_length=200, description="imported once per host")
    package: str | None = Field(
        default=None,
        pattern=NAME_PATTERN,
        description="hpcburst package that holds the module; None: the module is importable on the nodes",
    )
    operation_timeout: float = Field(default=3600.0, gt=0, le=7 * 86400, description="seconds per call")
    resend_limit: int = Field(default=3, ge=1, le=100, description="attempts before a request is a fault")
    max_concurrent: int = Field(default=1, ge=1, le=1024, description="calls one host runs at once")
    init_timeout: float = Field(default=60.0, gt=0, le=3600, description="seconds a host may take to import")
    environment: dict[str, str] = Field(default_factory=dict)
    registered_by: str | None = None
    registered_at: float | None = None


class SessionState(StrEnum):
    ACTIVE = "Active"  # accepting requests (hosts may still be starting)
    CLOSING = "Closing"  # close asked: no new requests; hosts stop; purge runs
    CLOSED = "Closed"  # ended; a durable session's responses stay until acknowledged, purged or the TTL
    FAULTED = "Faulted"  # ended by the system (an interactive session's broker restarted, service removed)


class SessionStartInfo(BaseModel):
    """The body of ``POST /api/sessions`` (``hpcburst.soa.SessionStartInfo`` in the SDK).

    Timeouts as HPC Pack's: ``client_idle_timeout`` is how long a client may make no call before it counts
    as gone (an interactive session whose clients are all gone closes); ``session_idle_timeout`` is how long
    a durable session with no client and no request left to answer stays open."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(pattern=NAME_PATTERN)
    durable: bool = False
    min_units: int = Field(default=1, ge=0, le=100_000, description="hosts kept even with no backlog")
    max_units: int | None = Field(default=None, ge=1, le=100_000, description="None: as the backlog needs")
    priority: Priority = Priority.NORMAL
    pool: str = Field(default="default", min_length=1, max_length=100, pattern=NAME_PATTERN)
    client_idle_timeout: float = Field(default=300.0, gt=0, le=7 * 86400)
    session_idle_timeout: float = Field(default=300.0, gt=0, le=30 * 86400)
    response_ttl: float = Field(default=86400.0, gt=0, le=90 * 86400, description="durable responses kept")
    environment: dict[str, str] = Field(default_factory=dict, description="added to the service's")

    @model_validator(mode="after")
    def _units_in_order(self) -> SessionStartInfo:
        if self.max_units is not None and self.max_units < self.min_units:
            raise ValueError(f"max_units ({self.max_units}) is below min_units ({self.min_units})")
        return self


class SessionCounts(BaseModel):
    submitted: int = 0  # accepted requests, duplicates not counted
    pending: int = 0  # waiting for a host
    in_flight: int = 0  # on a host now
    answered: int = 0  # responses stored (faults included), acknowledged or not
    faulted: int = 0
    acknowledged: int = 0


class SessionView(BaseModel):
    """``GET /api/sessions/{id}``, ``session.status()`` and ``hpcburst session view``."""

    id: str
    service: str
    owner: str
    state: SessionState
    durable: bool
    priority: Priority
    pool: str
    created_at: float
    closed_at: float | None = None
    reason: str | None = None  # why it closed or faulted
    min_units: int
    max_units: int | None
    units: int = 0  # hosts allocated now
    target_units: int = 0  # what the broker wants now (backlog, bounds and fair share)
    clients: list[str] = Field(default_factory=list)  # client ids seen and not idle
    counts: SessionCounts = Field(default_factory=SessionCounts)
    client_idle_timeout: float
    session_idle_timeout: float
    response_ttl: float


class SessionRecord(SessionStartInfo):
    """The stored session (``sessions`` container, pk = id, id "session"): what was asked, plus who and when."""

    model_config = ConfigDict(extra="ignore")

    id: str
    owner: str
    state: SessionState = SessionState.ACTIVE
    created_at: float
    closed_at: float | None = None
    reason: str | None = None
    last_client_call: float | None = None  # written by the orchestration's tick, not per call
    data: dict[str, bool] = Field(
        default_factory=dict
    )  # published common data: blob name -> keep after the end
