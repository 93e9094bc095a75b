"""The Function App's requirements.txt is pyproject.toml's runtime dependencies, pinned, and .funcignore keeps
everything else out of the package Azure builds."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _requirements_txt() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line) for line in (raw.split("#")[0].strip() for raw in lines) if line]
    return {canonicalize_name(r.name): r for r in reqs}


def _pyproject() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def test_requirements_txt_names_exactly_the_runtime_dependencies() -> None:
    assert sorted(_requirements_txt()) == sorted(_pyproject())


def test_every_requirement_is_one_exact_pin_inside_pyprojects_range() -> None:
    declared = _pyproject()
    for name, pinned in _requirements_txt().items():
        [spec] = list(pinned.specifier)
        assert spec.operator == "==", f"{name}: pin one version ({pinned})"
        assert declared[name].specifier.contains(spec.version), f"{name}=={spec.version} vs {declared[name]}"
        assert pinned.extras == declared[name].extras, f"{name}: extras differ from pyproject.toml"


def test_funcignore_keeps_tests_benches_and_local_tooling_out_of_the_package() -> None:
    ignored = {line.strip() for line in (ROOT / ".funcignore").read_text().splitlines()}
    for path in ("tests/", "bench/", "node_modules/", ".venv/", "docs/", "examples/", "scripts/", "infra/"):
        assert path in ignored, f".funcignore should list {path}"
    for shipped in ("function_app.py", "host.json", "requirements.txt", "hpcburst/", "functions/"):
        assert shipped not in ignored


def _package_module():
    spec = importlib.util.spec_from_file_location("infra_package", ROOT / "infra" / "package.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_ships_the_app_and_leaves_out_what_funcignore_lists() -> None:
    package = _package_module()
    paths = ["function_app.py", "host.json", "requirements.txt", "hpcburst/settings.py", "functions/auth.py",
             "orchestrations/activities.py", "nodeagent/launch.c", "hpcburst/sim/traces/a.csv",
             "tests/conftest.py", "bench/sweep.py", "docs/soa.md", "README.md", "infra/azuredeploy.json",
             "node_modules/x/index.js", ".venv/bin/python", "hpcburst/__pycache__/x.pyc", "pyproject.toml",
             "local.settings.json.example", "scripts/setup", ".ci/run", ".gitignore"]  # fmt: skip
    shipped = package.shipped(paths, (ROOT / ".funcignore").read_text())
    assert shipped == sorted(paths[:8])
