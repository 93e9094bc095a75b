"""A UDF module as the cluster runs it: found and hashed, imported by the generic service, packaged and
registered once per content (admins), and `hpcburst excel calc --local` as the baseline."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from excel_books import write_book
from openpyxl import load_workbook
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.data.packages import list_packages
from hpcburst.domain.soa.models import ServiceRegistration
from hpcburst.errors import Forbidden, InvalidSpec, NotFound
from hpcburst.excel import udf_service
from hpcburst.excel.udf_deploy import UdfModule, deploy
from hpcburst.storage.blob.memory import MemoryBlobStore

UDFS = """import hpcburst.excel

@hpcburst.excel.udf
def triple(x):
    return x * 3

@hpcburst.excel.udf
def kind(x):
    return type(x).__name__
"""


class FakeSoaClient:
    """The registry side of ``hpcburst.soa.Client``: services by name, and whether the caller is an admin."""

    def __init__(self, admin: bool) -> None:
        self.admin = admin
        self.registered: dict[str, ServiceRegistration] = {}

    def service(self, name: str) -> ServiceRegistration:
        if name not in self.registered:
            raise NotFound(f"no service {name}")
        return self.registered[name]

    def register_service(self, name: str, module: str, **fields: Any) -> ServiceRegistration:
        if not self.admin:
            raise Forbidden("admins only")
        self.registered[name] = ServiceRegistration(name=name, module=module, **fields)
        return self.registered[name]

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert (method, path) == ("GET", "/api/whoami")
        return {"name": "ann", "admin": self.admin}


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    path = tmp_path / "udfs_triple.py"
    path.write_text(UDFS)
    return path


def test_a_module_file_travels_alone_and_its_name_follows_its_content(module_file: Path) -> None:
    found = UdfModule.find(str(module_file))
    assert (found.name, found.files) == ("udfs_triple", (module_file.resolve(),))
    assert (
        found.service.startswith("excel-udf-") and UdfModule.find(str(module_file)).service == found.service
    )
    module_file.write_text(UDFS + "# changed\n")
    assert UdfModule.find(str(module_file)).service != found.service


def test_a_package_directory_travels_whole(tmp_path: Path) -> None:
    package = tmp_path / "pricing"
    package.mkdir()
    (package / "__init__.py").write_text("from pricing.models import *\n")
    (package / "models.py").write_text(UDFS)
    found = UdfModule.find(str(package))
    assert found.name == "pricing" and {f.name for f in found.files} == {"__init__.py", "models.py"}
    archive = found.archive(tmp_path)
    assert sorted(zipfile.ZipFile(archive).namelist()) == ["pricing/__init__.py", "pricing/models.py"]


def test_modules_that_are_not_there_or_have_no_udfs_are_refused_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpec, match="no such .py file"):
        UdfModule.find(str(tmp_path / "missing.py"))
    (tmp_path / "no_udfs_here.py").write_text("def f(x):\n    return x\n")
    with pytest.raises(InvalidSpec, match="no function is marked @hpcburst.excel.udf"):
        UdfModule.find(str(tmp_path / "no_udfs_here.py")).load()


def test_the_generic_service_imports_the_module_once_and_calls_udfs_by_name(module_file: Path) -> None:
    sys.path.insert(0, str(module_file.parent))
    try:
        assert udf_service.call("udfs_triple", "TRIPLE", [2]) == [6, None]
        assert udf_service.call("udfs_triple", "KIND", [[[1, 2]]]) == ["tuple", None]  # a range, as locally
        assert udf_service.call("udfs_triple", "TRIPLE", [None]) == [
            "#VALUE!",
            "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'",
        ]
        assert udf_service.call("udfs_triple", "NOPE", [1])[0] == "#NAME?"
    finally:
        sys.path.remove(str(module_file.parent))


def test_an_admin_registers_once_and_anyone_reuses_it(module_file: Path) -> None:
    module, store, admin = UdfModule.find(str(module_file)), MemoryBlobStore(), FakeSoaClient(admin=True)
    name = deploy(admin, store, module, "hpcburst excel register-udfs x.py")
    assert (
        admin.registered[name].module == "hpcburst.excel.udf_service"
        and admin.registered[name].package == name
    )
    assert [r.version for r in list_packages(store, name)] == [1]
    user = FakeSoaClient(admin=False)
    user.registered = admin.registered
    assert deploy(user, store, module, "-") == name
    assert [r.version for r in list_packages(store, name)] == [1]  # nothing uploaded again


def test_a_user_is_told_which_command_an_admin_runs(module_file: Path) -> None:
    store = MemoryBlobStore()
    with pytest.raises(Forbidden, match="takes an admin: ask one to run `hpcburst excel register-udfs u.py`"):
        deploy(
            FakeSoaClient(admin=False),
            store,
            UdfModule.find(str(module_file)),
            "hpcburst excel register-udfs u.py",
        )
    assert list_packages(store) == []


def test_calc_local_writes_the_calculated_book_and_says_what_failed(
    tmp_path: Path, module_file: Path
) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {"A1": 2, "B1": "=TRIPLE(A1)", "C1": '=TRIPLE("x")+1'}})
    result = CliRunner().invoke(app, ["excel", "calc", str(book), "--udfs", str(module_file), "--local"])
    assert result.exit_code == 0, result.output
    assert "2 rounds" in result.output and "1 error cells: S!C1" in result.output
    sheet = load_workbook(tmp_path / "b-calculated.xlsx")["S"]
    assert (sheet["B1"].value, sheet["C1"].value) == (6, "#VALUE!")


def test_calc_refuses_a_book_it_cannot_calculate_without_a_traceback(
    tmp_path: Path, module_file: Path
) -> None:
    book = write_book(tmp_path / "b.xlsx", {"S": {"A1": "=TRIPLE(1)+NOSUCH(2)"}})
    result = CliRunner().invoke(app, ["excel", "calc", str(book), "--udfs", str(module_file), "--local"])
    assert result.exit_code == 1
    assert "NOSUCH in S!A1" in " ".join(result.output.split()) and "Traceback" not in result.output
