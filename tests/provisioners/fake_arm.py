"""A fake Azure Resource Manager for the Compute virtualMachines API, served through azure-core's transport
seam (``FakeArmTransport``): no account, no network, no sleeping.

Responses follow the REST API's published examples: a PUT answers 201 with the VM and an
``Azure-AsyncOperation`` header; the operation reads ``InProgress`` once, then ``Succeeded`` (or ``Failed``
with an error); a DELETE answers 202 with ``Azure-AsyncOperation`` and ``Location``; errors are
``{"error": {"code", "message"}}``; throttling is 429 with ``Retry-After``.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict

ARM = "https://management.azure.com"
VM_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/virtualMachines"
    r"(/(?P<name>[^/]+))?$"
)
OPERATION_PATH = re.compile(
    r"^/subscriptions/[^/]+/providers/Microsoft\.Compute/locations/[^/]+/operations/(?P<id>.+)$"
)

ALLOCATION_FAILED = (
    "Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more "
    "about improving likelihood of allocation success at http://aka.ms/allocation-guidance"
)
SKU_NOT_AVAILABLE = (
    "The requested size for resource '{id}' is currently not available in location '{location}' zones '' for "
    "subscription '{sub}'. Please try another size or deploy to a different location or zones. See "
    "https://aka.ms/azureskunotavailable for details."
)
THROTTLED = (
    "The request is being throttled as the limit has been reached for operation type - Write_30Min. For more "
    "information, see - https://aka.ms/throttling"
)


class StaticCredential:
    """A TokenCredential that hands out a fixed bearer token (no Microsoft Entra call)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("fake-arm-token", 4_102_444_800)


@dataclass
class Clock:
    """The shared fake clock (epoch seconds) of a test: the fake ARM stamps timeCreated with it."""

    now: float = 1_800_000_000.0


@dataclass
class _Operation:
    location: str
    vm: str
    kind: str  # "create" | "delete"
    polls: int = 0
    error: dict[str, str] | None = None


@dataclass
class FakeArm:
    """VM state and the knobs a test turns: ``throttle`` (429s left to return), ``sync_error`` (a 409 body code
    the next PUTs get), ``async_error`` (the error code creates fail with, after polling)."""

    clock: Clock = field(default_factory=Clock)
    vms: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    operations: dict[str, _Operation] = field(default_factory=dict)
    throttle: int = 0
    retry_after: str = "17"
    sync_error: tuple[int, str] | None = None
    async_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)  # pollers run on their own threads

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            return self._handle(method, url, headers, body)

    def _handle(
        self, method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> tuple[int, dict[str, str], Any]:
        self.requests.append((method, url, body))
        if not headers.get("Authorization", "").startswith("Bearer "):
            return _error(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            )
        if self.throttle:
            self.throttle -= 1
            return _error(429, "TooManyRequests", THROTTLED, {"Retry-After": self.retry_after})
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if "api-version" not in query:
            return _error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        if op := OPERATION_PATH.match(parts.path):
            return self._operation(op["id"], monitor="monitor" in query)
        match = VM_PATH.match(parts.path)
        if match is None:
            return _error(404, "InvalidResourceType", f"no route for {parts.path}")
        if match["name"] is None and method == "GET":
            return self._list(query)
        return self._vm(method, match["sub"], match["name"], body)

    def evict(self, name: str) -> None:
        """A Spot eviction under the Deallocate policy: the VM stays, stopped."""
        self.vms[name]["properties"]["instanceView"]["statuses"][1]["code"] = "PowerState/deallocated"

    def _vm(
        self, method: str, sub: str, name: str, body: dict[str, Any] | None
    ) -> tuple[int, dict[str, str], Any]:
        if method == "PUT" and body is not None:
            return self._put(sub, name, body)
        vm = self.vms.get(name)
        if vm is None:
            if method == "DELETE":
                return 204, {}, None
            return _error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Compute/virtualMachines/{name}' was not found.",
            )
        if method == "DELETE":
            vm["properties"]["provisioningState"] = "Deleting"
            headers = self._start(sub, vm["location"], name, "delete")
            return 202, headers, None
        return 200, {}, _public(vm)

    def _put(self, sub: str, name: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        location = body["location"]
        if self.sync_error is not None:
            status, code = self.sync_error
            vm_id = (
                f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}"
            )
            return _error(status, code, SKU_NOT_AVAILABLE.format(id=vm_id, location=location, sub=sub))
        vm = json.loads(json.dumps(body))
        vm.update(name=name, type="Microsoft.Compute/virtualMachines", id=f"{_rg_prefix(body)}/{name}")
        vm["properties"].update(
            provisioningState="Creating",
            vmId=str(uuid.uuid4()),
            timeCreated=datetime.fromtimestamp(self.clock.now, UTC).isoformat(),
            instanceView={
                "statuses": [{"code": "ProvisioningState/creating"}, {"code": "PowerState/starting"}]
            },
        )
        self.vms[name] = vm
        headers = self._start(sub, location, name, "create")
        return 201, headers, _public(vm)

    def _start(self, sub: str, location: str, vm: str, kind: str) -> dict[str, str]:
        op_id = str(uuid.uuid4())
        self.operations[op_id] = _Operation(location, vm, kind, error=self._async_failure(kind))
        op_url = (
            f"{ARM}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/operations/{op_id}"
        )
        headers = {"Azure-AsyncOperation": f"{op_url}?p=1&api-version=2024-07-01"}
        if kind == "delete":
            headers["Location"] = f"{op_url}?p=1&monitor=true&api-version=2024-07-01"
        return headers

    def _async_failure(self, kind: str) -> dict[str, str] | None:
        if kind == "create" and self.async_error:
            return {"code": self.async_error, "message": ALLOCATION_FAILED}
        return None

    def _operation(self, op_id: str, monitor: bool) -> tuple[int, dict[str, str], Any]:
        op = self.operations[op_id]
        if monitor:  # the delete's Location: 200, no body, once the operation ended
            return 200, {}, None
        op.polls += 1
        started = {"startTime": datetime.fromtimestamp(self.clock.now, UTC).isoformat(), "name": op_id}
        if op.polls == 1:
            return 200, {}, {**started, "status": "InProgress"}
        self._finish(op)
        if op.error:
            return 200, {}, {**started, "status": "Failed", "error": op.error}
        return 200, {}, {**started, "status": "Succeeded"}

    def _finish(self, op: _Operation) -> None:
        vm = self.vms.get(op.vm)
        if vm is None:
            return
        if op.kind == "delete":
            del self.vms[op.vm]
            return
        statuses = vm["properties"]["instanceView"]["statuses"]
        ok = op.error is None
        vm["properties"]["provisioningState"] = "Succeeded" if ok else "Failed"
        statuses[0]["code"] = "ProvisioningState/succeeded" if ok else "ProvisioningState/failed"
        if statuses[1]["code"] == "PowerState/starting":
            statuses[1]["code"] = "PowerState/running" if ok else "PowerState/stopped"

    def _list(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        wanted = re.fullmatch(r"'virtualMachineScaleSet/id' eq '(.+)'", query.get("$filter", ""))
        if wanted is None:
            return _error(400, "InvalidParameter", "The $filter must name a virtualMachineScaleSet/id.")
        in_set = [
            vm
            for vm in self.vms.values()
            if vm["properties"]["virtualMachineScaleSet"]["id"].lower() == wanted[1].lower()
        ]
        expand = query.get("$expand") == "instanceView"
        return 200, {}, {"value": [_public(vm, instance_view=expand) for vm in in_set]}


def _rg_prefix(body: dict[str, Any]) -> str:
    set_id: str = body["properties"]["virtualMachineScaleSet"]["id"]
    return set_id.split("/providers/")[0] + "/providers/Microsoft.Compute/virtualMachines"


def _public(vm: dict[str, Any], instance_view: bool = False) -> dict[str, Any]:
    """A VM as ARM returns it: customData is never echoed; instanceView only when expanded."""
    copy = json.loads(json.dumps(vm))
    copy["properties"]["osProfile"].pop("customData", None)
    if not instance_view:
        copy["properties"].pop("instanceView", None)
    return copy


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    return status, headers or {}, {"error": {"code": code, "message": message}}


class FakeArmTransport(HttpTransport):  # type: ignore[type-arg]
    """azure-core's transport seam: every request the SDK sends is answered by a FakeArm; sleeps are
    recorded, not slept."""

    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm
        self.sleeps: list[float] = []

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        body = json.loads(request.content) if request.content else None
        status, headers, payload = self.arm.handle(request.method, request.url, dict(request.headers), body)
        content = json.dumps(payload).encode() if payload is not None else b""
        response = HttpResponseImpl(
            request=request,
            internal_response=io.BytesIO(content),
            status_code=status,
            reason="",
            content_type="application/json",
            headers=case_insensitive_dict({"Content-Type": "application/json", **headers}),
            stream_download_generator=None,
        )
        response._content = content  # noqa: SLF001 - the body is already in memory
        return response

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeArmTransport:
        return self

    def __exit__(self, *args: object) -> None:
        pass
