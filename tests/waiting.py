"""Waiting for something the code under test does in another thread or process, which tells nobody
when it is done (a row written, an answer in, a file gone): ``wait_until`` polls for it, and its
deadline is only a guard against a hang, never a timing the test relies on."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], guard_s: float = 30.0, what: str = "the condition") -> None:
    """Return once ``condition()`` is true; AssertionError naming ``what`` past ``guard_s`` seconds."""
    deadline = time.monotonic() + guard_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held"
        time.sleep(0.01)
