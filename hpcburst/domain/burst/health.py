"""Node and pool health: boot timeouts, failed nodes, backoff after failures, disabling, spot fallback.

A node that has not registered within its pool's boot timeout is deleted (by name) and counts as a boot
failure; failures back the pool off exponentially, and enough of them within the window disable it with a
reason an admin can read. Repeated spot evictions switch the pool to regular VMs.
"""

from __future__ import annotations

from hpcburst.domain.burst.models import HOUR, BurstPool, BurstState, CloudNode, Delete, NodeState

WAITING_TO_REGISTER = (NodeState.NOT_DEPLOYED, NodeState.PROVISIONING)


def timed_out_or_failed(pool: BurstPool, nodes: list[CloudNode], now: float) -> list[Delete]:
    deletes = []
    for node in nodes:
        if node.state in WAITING_TO_REGISTER and now >= node.created_at + pool.boot_timeout:
            deletes.append(
                Delete(
                    node=node.name,
                    cause="boot_timeout",
                    reason=f"{node.name} not registered within {pool.boot_timeout:.0f} s of its create",
                )
            )
        elif node.state == NodeState.FAILED:
            deletes.append(Delete(node=node.name, cause="failed", reason=f"{node.name} failed to provision"))
    return deletes


def recent_failures(state: BurstState, pool: BurstPool, now: float, new: int) -> list[float]:
    """Failure times within the pool's window, counting ``new`` ones that happen now."""
    past = [t for t in state.failures.get(pool.name, []) if t > now - pool.failure_window]
    return sorted(past) + [now] * new


def backoff_until(pool: BurstPool, failures: list[float]) -> float | None:
    """When the pool may create again: base × 2^(n-1) after the last of n recent failures."""
    if not failures:
        return None
    return failures[-1] + pool.backoff_base * 2 ** (len(failures) - 1)


def should_disable(pool: BurstPool, failures: list[float]) -> str | None:
    if pool.disabled_reason is not None or len(failures) < pool.max_failures:
        return None
    return (
        f"{len(failures)} boot failures within {pool.failure_window / HOUR:g} h: pool `{pool.name}` disabled "
        "until an admin re-enables it"
    )


def should_fall_back(state: BurstState, pool: BurstPool, now: float) -> str | None:
    if not pool.spot:
        return None
    recent = [t for t in state.evictions.get(pool.name, []) if t > now - HOUR]
    if len(recent) < pool.evictions_before_fallback:
        return None
    price = pool.regular_price_per_hour if pool.regular_price_per_hour is not None else pool.price_per_hour
    return (
        f"{len(recent)} spot evictions in the last hour: pool `{pool.name}` uses regular VMs (${price:.2f}/h)"
    )
