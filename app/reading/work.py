"""Work on drawings off the event loop: pools of worker threads, each with its slots and a deadline.

A request's work goes to a pool: ``threads`` threads of its own (a ThreadPoolExecutor, so never
more threads than that, whatever happens to the requests) and ``slots`` places. A place is taken
when the work is handed over and given back only when the work has ended in its thread (or was
dropped before it started), not when the request gives up on it: work that outlives its request
still counts, and a pool whose places are all held answers 503 at once.

Past the request timeout the client gets a 503, and the work stops: it runs with a deadline, which
the long loops (segmentation's network inputs, a batch's images) check through ``check_deadline``
between steps, raising ``TimedOutError``; work still waiting for a thread when its time is up
never starts. The figures (threads, memory under repeated timeouts) are in docs/security.md.

Two pools per worker: ``predict`` for /predict's large images, ``costly`` for /predict/number,
/explain and /predict/batch, so that a crowd of costly requests never takes the place of the
page's small /predict (docs/security.md, The limits).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from app.settings import Settings

T = TypeVar("T")
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


class TimedOutError(Exception):
    """The work's deadline passed: nobody waits for its answer any more."""


class BusyError(Exception):
    """Every place of the pool is held by work not yet ended."""


def check_deadline() -> None:
    """Raise ``TimedOutError`` if the work running in this thread is past its deadline."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TimedOutError("past the request's deadline")


class WorkPool:
    """``threads`` worker threads and ``slots`` places for work, held until the work ends."""

    def __init__(self, name: str, threads: int, slots: int, timeout_s: float) -> None:
        self.name, self.threads, self.slots, self.timeout_s = name, threads, slots, timeout_s
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix=f"digitnet-{name}")
        self._lock = threading.Lock()
        self.held = 0  # places taken by work not yet ended
        self.running = 0  # work running in a thread right now
        self.most_running = 0  # the most that ever ran at once (the tests read it)

    async def run(self, fn: Callable[[Any], T], arg: Any) -> T:
        """``fn(arg)`` in one of the pool's threads. Raises ``BusyError`` at once when no place is
        free, ``TimedOutError`` when the work is not done within ``timeout_s``."""
        with self._lock:
            if self.held >= self.slots:
                raise BusyError(f"{self.slots} {self.name} requests are at work")
            self.held += 1
        deadline = time.monotonic() + self.timeout_s
        work = self._executor.submit(self._call, fn, arg, deadline)
        work.add_done_callback(self._release)  # in the thread when it ends, or here if dropped
        try:
            return await asyncio.wait_for(asyncio.wrap_future(work), self.timeout_s)
        except (TimeoutError, TimedOutError):  # the timer, or the work's own check just before it
            work.cancel()  # still waiting for a thread: it never runs; running: it stops at its next check
            raise TimedOutError(f"the work took longer than {self.timeout_s:g} s") from None

    def _call(self, fn: Callable[[Any], T], arg: Any, deadline: float) -> T:
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        token = _deadline.set(deadline)
        try:
            check_deadline()  # its time ran out while it waited: do nothing
            return fn(arg)
        finally:
            _deadline.reset(token)
            with self._lock:
                self.running -= 1

    def _release(self, work: Future[Any]) -> None:
        with self._lock:
            self.held -= 1
        if not work.cancelled():
            work.exception()  # seen: an error nobody is left to answer is not logged as lost

    def close(self) -> None:
        """Let no new work in; the work running ends at its deadline."""
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class WorkPools:
    """A worker's two pools: ``predict`` for /predict, ``costly`` for the costly routes."""

    predict: WorkPool
    costly: WorkPool

    @classmethod
    def of(cls, settings: Settings) -> WorkPools:
        timeout = settings.request_timeout_s
        return cls(WorkPool("predict", settings.inference_threads, settings.max_in_flight, timeout),
                   WorkPool("costly", settings.costly_threads, settings.max_costly_in_flight, timeout))

    def close(self) -> None:
        self.predict.close()
        self.costly.close()
