"""How many service hosts each session gets, and which session takes a free slot (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass

from hpcburst.domain.states import Priority


@dataclass(frozen=True)
class SessionDemand:
    session: str
    pool: str
    priority: Priority
    created_at: float
    min_units: int
    max_units: int | None
    backlog: int  # requests pending or in flight
    per_host: int  # requests one host holds at once (max_concurrent plus prefetch)
    units: int  # hosts allocated now (starting or ready)
