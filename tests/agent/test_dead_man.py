"""The dead-man switch: a cloud agent that cannot reach the service for N minutes stops itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent_fakes import FakeService

from nodeagent.agent import Agent
from nodeagent.deadman import DeadManSwitch, run_command
from nodeagent.service import AgentService


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fired:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def test_it_fires_once_after_the_limit_without_a_successful_call_and_not_before() -> None:
    fired = Fired()
    switch = DeadManSwitch(60.0, fired, now=1000.0)
    assert not switch.step(1059.9) and fired.count == 0
    assert switch.step(1060.0) and fired.count == 1
    assert switch.step(1200.0) and fired.count == 1


def test_a_successful_call_resets_it() -> None:
    fired = Fired()
    switch = DeadManSwitch(60.0, fired, now=1000.0)
    switch.alive(1050.0)
    assert not switch.step(1100.0)
    switch.alive(1040.0)  # a late note of an older call never winds it back
    assert not switch.step(1109.9) and switch.step(1110.0) and fired.count == 1


def test_zero_minutes_disables_it() -> None:
    fired = Fired()
    assert not DeadManSwitch(0.0, fired, now=0.0).step(1e9) and fired.count == 0


def test_an_agent_that_cannot_reach_the_service_stops_itself(
    service: FakeService, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent(node="cloud-1", cloud=True, dead_man_minutes=1.0)
    clock = Clock()
    watch = AgentService(agent, clock=clock)
    service.fail_next = 1000  # the controller is gone
    clock.now += 30
    watch._once(agent.heartbeat_once, "heartbeat")  # fails
    clock.now += 29
    watch.watch_step(clock.now)
    assert not watch.stop_event.is_set()
    service.fail_next = 0
    watch._once(agent.heartbeat_once, "heartbeat")  # back: the switch is reset
    clock.now += 59
    watch.watch_step(clock.now)
    assert not watch.stop_event.is_set()
    clock.now += 1
    watch.watch_step(clock.now)
    assert watch.stop_event.is_set() and watch.dead_man.fired


def test_the_on_dead_man_command_runs_through_the_shell(tmp_path: Path) -> None:
    assert run_command(f"touch {tmp_path / 'stopped'} && exit 3") == 3
    assert (tmp_path / "stopped").exists()
    assert run_command(None) is None
