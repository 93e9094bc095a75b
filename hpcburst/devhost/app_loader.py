"""Import ``function_app.py`` and index its functions, as the Python worker does for the v2 model.

The app folder goes on ``sys.path`` (so blueprint modules import as they do in Azure); the module is
imported as ``function_app``; exactly one top-level ``FunctionApp``/``DFApp`` must exist. Every failure is
a ``ConfigError`` whose message shows the cause (the import error and where it happened).
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import azure.functions as func

from hpcburst.errors import ConfigError

APP_FILE = "function_app.py"


@dataclass
class LoadedApp:
    app_dir: Path
    module: ModuleType
    app: func.FunctionRegister
    functions: list[func.decorators.function_app.Function]
    added_to_path: bool
    imported: list[str] = field(default_factory=list)  # modules the app's import brought in

    def unload(self) -> None:
        """Forget the app's modules (so another app, or a fresh copy, can be imported in this process)."""
        _forget(self.imported)
        if self.added_to_path and str(self.app_dir) in sys.path:
            sys.path.remove(str(self.app_dir))


def _app_modules(app_dir: Path, before: set[str]) -> list[str]:
    """Modules imported since ``before`` whose files live in the app folder.

    Never the runtime itself or installed packages (a venv inside the app folder), and nothing imported
    before the app (a test module, the caller's own hpcburst): forgetting those would load a second copy
    (e.g. azure.functions, whose classes then fail isinstance checks).
    """
    root = str(app_dir) + "/"
    keep = (sys.prefix + "/", str(Path(__file__).resolve().parents[1]) + "/")
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if name not in before and file.startswith(root) and not file.startswith(keep):
            found.append(name)
    return found


def _forget(names: list[str]) -> None:
    for name in names:
        sys.modules.pop(name, None)


def _where(err: BaseException, app_dir: Path) -> str:
    """``file:line`` of the deepest frame inside the app folder (or the last frame)."""
    frames = traceback.extract_tb(err.__traceback__)
    inside = [f for f in frames if f.filename.startswith(str(app_dir))]
    if isinstance(err, SyntaxError) and err.filename:
        return f"{err.filename}:{err.lineno}"
    chosen = inside or list(frames)
    if not chosen:
        return str(app_dir / APP_FILE)
    return f"{chosen[-1].filename}:{chosen[-1].lineno}"


def _import(app_dir: Path) -> ModuleType:
    path = app_dir / APP_FILE
    spec = importlib.util.spec_from_file_location("function_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:  # noqa: BLE001 - any failure of user code is reported, not raised
        del sys.modules["function_app"]
        hint = ""
        if isinstance(err, ModuleNotFoundError):
            hint = f"\n  install the missing package into this Python ({sys.executable}) or fix the import"
        raise ConfigError(
            f"{path} failed to import: {type(err).__name__}: {err}\n  at {_where(err, app_dir)}{hint}"
        ) from None
    return module


def _find_app(module: ModuleType, path: Path) -> func.FunctionRegister:
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not apps:
        raise ConfigError(
            f"{path} defines no top-level function app: add `app = func.FunctionApp()` (or `df.DFApp()`)"
        )
    if len({id(a) for a in apps}) > 1:
        raise ConfigError(
            f"{path} defines several top-level function apps: keep one and register blueprints on it"
        )
    return apps[0]


def load_app(app_dir: Path) -> LoadedApp:
    """Import ``app_dir/function_app.py`` and index its functions."""
    app_dir = app_dir.resolve()
    path = app_dir / APP_FILE
    if not path.is_file():
        raise ConfigError(
            f"no {APP_FILE} in {app_dir}: run from the function app folder or pass --app-dir DIR "
            f"(the folder holding {APP_FILE} and host.json)"
        )
    added = str(app_dir) not in sys.path
    if added:
        sys.path.insert(0, str(app_dir))
    sys.modules.pop("function_app", None)
    before = set(sys.modules)
    try:
        module = _import(app_dir)
        app = _find_app(module, path)
        try:
            # get_functions() can be called only once per app (it records names to reject duplicates).
            functions = app.get_functions()
        except ValueError as err:
            raise ConfigError(f"{path}: {err}") from None
    except ConfigError:
        _forget(_app_modules(app_dir, before))
        if added and str(app_dir) in sys.path:
            sys.path.remove(str(app_dir))
        raise
    return LoadedApp(app_dir, module, app, functions, added, ["function_app", *_app_modules(app_dir, before)])
