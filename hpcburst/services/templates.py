"""Job templates: create, list, show, delete (admins), and the template a submit runs under.

A template named ``Default`` applies to jobs that name none; until an admin creates one it is empty.
Naming a template that does not exist is a 400, so a typo never silently drops a limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hpcburst import constants as c
from hpcburst.domain.job import JobSpec
from hpcburst.domain.template import DEFAULT_TEMPLATE, JobTemplate, TemplateSpec, apply_template, empty
from hpcburst.errors import Conflict, InvalidSpec, NotFound
from hpcburst.storage.state.port import StateStore, query_all


class TemplateService:
    def __init__(self, store: StateStore, clock: Callable[[], float] = time.time) -> None:
        self._store, self._clock = store, clock

    def create(self, name: str, spec: TemplateSpec) -> JobTemplate:
        template = JobTemplate(name=name, created_at=self._clock(), **spec.model_dump())
        try:
            self._store.create(c.TEMPLATES, c.TEMPLATES, name, template.model_dump(mode="json"))
        except Conflict:
            raise Conflict(
                f"template {name!r} exists; delete it first (`hpcburst template delete {name}`)"
            ) from None
        return template

    def get(self, name: str) -> JobTemplate:
        try:
            return JobTemplate.model_validate(self._store.get(c.TEMPLATES, c.TEMPLATES, name).body)
        except NotFound:
            if name == DEFAULT_TEMPLATE:
                return empty()
            raise NotFound(f"no template {name!r}; `hpcburst template list` shows them") from None

    def list_templates(self) -> list[JobTemplate]:
        stored = [
            JobTemplate.model_validate(d.body)
            for d in query_all(self._store, c.TEMPLATES, partition=c.TEMPLATES)
        ]
        if all(t.name != DEFAULT_TEMPLATE for t in stored):
            stored.append(empty())
        return sorted(stored, key=lambda t: t.name)

    def delete(self, name: str) -> JobTemplate:
        template = self.get(name)
        try:
            self._store.delete(c.TEMPLATES, c.TEMPLATES, name)
        except NotFound:
            if name != DEFAULT_TEMPLATE:
                raise
        return template

    def applied(self, spec: JobSpec) -> JobSpec:
        """The job under its template (defaults filled, limits checked); InvalidSpec naming what breaks."""
        name = spec.template or DEFAULT_TEMPLATE
        try:
            template = self.get(name)
        except NotFound as e:
            raise InvalidSpec(e.message, field="template") from None
        return apply_template(spec, template)
