"""A UDF module as the cluster runs it: found on disk, imported here, packaged, registered as a service.

The package and the service are both named ``excel-udf-<hash>``, the hash of the module's files: the same code
is uploaded and registered once (by the first admin who runs it, or ``hpcburst excel register-udfs``), and
anyone may then calculate with it; changed code is a new name, so a session never runs stale UDFs.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from hpcburst.errors import Forbidden, InvalidSpec, NotFound
from hpcburst.excel.udf import udfs_of
from hpcburst.excel.udf_service import SERVICE_MODULE

PREFIX = "excel-udf-"
_SKIPPED = ("__pycache__", ".pyc", ".pyo")


@dataclass(frozen=True)
class UdfModule:
    """``name``: what hosts import; ``root``: the directory put on ``sys.path``; ``files``: what travels."""

    name: str
    root: Path
    files: tuple[Path, ...]

    @classmethod
    def find(cls, spec: str) -> UdfModule:
        """``spec``: a ``.py`` file, a package directory, or a module name importable from here."""
        path = Path(spec)
        if path.suffix == ".py" and path.is_file():
            return cls(path.stem, path.resolve().parent, (path.resolve(),))
        if path.is_dir() and (path / "__init__.py").is_file():
            return cls._package(path.resolve())
        top = spec.split(".")[0]
        found = None
        if top.isidentifier():
            sys.path.insert(0, str(Path.cwd()))
            try:
                found = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                found = None
            finally:
                sys.path.remove(str(Path.cwd()))
        if found is None or not found.origin or not Path(found.origin).is_file():
            raise InvalidSpec(f"--udfs {spec}: no such .py file, package directory or importable module",
                              field="udfs")  # fmt: skip
        origin = Path(found.origin).resolve()
        if origin.name == "__init__.py":
            return cls._package(origin.parent, spec)
        return cls(spec, origin.parent, (origin,))

    @classmethod
    def _package(cls, directory: Path, name: str | None = None) -> UdfModule:
        files = sorted(
            p for p in directory.rglob("*") if p.is_file() and not any(s in str(p) for s in _SKIPPED)
        )
        return cls(name or directory.name, directory.parent, tuple(files))

    @cached_property
    def digest(self) -> str:
        h = hashlib.sha256(self.name.encode())
        for file in self.files:
            h.update(b"\0" + str(file.relative_to(self.root)).encode() + b"\0" + file.read_bytes())
        return h.hexdigest()

    @property
    def service(self) -> str:
        """The package's and the service's name."""
        return f"{PREFIX}{self.digest[:16]}"

    def load(self) -> dict[str, Callable[..., Any]]:
        """Import the module here (for the book's check, and ``--local``); its UDFs by Excel name."""
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        try:
            udfs = udfs_of(importlib.import_module(self.name))
        except Exception as e:  # noqa: BLE001 - the author's import failing is their error, in one line
            raise InvalidSpec(f"--udfs {self.name}: importing it failed: {type(e).__name__}: {e}") from None
        if not udfs:
            raise InvalidSpec(f"--udfs {self.name}: no function is marked @hpcburst.excel.udf", field="udfs")
        return udfs

    def archive(self, directory: Path) -> Path:
        """The package zip (its files at their paths under ``root``), written in ``directory``."""
        from hpcburst.data.packages import create_package

        staging = directory / "package"
        for file in self.files:
            target = staging / file.relative_to(self.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
        return create_package(self.service, staging, directory / f"{self.service}.zip")


def deploy(client: Any, store: Any, module: UdfModule, admin_hint: str) -> str:
    """The service running ``module``: reused if registered, else packaged, uploaded and registered (admins).
    ``client`` is an ``hpcburst.soa.Client``, ``store`` the blob store packages live in."""
    from hpcburst.data.packages import list_packages, upload_package

    name = module.service
    try:
        client.service(name)
        return name
    except NotFound:
        pass
    refusal = Forbidden(
        f"these UDFs ({module.name}) are not registered on the cluster yet, and registering a service "
        f"takes an admin: ask one to run `{admin_hint}` once, then run this again"
    )
    if not client._call("GET", "/api/whoami").get("admin"):  # before touching storage a user may not reach
        raise refusal
    if not list_packages(store, name):
        with tempfile.TemporaryDirectory(prefix="hpcburst-udf-") as tmp:
            upload_package(store, name, module.archive(Path(tmp)))
    try:
        client.register_service(name, module=SERVICE_MODULE, package=name, resend_limit=2)
    except Forbidden:
        raise refusal from None
    return name
