"""The fake provisioner: seeded lognormal boot delays, boots that never register, spot evictions."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpcburst.sim.engine import SimConfig


class FakeProvisioner:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)

    def boot_delay(self) -> float | None:
        """Seconds until the node's agent registers, or None if it never will (a failed boot)."""
        if self.rng.random() < self.config.boot_hang_rate:
            return None
        sigma = self.config.boot_sigma
        # choose mu so that the lognormal's mean is boot_mean
        mu = math.log(self.config.boot_mean) - sigma * sigma / 2
        return self.rng.lognormvariate(mu, sigma)

    def eviction_delay(self) -> float | None:
        rate = self.config.evictions_per_hour
        return None if rate <= 0 else self.rng.expovariate(rate / 3600.0)
