"""Which Durable functions an app declares: orchestrators, activities and entities, by name.

Built once from the Function objects ``app.get_functions()`` returned (the host calls it once; a second call
raises in azure-functions), so the engine never imports or indexes the app itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..catalog import ACTIVITY, ENTITY, ORCHESTRATION


@dataclass(frozen=True)
class OrchestratorSpec:
    name: str
    function: Callable[..., Any]  # the user's generator function (the wrapper's .orchestrator_function)
    input_type: type | None = None


@dataclass(frozen=True)
class ActivitySpec:
    name: str
    function: Callable[..., Any]
    binding_name: str  # the parameter the activity trigger binds its input to
    is_async: bool


@dataclass(frozen=True)
class EntitySpec:
    name: str
    handle: Callable[[str], str]  # the SDK wrapper: entity context JSON in, entity state JSON out


@dataclass
class DurableRegistry:
    orchestrators: dict[str, OrchestratorSpec] = field(default_factory=dict)
    activities: dict[str, ActivitySpec] = field(default_factory=dict)
    entities: dict[str, EntitySpec] = field(default_factory=dict)  # keyed by lower-cased name

    @classmethod
    def from_functions(cls, functions: Iterable[Any]) -> DurableRegistry:
        """Classify the app's Function objects; functions with other triggers are ignored."""
        registry = cls()
        for function in functions:
            trigger = function.get_trigger()
            kind = getattr(trigger, "type", None)
            name = function.get_function_name()
            user = function.get_user_function()
            if kind == ORCHESTRATION:
                original = getattr(user, "orchestrator_function", user)
                input_type = getattr(user, "_df_input_type", None)
                registry.add_orchestrator(OrchestratorSpec(name, original, input_type))
            elif kind == ACTIVITY:
                registry.add_activity(name, user, trigger.name)
            elif kind == ENTITY:
                registry.entities[name.lower()] = EntitySpec(name, user)
        return registry

    def add_orchestrator(self, spec: OrchestratorSpec) -> None:
        self.orchestrators[spec.name] = spec

    def add_activity(self, name: str, function: Callable[..., Any], binding_name: str) -> None:
        is_async = inspect.iscoroutinefunction(function)
        self.activities[name] = ActivitySpec(name, function, binding_name, is_async)

    def entity(self, name: str) -> EntitySpec | None:
        return self.entities.get(name.lower())
