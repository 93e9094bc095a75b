"""Service registrations (``services`` container, pk "services", id = service name): admins register,
update and remove them; any user lists and shows them."""

from __future__ import annotations

import time
from collections.abc import Callable

from hpcburst import constants as c
from hpcburst.domain.soa.models import ServiceRegistration
from hpcburst.errors import InvalidState, NotFound
from hpcburst.storage.state.port import StateStore, query_all


class ServiceRegistry:
    def __init__(self, store: StateStore, clock: Callable[[], float] = time.time) -> None:
        self._store, self._clock = store, clock

    def register(self, registration: ServiceRegistration, by: str) -> ServiceRegistration:
        """Add or replace a registration (sessions already open keep the one they started with)."""
        stored = registration.model_copy(update={"registered_by": by, "registered_at": self._clock()})
        self._store.upsert(c.SERVICES, c.SERVICES, stored.name, stored.model_dump(mode="json"))
        return stored

    def get(self, name: str) -> ServiceRegistration:
        try:
            return ServiceRegistration.model_validate(self._store.get(c.SERVICES, c.SERVICES, name).body)
        except NotFound:
            raise NotFound(f"no service {name!r}; `hpcburst service list` shows them", service=name) from None

    def list_services(self) -> list[ServiceRegistration]:
        found = query_all(self._store, c.SERVICES, partition=c.SERVICES)
        return sorted((ServiceRegistration.model_validate(d.body) for d in found), key=lambda r: r.name)

    def remove(self, name: str, open_sessions: Callable[[str], list[str]]) -> ServiceRegistration:
        """Remove a registration; InvalidState (409) while ``open_sessions(name)`` names sessions using it."""
        registration = self.get(name)
        using = open_sessions(name)
        if using:
            shown = ", ".join(using[:5])
            raise InvalidState(
                f"service {name!r} is used by open sessions ({shown}); close them first "
                f"(`hpcburst session close ID`)",
                sessions=using[:20],
            )
        self._store.delete(c.SERVICES, c.SERVICES, name)
        return registration
