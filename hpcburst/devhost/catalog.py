"""The indexed functions of an app: what triggers each one, which bindings it has, how `func start` lists it.

Pure code over the SDK's ``Function`` objects (their function.json dicts). Unsupported triggers or
bindings are a ConfigError at start, never a silent ``None`` argument later.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from azure.functions.decorators.utils import StringifyEnumJsonEncoder

from hpcburst.errors import ConfigError

HTTP, QUEUE, TIMER = "httpTrigger", "queueTrigger", "timerTrigger"
ORCHESTRATION, ACTIVITY, ENTITY = "orchestrationTrigger", "activityTrigger", "entityTrigger"
DURABLE_TRIGGERS = (ORCHESTRATION, ACTIVITY, ENTITY)
SUPPORTED_TRIGGERS = (HTTP, QUEUE, TIMER, *DURABLE_TRIGGERS)
DURABLE_CLIENT = "durableClient"
# (direction, type) of the non-trigger bindings the devhost fills or collects.
SUPPORTED_BINDINGS = {("IN", DURABLE_CLIENT), ("OUT", "http"), ("OUT", "queue")}


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    trigger: dict[str, Any]  # the trigger's function.json entry
    bindings: tuple[dict[str, Any], ...]  # the other entries (inputs and outputs)
    handler: Callable[..., Any]  # what the worker calls (the DF wrapper for durable functions)
    sdk_function: Any  # the SDK Function object (the Durable engine's registry reads these)

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    def bindings_of(self, direction: str, kind: str) -> list[dict[str, Any]]:
        return [b for b in self.bindings if b["direction"] == direction and b["type"] == kind]

    @property
    def auth_level(self) -> str:
        return str(self.trigger.get("authLevel") or "function").lower()

    @property
    def methods(self) -> list[str] | None:
        methods = self.trigger.get("methods")
        return [str(m).upper() for m in methods] if methods else None

    def annotation(self, param: str) -> Any:
        """The Python annotation of one parameter (``inspect.Parameter.empty`` if none)."""
        try:
            signature = inspect.signature(self.handler)
        except (TypeError, ValueError):
            return inspect.Parameter.empty
        found = signature.parameters.get(param)
        return found.annotation if found else inspect.Parameter.empty

    def parameters(self) -> list[str]:
        return list(inspect.signature(self.handler).parameters)


def _entries(function: Any) -> list[dict[str, Any]]:
    raw = json.loads(json.dumps(function.get_dict_repr(), cls=StringifyEnumJsonEncoder))
    return list(raw["bindings"])


def index_functions(functions: Iterable[Any]) -> list[FunctionSpec]:
    """FunctionSpecs for the SDK's indexed functions; a ConfigError for what the devhost cannot run."""
    specs: list[FunctionSpec] = []
    for function in functions:
        name = function.get_function_name()
        entries = _entries(function)
        trigger_entry = function.get_trigger().get_dict_repr()
        trigger = next(
            e for e in entries if e["name"] == trigger_entry["name"] and e["type"].endswith("Trigger")
        )
        others = tuple(e for e in entries if e is not trigger)
        if trigger["type"] not in SUPPORTED_TRIGGERS:
            raise ConfigError(
                f"function {name!r}: the {trigger['type']} trigger is not supported by hpcburst devhost "
                f"(supported: {', '.join(SUPPORTED_TRIGGERS)})"
            )
        for binding in others:
            if (binding["direction"], binding["type"]) not in SUPPORTED_BINDINGS:
                raise ConfigError(
                    f"function {name!r}: the {binding['direction'].lower()}put binding {binding['type']!r} "
                    f"({binding['name']}) is not supported by hpcburst devhost: use the storage ports instead"
                )
        specs.append(FunctionSpec(name, trigger, others, function.get_user_function(), function))
    return specs


def describe(spec: FunctionSpec, base_url: str, route_prefix: str) -> str:
    """One line of the function listing, as `func start` prints it."""
    if spec.trigger_type == HTTP:
        methods = ",".join(spec.methods) if spec.methods else "GET,POST,DELETE,HEAD,PATCH,PUT,OPTIONS"
        path = "/".join(
            p for p in (route_prefix, str(spec.trigger.get("route") or spec.name).strip("/")) if p
        )
        return f"{spec.name}: [{methods}] {base_url}/{path}"
    return f"{spec.name}: {spec.trigger_type}"
