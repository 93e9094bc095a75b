"""Task staging specs: which blobs a task needs in its workdir, and which of its files go back out.

Like Azure Batch resource/output files. Both carry HPC Pack sweep substitution: a run of n stars
is the index zero-padded to n digits and ``^*`` is a literal star (``hpcburst.domain.sweep``). So in
an output pattern a glob wildcard is written ``^*``: ``out/result-^*.csv`` becomes the glob
``out/result-*.csv`` for every index, while ``out/part-***.csv`` names index 7's ``part-007.csv``.

Blob references are ``"container/path"`` strings; workdir paths are relative and may not climb out
of the workdir. Pure: no I/O (the node side lives in ``hpcburst.data.staging``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from hpcburst.domain.sweep import substitute
from hpcburst.errors import InvalidSpec

_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
BLOB_EXAMPLE = "hpc-data/inputs/rates.csv"
GLOB_CHARS = frozenset("*?[")

T = TypeVar("T")
SubstituteFn = Callable[[str, int], str]


@dataclass(frozen=True)
class BlobLocation:
    container: str
    path: str  # "" for a whole container; never starts or ends with "/"

    def __str__(self) -> str:
        return f"{self.container}/{self.path}" if self.path else self.container


def parse_location(text: str, need_path: bool = True) -> BlobLocation:
    """Parse ``CONTAINER/PATH``; InvalidSpec names what is wrong and shows an example."""
    container, _, path = text.strip().partition("/")
    if not _CONTAINER.match(container):
        raise InvalidSpec(
            f"{text!r}: {container!r} is not a valid container name (3-63 lowercase letters, digits "
            f"and single hyphens); expected CONTAINER/PATH, e.g. {BLOB_EXAMPLE}"
        )
    path = path.strip("/")
    if need_path and not path:
        raise InvalidSpec(f"{text!r} names no blob: expected CONTAINER/PATH, e.g. {BLOB_EXAMPLE}")
    if any(part in ("..", ".") for part in PurePosixPath(path).parts):
        raise InvalidSpec(f"{text!r}: blob paths may not contain '.' or '..' segments")
    return BlobLocation(container, path)


def check_relative(path: str, what: str) -> str:
    """``path`` if it stays inside a workdir (relative, no '..'); InvalidSpec otherwise."""
    pure = PurePosixPath(path.replace("\\", "/"))
    bad = "\0" in path or pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", path)
    if not path or bad:
        raise InvalidSpec(f"{what} {path!r} must be a relative path inside the task's working directory")
    return path


def _valid(check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # pydantic turns ValueError (not our InvalidSpec) into a ValidationError naming the field
    try:
        return check(*args, **kwargs)
    except InvalidSpec as e:
        raise ValueError(e.message) from e


class InputFile(BaseModel):
    """Blob ``blob`` ("container/path") is placed at ``path`` (relative to the task's workdir)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blob: str
    path: str

    @field_validator("blob")
    @classmethod
    def _blob_ref(cls, value: str) -> str:
        if "*" not in value:  # a starred ref is checked once substituted
            _valid(parse_location, value)
        return value

    @field_validator("path")
    @classmethod
    def _inside_workdir(cls, value: str) -> str:
        return _valid(check_relative, value, "input path")

    @property
    def location(self) -> BlobLocation:
        return parse_location(self.blob)

    def for_index(self, index: int, substitute: SubstituteFn = substitute) -> InputFile:
        return InputFile(blob=substitute(self.blob, index), path=substitute(self.path, index))


class OutputFile(BaseModel):
    """Files matching ``pattern`` (a glob relative to the workdir) are uploaded under ``blob``.

    With glob characters in the pattern, ``blob`` is a prefix ("container/prefix") and each file
    keeps its workdir-relative path under it; without, ``blob`` is the exact blob name (Batch's rule).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    blob: str

    @field_validator("pattern")
    @classmethod
    def _inside_workdir(cls, value: str) -> str:
        return _valid(check_relative, value, "output pattern")

    @field_validator("blob")
    @classmethod
    def _blob_ref(cls, value: str) -> str:
        if "*" not in value:
            _valid(parse_location, value, need_path=False)
        return value

    @property
    def is_glob(self) -> bool:
        return any(ch in GLOB_CHARS for ch in self.pattern)

    def destination(self, relative: str) -> BlobLocation:
        """Where the matched workdir file ``relative`` goes."""
        loc = parse_location(self.blob, need_path=not self.is_glob)
        if not self.is_glob:
            return loc
        return BlobLocation(loc.container, f"{loc.path}/{relative}" if loc.path else relative)

    def for_index(self, index: int, substitute: SubstituteFn = substitute) -> OutputFile:
        return OutputFile(pattern=substitute(self.pattern, index), blob=substitute(self.blob, index))
