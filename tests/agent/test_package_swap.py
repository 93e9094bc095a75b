"""A package version is swapped in only between tasks: the agent holds new starts and waits for running ones,
so no task sees its package's files change under it (``Agent.between_tasks``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from agent_fakes import FakeService, run_until_reported

from nodeagent.agent import Agent


def test_a_swap_waits_for_running_tasks_and_holds_new_starts(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(slots=2)
    service.add("running", "sleep 0.6")
    agent.lease_once(wait=0.0)
    agent.step(0.0)
    assert len(agent.ledger.running) == 1
    seen: dict[str, object] = {}

    def swap() -> None:
        with agent.between_tasks():
            with agent.ledger.lock:
                seen["running"] = list(agent.ledger.running)
                seen["waiting"] = len(agent.ledger.backlog)

    swapper = threading.Thread(target=swap)
    swapper.start()
    while not agent.ledger.swapping:
        time.sleep(0.01)
    service.add("next", "true")  # leased while the swap waits: it must not start before the swap
    agent.lease_once(wait=0.0)
    deadline = time.monotonic() + 10
    while swapper.is_alive() and time.monotonic() < deadline:
        agent.step(0.05)
    swapper.join(1)
    assert seen["running"] == [] and seen["waiting"] == 1
    run_until_reported(agent, service, 2)  # the held task starts once the swap is done


def test_with_nothing_running_a_swap_goes_at_once(make_agent: Callable[..., Agent]) -> None:
    agent = make_agent(slots=1)
    began = time.monotonic()
    with agent.between_tasks():
        assert agent.ledger.swapping == 1
    assert agent.ledger.swapping == 0 and time.monotonic() - began < 0.5
