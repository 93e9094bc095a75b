"""The cost reservation ledger: every cloud node holds a reservation from its create until it is billed out.

A create is allowed only if its reservation fits under every cap, counting what was already spent and
every reservation still outstanding, including those made by earlier decisions whose nodes do not exist
yet. Spend is derived from the reservations themselves (node-seconds × price, with the minimum billing
horizon), so the ledger needs no separate accrual and cannot drift from what it reserved.

Caps:
- per hour: a ceiling on the committed burn rate ($/h) of every reservation still holding. Because a
  released node keeps holding until its minimum billing horizon ends, the spend in any hour-long window
  is at most the cap.
- per month (a rolling 30 days): spend so far + every holding reservation's next horizon of spend.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOUR = 3600.0
MONTH = 30 * 24 * HOUR
EPSILON = 1e-9


class Reservation(BaseModel):
    model_config = ConfigDict(frozen=True)

    node: str
    pool: str
    price_per_hour: float
    start: float
    horizon: float
    released_at: float | None = None

    @property
    def billed_until(self) -> float | None:
        """When billing stops (None while the node lives): never before the minimum horizon."""
        if self.released_at is None:
            return None
        return max(self.released_at, self.start + self.horizon)

    def holds(self, now: float) -> bool:
        end = self.billed_until
        return end is None or now < end

    def cost(self, t0: float, t1: float) -> float:
        """Spend within [t0, t1]."""
        end = self.billed_until
        stop = t1 if end is None else min(t1, end)
        return max(0.0, stop - max(t0, self.start)) * self.price_per_hour / HOUR


class Ledger(BaseModel):
    model_config = ConfigDict(frozen=True)

    reservations: list[Reservation] = Field(default_factory=list)

    def for_pool(self, pool: str) -> list[Reservation]:
        return [r for r in self.reservations if r.pool == pool]

    def committed_rate(self, pool: str, now: float) -> float:
        return sum(r.price_per_hour for r in self.for_pool(pool) if r.holds(now))

    def spent(self, pool: str, t0: float, t1: float) -> float:
        return sum(r.cost(t0, t1) for r in self.for_pool(pool))

    def month_commitment(self, pool: str, now: float) -> float:
        """Spent in the last 30 days plus one more horizon of every holding reservation."""
        ahead = sum(r.price_per_hour * r.horizon / HOUR for r in self.for_pool(pool) if r.holds(now))
        return self.spent(pool, now - MONTH, now) + ahead

    def room(
        self,
        pool: str,
        price: float,
        horizon: float,
        now: float,
        cap_hour: float | None,
        cap_month: float | None,
    ) -> int | None:
        """How many more nodes at ``price`` fit under both caps (None: no cap applies)."""
        if price <= 0 or (cap_hour is None and cap_month is None):
            return None
        fits: list[int] = []
        if cap_hour is not None:
            fits.append(int((cap_hour - self.committed_rate(pool, now) + EPSILON) // price))
        if cap_month is not None:
            per_node = price * horizon / HOUR
            fits.append(int((cap_month - self.month_commitment(pool, now) + EPSILON) // per_node))
        return max(0, min(fits))

    def reserve(self, node: str, pool: str, price: float, horizon: float, now: float) -> Ledger:
        new = Reservation(node=node, pool=pool, price_per_hour=price, start=now, horizon=horizon)
        return Ledger(reservations=[*self.reservations, new])

    def release(self, node: str, now: float) -> Ledger:
        kept = [
            r.model_copy(update={"released_at": now}) if r.node == node and r.released_at is None else r
            for r in self.reservations
        ]
        return Ledger(reservations=kept)

    def cancel(self, node: str) -> Ledger:
        """Drop a reservation whose node the cloud never made (a refused create): it never billed."""
        return Ledger(reservations=[r for r in self.reservations if r.node != node])

    def open_names(self, pool: str) -> set[str]:
        return {r.node for r in self.for_pool(pool) if r.released_at is None}

    def prune(self, now: float) -> Ledger:
        """Forget reservations billed out more than a month ago: they no longer count against any cap."""
        keep = [r for r in self.reservations if r.billed_until is None or r.billed_until > now - MONTH]
        return Ledger(reservations=keep)
