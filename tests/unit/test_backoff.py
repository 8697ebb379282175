"""infra/backoff.py: the delays (CRM worker, streams retries, dev-stack restarts) and the loop."""

from __future__ import annotations

import pytest

from infra.backoff import IN_PLACE, Backoff, GaveUp, retry_in_place


@pytest.mark.parametrize(
    ("attempt", "retry_after", "rand", "delay"),
    [
        (1, None, 0.0, 0.25),  # half of the initial delay at the lowest jitter
        (1, None, 1.0, 0.5),
        (3, None, 1.0, 2.0),
        (20, None, 1.0, 60.0),  # capped
        (1, 5.0, 0.0, 5.0),  # Retry-After is a floor
        (1, 500.0, 0.0, 60.0),  # ...but the cap still holds
        (4, 1.0, 1.0, 4.0),  # backoff above the hint
    ],
)
def test_backoff_is_capped_exponential_with_jitter_and_honours_retry_after(
    attempt, retry_after, rand, delay
):
    """delay = min(cap, max(retry_after, initial * 2^(n-1) * jitter))."""
    assert Backoff(0.5, 60.0).delay(attempt, retry_after, lambda: rand) == delay


def test_the_ceiling_has_no_jitter():
    """What a restart waits: 1, 2, 4, ... capped."""
    assert [Backoff(1.0, 30.0).ceiling(n) for n in (1, 2, 3, 6, 50)] == [1, 2, 4, 30, 30]


class Down(Exception):
    pass


def _flaky(failures: int):
    calls = {"n": 0}

    async def call() -> str:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise Down(f"failure {calls['n']}")
        return "ok"

    return call, calls


async def test_retry_in_place_sleeps_growing_delays_until_the_call_succeeds():
    """Every failure is reported with the delay slept next; the result is returned."""
    call, calls = _flaky(3)
    slept: list[float] = []
    seen: list[tuple[str, float | None]] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    result = await retry_in_place(
        call, retry_on=(Down,), sleep=sleep, on_failure=lambda exc, d: seen.append((str(exc), d))
    )
    assert result == "ok" and calls["n"] == 4
    assert [d for _, d in seen] == slept
    for n, delay in enumerate(slept, start=1):
        assert IN_PLACE.ceiling(n) / 2 <= delay <= IN_PLACE.ceiling(n)


async def test_retry_in_place_gives_up_past_the_deadline_with_the_cause():
    """Past the deadline the last failure is reported with None and raised as the cause."""
    call, _ = _flaky(100)
    now = {"t": 0.0}
    seen: list[float | None] = []

    async def sleep(delay: float) -> None:
        now["t"] += delay

    with pytest.raises(GaveUp) as info:
        await retry_in_place(
            call,
            retry_on=(Down,),
            sleep=sleep,
            deadline_seconds=1.0,
            clock=lambda: now["t"],
            on_failure=lambda _e, d: seen.append(d),
        )
    assert isinstance(info.value.__cause__, Down)
    assert seen[-1] is None and all(d is not None for d in seen[:-1])
    assert now["t"] >= 1.0


async def test_other_errors_are_not_retried():
    """Only the listed transient errors wait; anything else propagates at once."""

    async def broken() -> None:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        await retry_in_place(broken, retry_on=(Down,), on_failure=lambda _e, _d: None)
