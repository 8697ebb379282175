"""The dev supervisor's restart rule: capped exponential backoff, give up on a crash loop."""

from __future__ import annotations

from c360.procs import GiveUp, Restart, RestartPolicy, restart_decision

POLICY = RestartPolicy(initial_delay=1.0, max_delay=5.0, max_failures=5, window=60.0)


def test_first_death_restarts_after_the_initial_delay() -> None:
    assert restart_decision(POLICY, [100.0], 100.0) == Restart(1.0, 1)


def test_quick_deaths_double_the_delay_up_to_the_cap() -> None:
    deaths: list[float] = []
    delays = []
    for now in (0.0, 2.0, 5.0, 10.0):
        deaths.append(now)
        decision = restart_decision(POLICY, deaths, now)
        assert isinstance(decision, Restart)
        delays.append(decision.delay)
    assert delays == [1.0, 2.0, 4.0, 5.0]


def test_the_fifth_death_within_the_window_gives_up() -> None:
    deaths = [0.0, 1.0, 3.0, 7.0, 15.0]
    assert restart_decision(POLICY, deaths, 15.0) == GiveUp(5, 60.0)


def test_deaths_older_than_the_window_are_forgotten() -> None:
    """A worker that ran a while after its last crashes starts again from the first delay."""
    deaths = [0.0, 1.0, 3.0, 7.0, 200.0]
    assert restart_decision(POLICY, deaths, 200.0) == Restart(1.0, 1)


def test_deaths_spread_wider_than_the_window_never_give_up() -> None:
    deaths: list[float] = []
    for i in range(20):
        deaths.append(i * 20.0)
        assert isinstance(restart_decision(POLICY, deaths, i * 20.0), Restart)
