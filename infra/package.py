"""Build the Function App's zip package (run from package): the repo's tracked files that .funcignore does not
exclude, plus the pinned requirements installed as Linux x86-64 wheels for Python 3.11 under
.python_packages/lib/site-packages, where the Functions Python worker looks for them.

    python infra/package.py [--out out/app.zip]

Linux wheels are fetched whatever the building machine is (`pip --platform`), so the zip runs on the app's
Linux workers. The zip then goes to the storage account's `deployments` container (README "Deploy to Azure").
"""

from __future__ import annotations

import argparse
import fnmatch
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGES = ".python_packages/lib/site-packages"


def ignore_patterns(funcignore: str) -> list[str]:
    return [line.strip() for line in funcignore.splitlines() if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: Iterable[str]) -> bool:
    """gitignore-style, as .funcignore is read: `dir/` excludes a directory anywhere, `*.md` any such file."""
    parts = path.split("/")
    for pattern in patterns:
        if pattern.endswith("/"):
            if any(fnmatch.fnmatch(part, pattern[:-1]) for part in parts[:-1]):
                return True
        elif fnmatch.fnmatch(parts[-1], pattern) or fnmatch.fnmatch(path, pattern):
            return True
    return False


def shipped(paths: Iterable[str], funcignore: str) -> list[str]:
    patterns = ignore_patterns(funcignore)
    return sorted(p for p in paths if not ignored(p, patterns))


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


def install_requirements(target: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                    "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp",
                    "--only-binary=:all:", "-r", str(ROOT / "requirements.txt")], check=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "app.zip")
    args = parser.parse_args()
    files = shipped(tracked_files(), (ROOT / ".funcignore").read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in files:
            zf.write(ROOT / name, name)
        install_requirements(Path(tmp))
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, f"{SITE_PACKAGES}/{path.relative_to(tmp).as_posix()}")
    print(f"{args.out}: {len(files)} app files + requirements ({args.out.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
