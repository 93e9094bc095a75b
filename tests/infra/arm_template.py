"""Reading infra/azuredeploy.json the way the tests need it: resources (nested deployments too), app settings,
role assignments, and a light check of ARM expressions (balanced, naming only declared parameters/variables)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "infra" / "azuredeploy.json"

_NAMED = re.compile(r"\b(parameters|variables)\('([^']+)'\)")


def load() -> dict[str, Any]:
    return json.loads(TEMPLATE_PATH.read_text())


def resources(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every resource, including those of nested deployments (depth first)."""
    for resource in template.get("resources", []):
        yield resource
        inner = resource.get("properties", {}).get("template")
        if resource["type"] == "Microsoft.Resources/deployments" and inner:
            yield from resources(inner)


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources(template) if r["type"] == kind]


def function_app(template: dict[str, Any]) -> dict[str, Any]:
    [site] = of_type(template, "Microsoft.Web/sites")
    return site


def app_settings(template: dict[str, Any]) -> dict[str, str]:
    pairs = function_app(template)["properties"]["siteConfig"]["appSettings"]
    return {pair["name"]: pair["value"] for pair in pairs}


def strings(node: Any) -> Iterator[str]:
    """Every string in a JSON tree, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def expression_problems(template: dict[str, Any]) -> list[str]:
    """Unbalanced expressions, and parameters/variables named but not declared, in one template (not nested)."""
    problems = []
    declared = {
        "parameters": set(template.get("parameters", {})),
        "variables": set(template.get("variables", {})),
    }
    own = {k: v for k, v in template.items() if k != "resources"}
    own["resources"] = [_without_nested_template(r) for r in template.get("resources", [])]
    for text in strings(own):
        if not (text.startswith("[") and text.endswith("]") and not text.startswith("[[")):
            continue
        body = re.sub(r"'[^']*'", "''", text[1:-1])  # string literals may hold anything
        if body.count("(") != body.count(")") or body.count("[") != body.count("]") or text.count("'") % 2:
            problems.append(f"unbalanced: {text}")
        for kind, name in _NAMED.findall(text):
            if name not in declared[kind]:
                problems.append(f"undeclared {kind} {name!r} in {text}")
    return problems


def _without_nested_template(resource: dict[str, Any]) -> dict[str, Any]:
    if resource["type"] != "Microsoft.Resources/deployments":
        return resource
    properties = {k: v for k, v in resource["properties"].items() if k != "template"}
    return {**resource, "properties": properties}


def nested_templates(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["properties"]["template"] for r in of_type(template, "Microsoft.Resources/deployments")]
