"""The runtime (``hpcburst.devhost``) ships to the Function App and imports nothing from the CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hpcburst.devhost

DEVHOST = Path(hpcburst.devhost.__file__).parent


def _imported_modules(source: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_devhost_module_names_the_cli_in_an_import() -> None:
    offenders = {
        str(path.relative_to(DEVHOST)): sorted(
            n for n in _imported_modules(path) if n.startswith("hpcburst.cli")
        )
        for path in sorted(DEVHOST.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_devhost_module_loads_no_cli_module() -> None:
    probe = (
        "import importlib, pkgutil, sys\n"
        "import hpcburst.devhost as d\n"
        "for m in pkgutil.walk_packages(d.__path__, 'hpcburst.devhost.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if k == 'hpcburst.cli' or k.startswith('hpcburst.cli.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
