"""SOA sessions as burst demand: per pool, the service hosts its open sessions' backlogs justify and they do
not have yet, one slot each (``BurstState.soa_slots``), so a session short of hosts grows the pool as
queued indices do."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hpcburst.domain.soa.allocation import SessionDemand, wanted_units


def slots_wanted(demands: Iterable[SessionDemand]) -> int:
    """Hosts wanted beyond those allocated, summed over the sessions (a session above its want adds none)."""
    return sum(max(0, wanted_units(d) - d.units) for d in demands)


def soa_demand_of(demands: Callable[[str], Iterable[SessionDemand]]) -> Callable[[str], int]:
    """The burst controller's ``soa_demand`` (pool -> slots) from the broker's ``demands(pool)``."""
    return lambda pool: slots_wanted(demands(pool))


def no_soa_demand(pool: str) -> int:
    """The default before a broker is wired: no session wants a host."""
    return 0
