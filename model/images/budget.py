"""How much work one request's reading may do: network inputs made, the pixels they cover, a deadline.

Reading a number (model/images/segment.py) asks the network about pieces of ink until its rules are
satisfied; how many questions, and over how many pixels, depends on the ink, which a stranger
chooses. A ``Budget`` counts each step (each ``to_mnist`` call, the costly part: its time grows
with the pixels of its crop) and stops the work with ``OverBudgetError`` past either limit. Before each
step it calls ``check``, which the caller sets to raise once the work's time is up: work whose
answer nobody waits for any more stops within one step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class OverBudgetError(Exception):
    """The work needs more than its budget allows; the message says which limit."""


def _no_deadline() -> None:
    return None


@dataclass
class Budget:
    """At most ``max_steps`` steps over at most ``max_pixels`` pixels in all; ``check()`` before each."""

    max_steps: int
    max_pixels: int
    check: Callable[[], None] = field(default=_no_deadline)
    steps: int = 0
    pixels: int = 0

    def spend(self, pixels: int) -> None:
        """Count one step over ``pixels`` pixels, or raise: the deadline passed, or a limit would."""
        self.check()
        if self.steps + 1 > self.max_steps:
            raise OverBudgetError(f"reading it would take more than {self.max_steps} network inputs")
        if self.pixels + pixels > self.max_pixels:
            raise OverBudgetError(f"its pieces of ink would cover more than {self.max_pixels:,} pixels")
        self.steps += 1
        self.pixels += pixels
