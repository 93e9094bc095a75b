"""How a job's indices are cut into dispatch batches (pure; the orchestrator and dispatch call it).

The indices of all tasks of a job form one flat sequence of positions: task 1's indices first,
then task 2's, ... (or, in a job with dependencies, parents before children: ``order``, from
``hpcburst.domain.dependencies.layout``). Batch ``b`` covers positions ``[b*size, (b+1)*size)``. A batch travels as
``(job, batch)`` only; whoever needs its indices recomputes them from the job's tasks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from hpcburst.domain.job import TaskSpec
from hpcburst.domain.sweep import index_at, index_count

MIN_BATCH = 100  # jobs up to this size are one batch, made leasable at submission
MAX_BATCH = 1000
# Batches open at once per job: enough queued work for every slot, few queued documents in the store.
WINDOW = 8


def batch_size_for(total: int) -> int:
    """Indices per batch: about a tenth of the job, 100..1000 (a 100k sweep: 100 batches of 1000)."""
    return max(MIN_BATCH, min(MAX_BATCH, -(-total // 10)))


def batch_count(total: int, size: int) -> int:
    return -(-total // size)


def batch_length(total: int, size: int, batch: int) -> int:
    """How many indices ``batch`` holds (the last batch may be short), without listing them."""
    return max(0, min(size, total - batch * size))


def batch_members(
    tasks: Sequence[TaskSpec], size: int, batch: int, order: Sequence[int] | None = None
) -> Iterator[tuple[int, int]]:
    """(task number 1-based, index) of every position in ``batch``, without expanding the whole job."""
    first, last = batch * size, (batch + 1) * size
    offset = 0
    for number in order or range(1, len(tasks) + 1):
        spec = tasks[number - 1]
        count = index_count(spec)
        lo, hi = max(first, offset), min(last, offset + count)
        for position in range(lo, hi):
            yield number, index_at(spec, position - offset)
        offset += count
        if offset >= last:
            return


def batch_of(
    tasks: Sequence[TaskSpec], size: int, task: int, position: int, order: Sequence[int] | None = None
) -> int:
    """The batch holding the ``position``-th index of task ``task`` (1-based)."""
    numbers = list(order or range(1, len(tasks) + 1))
    offset = sum(index_count(tasks[n - 1]) for n in numbers[: numbers.index(task)])
    return (offset + position) // size


def window_plan(next_batch: int, open_batches: int, batches: int, window: int = WINDOW) -> list[int]:
    """Batches to dispatch now so that ``window`` are open (never past the last one)."""
    room = max(0, window - open_batches)
    return list(range(next_batch, min(batches, next_batch + room)))
