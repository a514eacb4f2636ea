"""Costly work holds its own slots and threads, and stops at its deadline: real requests, a real server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np

from app.reading import numbers
from app.settings import Settings
from model.images import pieces, segment
from tests.app.conftest import WEIGHTS, drawn_one, serving
from tests.app.test_number import slanted_lines
from tests.waiting import wait_until

PNG = {"content-type": "image/png"}


class Watch:
    """Wraps the number route's segmentation: how many run at once, and how each one ended."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate, self.lock = gate, threading.Lock()
        self.running = self.most = self.started = 0
        self.endings: list[str] = []

    def wrap(self, segment_fn: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any) -> Any:
            with self.lock:
                self.running, self.started = self.running + 1, self.started + 1
                self.most = max(self.most, self.running)
            try:
                result = segment_fn(*args)
                self.endings.append("answered")
                return result
            except Exception as exc:
                self.endings.append(type(exc).__name__)
                raise
            finally:
                with self.lock:
                    self.running -= 1
        return watched

    def gated(self, to_mnist: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], Any]:
        def slow(ink: np.ndarray) -> Any:
            assert self.gate.wait(30), "never released"
            return to_mnist(ink)
        return slow


@contextmanager
def watched(monkeypatch, gate: threading.Event) -> Iterator[Watch]:
    watch = Watch(gate)
    monkeypatch.setattr(numbers, "segment", watch.wrap(segment.segment))
    monkeypatch.setattr(pieces, "to_mnist", watch.gated(pieces.to_mnist))
    yield watch


def test_work_past_its_timeout_stops_and_never_runs_beside_the_next(tmp_path, monkeypatch) -> None:
    """Five costly requests one after another, each past the timeout: each gets its 503, its work
    stops at its deadline, and the next one's work never runs beside it (before: anyio gave the
    thread's token back on the timeout, and five works ran at once, each for minutes)."""
    settings = Settings(weights=WEIGHTS, home=tmp_path, request_timeout_s=0.5)
    gate = threading.Event()
    image = slanted_lines()
    with watched(monkeypatch, gate) as watch, serving(settings) as url:
        for _ in range(5):
            gate.clear()
            response = httpx.post(f"{url}/predict/number", content=image, headers=PNG, timeout=30)
            assert response.status_code == 503 and "took longer" in response.json()["detail"]
            gate.set()  # the work's first input was held past the deadline; now let it go on
        assert watch.most == settings.costly_threads == 1
        wait_until(lambda: watch.running == 0)
        assert watch.started == 5 and watch.endings == ["TimedOutError"] * 5


def test_costly_requests_have_slots_of_their_own(tmp_path, monkeypatch) -> None:
    """With the costly slots all taken by number requests that do not end, a number request is
    503 at once, and the page's /predict is answered (before: the slots were shared, and every
    /predict was 503 too)."""
    settings = Settings(weights=WEIGHTS, home=tmp_path, request_timeout_s=60, max_in_flight=2,
                        inference_threads=2, max_costly_in_flight=2, costly_threads=2)
    gate = threading.Event()
    image = slanted_lines()
    with watched(monkeypatch, gate) as watch, serving(settings) as url, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(httpx.post, f"{url}/predict/number", content=image, headers=PNG, timeout=60)
                for _ in range(2)]
        try:
            wait_until(lambda: watch.started == 2)  # both at work, each holding a costly slot
            refused = httpx.post(f"{url}/predict/number", content=image, headers=PNG, timeout=10)
            assert refused.status_code == 503 and "busy" in refused.json()["detail"]
            assert refused.headers["retry-after"] == "1"
            for _ in range(5):
                page = httpx.post(f"{url}/predict", content=drawn_one(140), headers=PNG, timeout=10)
                assert page.status_code == 200 and page.json()["digit"] == 1
        finally:
            gate.set()
        assert [f.result().status_code for f in held] == [422, 422]  # the lines: over the budget
