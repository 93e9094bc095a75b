"""Remote locations as users type them: ``CONTAINER/PATH`` (e.g. ``hpc-data/inputs/rates.csv``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from hpcburst.errors import InvalidSpec

_CONTAINER = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
EXAMPLE = "hpc-data/inputs/rates.csv"


@dataclass(frozen=True)
class BlobLocation:
    container: str
    path: str  # may be "" for a whole container (sync); never starts with "/"

    def __str__(self) -> str:
        return f"{self.container}/{self.path}" if self.path else self.container

    def child(self, relative: str) -> BlobLocation:
        return BlobLocation(self.container, f"{self.path.rstrip('/')}/{relative}" if self.path else relative)


def parse_location(text: str, need_path: bool = True) -> BlobLocation:
    """Parse ``CONTAINER/PATH``; InvalidSpec names what is wrong and shows an example."""
    container, _, path = text.strip().partition("/")
    if not _CONTAINER.match(container):
        raise InvalidSpec(
            f"{text!r}: {container!r} is not a valid container name (3-63 lowercase letters, digits "
            f"and single hyphens); expected CONTAINER/PATH, e.g. {EXAMPLE}"
        )
    path = path.strip("/")
    if need_path and not path:
        raise InvalidSpec(f"{text!r} names no blob: expected CONTAINER/PATH, e.g. {EXAMPLE}")
    if any(part in ("..", ".") for part in PurePosixPath(path).parts):
        raise InvalidSpec(f"{text!r}: blob paths may not contain '.' or '..' segments")
    return BlobLocation(container, path)


def split_blob(text: str) -> tuple[str, str]:
    """``"container/path"`` -> (container, path), for staging specs and package records."""
    loc = parse_location(text)
    return loc.container, loc.path
