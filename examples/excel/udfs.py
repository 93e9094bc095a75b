"""UDFs for `hpcburst excel calc` (README, "UDF offload"): cells call them by name, e.g. =PRICEOPT(A2,B2,C2).

Pure and cluster-safe: the value depends on the arguments only, so each distinct call runs once, anywhere.
"""

from __future__ import annotations

import math
import time

import hpcburst.excel


@hpcburst.excel.udf
def priceopt(spot: float, strike: float, vol: float, years: float = 1.0, rate: float = 0.02) -> float:
    """A European call option's Black-Scholes price."""
    if spot <= 0 or strike <= 0 or vol <= 0 or years <= 0:
        raise ValueError(
            f"spot, strike, vol and years must be positive (got {spot}, {strike}, {vol}, {years})"
        )
    d1 = (math.log(spot / strike) + (rate + vol * vol / 2) * years) / (vol * math.sqrt(years))
    d2 = d1 - vol * math.sqrt(years)
    return spot * _normal(d1) - strike * math.exp(-rate * years) * _normal(d2)


@hpcburst.excel.udf(name="HEDGE.RATIO")
def hedge_ratio(price: float, spot: float) -> float:
    """A UDF fed by another UDF's value (a chain): the option's price per unit of spot."""
    return price / spot


@hpcburst.excel.udf
def slowsquare(x: float, seconds: float = 0.01) -> float:
    """x squared after ``seconds`` of work (the benchmark's 10 ms pure UDF; sleeping stands in for a node's
    own CPU, as this machine's 2 cores would otherwise cap any speed-up at 2)."""
    time.sleep(seconds)
    return x * x


def _normal(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))
