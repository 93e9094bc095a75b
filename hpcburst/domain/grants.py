"""Least-privilege storage grants (pure): what a node may touch in blob storage, and for how long.

No grant covers the whole account, and none lets a node delete or list outputs:

- each input of a leased index: a read (``r``) SAS on that one blob;
- each output of a leased index (named files in the lease; glob matches on request): create+write
  (``cw``) on that one blob, never into reserved places (``writable``);
- stdout/stderr: the service names each segment blob under the node's own prefix
  ``nodes/<pool>/<node>/`` in ``hpc-output`` and grants ``cw`` on it; a reported ``OutputRef`` counts
  only inside that prefix (``inside_node_prefix``);
- packages: read+list (``rl``) on the package container.

Lifetimes: a lease's grants last its task's max run time plus ``GRANT_MARGIN`` (``DEFAULT_HORIZON``
without one), capped at ``MAX_GRANT``; an agent asks again (POST /api/agent/grants) for one expired.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel

from hpcburst import constants as c
from hpcburst.domain.staging import BlobLocation, InputFile, OutputFile, check_relative, parse_location
from hpcburst.domain.task import OutputRef
from hpcburst.errors import Forbidden, InvalidSpec

READ = "r"
WRITE = "cw"  # create + write: no read, no delete, no list
PACKAGES = "rl"  # the registry sync lists versions, then reads archives
DEFAULT_HORIZON = timedelta(hours=6)  # grants of a task without max_run_time (renewed on request)
GRANT_MARGIN = timedelta(minutes=30)  # backlog wait and staging before the run, upload after it
MAX_GRANT = timedelta(hours=12)
NODE_OUTPUTS = "nodes/"  # in hpc-output: one prefix per node for its segment blobs


class SegmentGrant(BaseModel):
    """One segment blob the agent may create (and write) with ``url``; nothing else."""

    container: str = c.BLOB_OUTPUT
    blob: str
    url: str


def grant_lifetime(max_run_time: float | None) -> timedelta:
    """How long a lease's grants last from the lease time."""
    if max_run_time is None:
        return DEFAULT_HORIZON
    return min(MAX_GRANT, timedelta(seconds=max_run_time) + GRANT_MARGIN)


def node_prefix(pool: str, node: str) -> str:
    return f"{NODE_OUTPUTS}{pool}/{node}/"


def inside_node_prefix(ref: OutputRef, pool: str, node: str) -> bool:
    """True when ``ref`` is a blob under the node's own output prefix (so the node could have written it)."""
    if ref.container != c.BLOB_OUTPUT or not ref.blob.startswith(node_prefix(pool, node)):
        return False
    return not any(part in ("", ".", "..") for part in ref.blob.split("/"))


def served_ref(ref: OutputRef) -> bool:
    """What the output endpoint serves: only segment blobs the service named, under some node's prefix."""
    parts = ref.blob.split("/")
    return (
        ref.container == c.BLOB_OUTPUT
        and len(parts) >= 4
        and f"{parts[0]}/" == NODE_OUTPUTS
        and not any(part in ("", ".", "..") for part in parts)
    )


def writable(loc: BlobLocation) -> bool:
    """Whether a task may write ``loc``: never packages, claim-check payloads, or any node's segments."""
    if loc.container in (c.BLOB_PACKAGES, c.BLOB_LARGE_MESSAGES):
        return False
    return not (loc.container == c.BLOB_OUTPUT and f"{loc.path}/".startswith(NODE_OUTPUTS))


def readable(loc: BlobLocation) -> bool:
    """Whether a task may read ``loc``: never claim-check payloads (job specs) or nodes' segments (other users'
    stdout, served only through the owner-checked output endpoint)."""
    if loc.container == c.BLOB_LARGE_MESSAGES:
        return False
    return not (loc.container == c.BLOB_OUTPUT and f"{loc.path}/".startswith(NODE_OUTPUTS))


def check_blob_refs(tasks: Iterable[Any]) -> None:
    """At submit: InvalidSpec naming the field of an input a task may not read or an output it may not
    write (refs holding ``*`` are checked again, substituted, when their grants are signed)."""
    for n, task in enumerate(tasks):
        for i, spec in enumerate(task.input_files):
            if "*" not in spec.blob and not readable(parse_location(spec.blob)):
                raise InvalidSpec(
                    f"tasks.{n}.input_files.{i}.blob: tasks may not read {spec.blob}",
                    field=f"tasks.{n}.input_files.{i}.blob",
                )
        for i, out in enumerate(task.output_files):
            if "*" not in out.blob and not writable(parse_location(out.blob, need_path=False)):
                raise InvalidSpec(
                    f"tasks.{n}.output_files.{i}.blob: tasks may not write to {out.blob}",
                    field=f"tasks.{n}.output_files.{i}.blob",
                )


def input_refs(inputs: Iterable[InputFile]) -> set[str]:
    """The blob refs an index reads ("container/path", normalized)."""
    return {str(parse_location(f.blob)) for f in inputs}


def named_outputs(outputs: Iterable[OutputFile]) -> dict[str, str]:
    """Non-glob outputs a lease grants up front: destination ref -> workdir-relative path."""
    return {str(f.destination(f.pattern)): f.pattern for f in outputs if not f.is_glob}


def output_destinations(outputs: Iterable[OutputFile], relative: str) -> list[BlobLocation]:
    """Where the workdir file ``relative`` goes: one place per output pattern it matches. Forbidden when it
    matches none, or would go somewhere tasks may not write (``writable``)."""
    try:
        check_relative(relative, "output file")
    except InvalidSpec as e:
        raise Forbidden(e.message, path=relative) from None
    places = [spec.destination(relative) for spec in outputs if path_matches(relative, spec.pattern)]
    if not places:
        raise Forbidden(f"{relative!r} matches none of this index's output patterns", path=relative)
    for loc in places:
        if not writable(loc):
            raise Forbidden(
                f"output {relative!r} would go to {loc}, where tasks may not write", path=relative
            )
    return places


def path_matches(relative: str, pattern: str) -> bool:
    """pathlib-glob semantics (what the agent uploads): ``*`` stays within one path segment, ``**`` spans."""
    path, glob = PurePosixPath(relative).parts, PurePosixPath(pattern).parts
    if "**" in glob:
        return fnmatch.fnmatchcase(relative, pattern.replace("**/", "*").replace("**", "*"))
    return len(path) == len(glob) and all(fnmatch.fnmatchcase(p, g) for p, g in zip(path, glob, strict=True))
