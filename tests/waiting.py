"""Waiting for something the code under test does in another thread or process, which tells nobody
when it is done (a row written, an answer in, a file gone): ``wait_until`` polls for it, and its
deadline is only a guard against a hang, never a timing the test relies on. ``wait_until_async``
does the same inside an event loop, for the loop's own tasks."""

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


async def wait_until_async(condition: Callable[[], object], guard_s: float = 30.0,
                           what: str = "the condition") -> None:
    """``wait_until`` inside an event loop: yields to the loop's other tasks while it waits."""
    deadline = time.monotonic() + guard_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held"
        await asyncio.sleep(0.01)
