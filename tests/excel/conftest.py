"""The excel tests' fixtures: the e2e module's local cluster (``tests/e2e/conftest.py``), borrowed as is, and
the Python the cluster's tasks run with.

Agents running as root run tasks as an unprivileged account, which cannot reach this venv's interpreter
(under /root). Its tasks get the system's ``python3`` of the same minor version, with this venv's
site-packages and the source tree on PYTHONPATH (copied to the cluster's directory when the account cannot
read them where they are), as a deployment ships hpcburst[excel] to its nodes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

_E2E = Path(__file__).parents[1] / "e2e" / "conftest.py"
_spec = importlib.util.spec_from_file_location("excel_borrowed_e2e_fixtures", _E2E)
assert _spec and _spec.loader
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
cluster_dir, cluster, scheduler = _e2e.cluster_dir, _e2e.cluster, _e2e.scheduler

REPO = Path(__file__).parents[2]


def reachable_by_others(path: Path) -> bool:
    """Every directory on the way is o+x and the path itself o+r."""
    parts = [path, *path.parents]
    return all(p.stat().st_mode & stat.S_IXOTH for p in parts if p.is_dir()) and bool(
        path.stat().st_mode & stat.S_IROTH
    )


@pytest.fixture(scope="module")
def task_python(cluster_dir: Path) -> tuple[str, dict[str, str]]:
    """(interpreter, environment) for the cluster's excel tasks."""
    if os.geteuid() != 0:
        return sys.executable, {}
    system = "/usr/bin/python3"
    version = subprocess.run(
        [system, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    if version.returncode != 0 or version.stdout.strip() != str(tuple(sys.version_info[:2])):
        pytest.skip(f"tasks run as an unprivileged account and {system} is not Python {sys.version_info[:2]}")
    site, source = Path(sysconfig.get_paths()["purelib"]), REPO
    if not (reachable_by_others(site) and reachable_by_others(REPO / "hpcburst")):
        shipped = cluster_dir / "task-python"
        site, source = shipped / "site-packages", shipped / "src"
        if not shipped.exists():
            shutil.copytree(sysconfig.get_paths()["purelib"], site, symlinks=True)
            shutil.copytree(
                REPO / "hpcburst", source / "hpcburst", ignore=shutil.ignore_patterns("__pycache__")
            )
            for root, dirs, files in os.walk(shipped):
                for name in dirs + files:
                    os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
            shipped.chmod(0o755)
    return system, {"PYTHONPATH": f"{source}:{site}", "PYTHONNOUSERSITE": "1"}
