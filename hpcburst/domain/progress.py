"""The job orchestrator's state between events (pure): which batches are dispatched, open, done.

The orchestrator keeps at most ``WINDOW`` batches open, dispatches the next ones as batches close,
and finishes when every batch was dispatched and none is open. Events are only hints ("look
again"): what is complete comes from the store through an activity, so a lost, duplicated or
coalesced event never makes the state wrong.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hpcburst.domain.planning import WINDOW, window_plan


@dataclass
class JobProgress:
    job: str
    batches: int
    next: int = 0  # first batch not dispatched yet
    open: list[int] = field(default_factory=list)  # dispatched, not yet complete
    canceled: bool = False
    generation: int = 0  # continue_as_new count (for diagnostics)

    @classmethod
    def from_input(cls, data: dict[str, Any]) -> JobProgress:
        return cls(
            job=str(data["job"]),
            batches=int(data["batches"]),
            next=int(data.get("next", 0)),
            open=sorted({int(b) for b in data.get("open", [])}),
            canceled=bool(data.get("canceled", False)),
            generation=int(data.get("generation", 0)),
        )

    def to_input(self) -> dict[str, Any]:
        return asdict(self)

    def to_dispatch(self, window: int = WINDOW) -> list[int]:
        if self.canceled:
            return []
        return window_plan(self.next, len(self.open), self.batches, window)

    def dispatched(self, batches: list[int]) -> None:
        self.open = sorted(set(self.open) | set(batches))
        self.next = max([self.next, *(b + 1 for b in batches)])

    def apply(self, progress: dict[str, Any]) -> None:
        """Fold in what the progress activity found: complete batches, cancellation."""
        done = set(progress.get("complete", []))
        self.open = [b for b in self.open if b not in done]
        self.canceled = self.canceled or bool(progress.get("canceled"))

    def reopen(self, batches: list[int]) -> None:
        self.open = sorted(set(self.open) | set(batches))

    @property
    def finished(self) -> bool:
        return self.canceled or (self.next >= self.batches and not self.open)
