"""Which queued work the slots a pool already has would start within a horizon, and which they would not.

Queued jobs are taken in lease order; each index goes to the slot that frees up soonest (a free slot now,
a busy one when its index ends) and keeps it busy for the job's duration per index. Whatever no slot would
start within the horizon is the work a new node could take.
"""

from __future__ import annotations

import heapq


def unstarted_work(queue: list[tuple[int, float]], free_at: list[float], horizon: float) -> float:
    """Slot-seconds of queued work no slot starts within ``horizon`` seconds.

    ``queue`` holds (indices, seconds per index) per job in lease order; ``free_at`` holds, per slot, the
    seconds until it frees up (0 if free now).
    """
    slots = list(free_at)
    heapq.heapify(slots)
    unstarted = 0.0
    for count, seconds in queue:
        while count and slots and slots[0] <= horizon:
            at = heapq.heappop(slots)
            started = min(count, int((horizon - at) // seconds) + 1)  # back to back on this slot
            count -= started
            heapq.heappush(slots, at + started * seconds)
        unstarted += count * seconds
    return unstarted
