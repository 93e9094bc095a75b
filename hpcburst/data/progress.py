"""Transfer progress: what a running transfer reports to its caller (rate and ETA included).

The library only calls ``progress(TransferProgress)`` from the thread that called upload/download,
so a callback may raise to abort the transfer (tests use that to interrupt one half-way); the CLI
turns the same events into rich progress bars.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TransferProgress:
    name: str  # "container/path" of the blob
    total_bytes: int  # raw size of the file
    done_bytes: int  # raw bytes finished (sent, reused or received)
    transferred_bytes: int  # bytes that actually crossed the network so far
    in_flight_bytes: int  # bytes handed to workers and not yet finished
    blocks_done: int
    blocks_total: int
    elapsed: float  # seconds

    @property
    def rate(self) -> float:
        """Raw bytes finished per second since the start."""
        return self.done_bytes / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None until there is a rate)."""
        if self.rate <= 0:
            return None
        return max(self.total_bytes - self.done_bytes, 0) / self.rate

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0


ProgressCallback = Callable[[TransferProgress], None]


class ProgressTracker:
    """Accumulates a transfer's counters and emits a TransferProgress after each change."""

    def __init__(
        self, name: str, total_bytes: int, blocks_total: int, callback: ProgressCallback | None
    ) -> None:
        self.name = name
        self.total_bytes = total_bytes
        self.blocks_total = blocks_total
        self.callback = callback
        self.started = time.monotonic()
        self.done_bytes = 0
        self.transferred_bytes = 0
        self.in_flight_bytes = 0
        self.blocks_done = 0

    def dispatched(self, raw_bytes: int) -> None:
        self.in_flight_bytes += raw_bytes

    def finished(self, raw_bytes: int, transferred: int) -> None:
        self.in_flight_bytes -= raw_bytes
        self.done_bytes += raw_bytes
        self.transferred_bytes += transferred
        self.blocks_done += 1
        self.emit()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def emit(self) -> None:
        if self.callback is not None:
            self.callback(
                TransferProgress(
                    name=self.name,
                    total_bytes=self.total_bytes,
                    done_bytes=self.done_bytes,
                    transferred_bytes=self.transferred_bytes,
                    in_flight_bytes=self.in_flight_bytes,
                    blocks_done=self.blocks_done,
                    blocks_total=self.blocks_total,
                    elapsed=self.elapsed,
                )
            )
