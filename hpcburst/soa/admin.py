"""Registered services through the cluster's API: register (admins), list, show, remove (admins).

A mixin of ``hpcburst.soa.Client``: ``client.register_service("echo", module="echo_service")``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hpcburst.domain.soa.models import ServiceRegistration
from hpcburst.soa.http import items, validated


class ServiceAdmin:
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:  # provided by the Client
        raise NotImplementedError

    def register_service(self, name: str, module: str, **fields: Any) -> ServiceRegistration:
        """Store (or replace) a registration; ``fields``: package, operation_timeout, resend_limit,
        max_concurrent, init_timeout, environment (see ``ServiceRegistration``). Admins only."""
        spec = validated(ServiceRegistration, {"name": name, "module": module, **fields}, "service")
        body = spec.model_dump(mode="json", exclude={"registered_by", "registered_at"})
        return ServiceRegistration.model_validate(self._call("POST", "/api/services", json=body))

    def services(self) -> list[ServiceRegistration]:
        return [
            ServiceRegistration.model_validate(s)
            for s in items(self._call("GET", "/api/services"), "services")
        ]

    def service(self, name: str) -> ServiceRegistration:
        return ServiceRegistration.model_validate(self._call("GET", f"/api/services/{quote(name, safe='')}"))

    def remove_service(self, name: str) -> None:
        """Remove a registration (admins); sessions of it that are open are ended by the cluster."""
        self._call("DELETE", f"/api/services/{quote(name, safe='')}")
