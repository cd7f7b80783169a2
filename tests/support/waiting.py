"""Wait for the event that proves a point, with a bounded timeout, instead of sleeping.

``wait_until`` polls a probe until it returns something truthy; ``wait_past`` waits for
the wall clock to pass an instant the test computed (a due time plus its window), for
assertions about what a daemon does once that moment is behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    message: Callable[[], str] | str = "condition not met",
) -> T:
    """Call ``probe`` every ``interval`` seconds until its result is truthy; return it.

    Fails with ``message`` (a string, or a function for a description of the state
    at the time) after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (within {timeout}s)")
        time.sleep(interval)


def wait_past(instant: datetime | str, *, by: timedelta = timedelta(0)) -> None:
    """Return once the wall clock is past ``instant`` (a datetime or ISO text) plus ``by``.

    This is the wait for "the moment has come": how long it takes follows from the
    instant the test chose, not from a guess, and it never waits more than that.
    """
    moment = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    left = (moment + by - datetime.now(UTC)).total_seconds()
    if left > 0:
        time.sleep(left)
    while datetime.now(UTC) <= moment + by:  # sleep() may wake a hair early
        time.sleep(0.001)
