"""Where the agent keeps task output: stdout/stderr bytes of a report batch packed into segment blobs.

Each segment blob holds the non-empty streams of a report batch back to back (up to ``SEGMENT_LIMIT``
bytes, then another); each index gets an ``OutputRef`` (offset, length) into it. Thousands of tiny outputs
thus cost one blob write per report instead of one each. Empty streams get no ref.

The service names every segment blob, under the node's own prefix ``nodes/<pool>/<node>/`` in
``hpc-output``, and grants create+write on that one blob (``nodeagent.grants.GrantBook.next_segment``);
a node with its own storage connection names its segments under the same prefix itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hpcburst.domain.task import OutputRef
from hpcburst.storage.blob.port import BlobStore

SEGMENT_LIMIT = 32 * 1024 * 1024  # bytes per segment blob before starting another
SegmentTarget = tuple[BlobStore, str, str]  # (store, container, blob) one segment is written to


@dataclass(frozen=True)
class Output:
    job: str
    task: str  # task key
    stream: str  # "stdout" | "stderr"
    data: bytes


class OutputWriter:
    def __init__(self, next_segment: Callable[[], SegmentTarget]) -> None:
        self._next_segment = next_segment

    def write(self, outputs: Iterable[Output]) -> dict[tuple[str, str], OutputRef]:
        """Store every non-empty output; the refs by (task key, stream)."""
        refs: dict[tuple[str, str], OutputRef] = {}
        for segment in _segments([out for out in outputs if out.data]):
            store, container, blob = self._next_segment()
            offset = 0
            for out in segment:
                refs[(out.task, out.stream)] = OutputRef(
                    container=container, blob=blob, offset=offset, length=len(out.data)
                )
                offset += len(out.data)
            store.put(container, blob, b"".join(o.data for o in segment))
        return refs


def _segments(items: list[Output]) -> Iterable[list[Output]]:
    segment: list[Output] = []
    size = 0
    for out in items:
        if segment and size + len(out.data) > SEGMENT_LIMIT:
            yield segment
            segment, size = [], 0
        segment.append(out)
        size += len(out.data)
    if segment:
        yield segment
