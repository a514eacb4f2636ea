"""Waiting for something the code under test does in another thread or process, which tells nobody
when it is done (a row written, an answer in, a file gone): ``wait_until`` polls for it, and its
deadline is only a guard against a hang, never a timing the test relies on. Inside an event loop,
``until_done`` waits for the loop's own tasks to finish, woken by them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], guard_s: float = 30.0, what: str = "the condition") -> T:
    """Return ``condition()``'s first true value; AssertionError naming ``what`` past ``guard_s`` seconds."""
    deadline = time.monotonic() + guard_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what} never held"
        time.sleep(0.01)
    return value


async def until_done(tasks: list[asyncio.Task], count: int, guard_s: float = 30.0,
                     what: str = "the tasks") -> None:
    """Inside an event loop: return once ``count`` of ``tasks`` have finished, woken by each one that
    finishes (nothing is polled); past ``guard_s`` seconds, an AssertionError naming ``what``."""
    pending = set(tasks)
    try:
        async with asyncio.timeout(guard_s):
            while len(tasks) - len(pending) < count:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    except TimeoutError:
        raise AssertionError(f"{what}: {count} never finished") from None
