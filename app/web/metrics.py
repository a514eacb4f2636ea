"""Prometheus metrics: requests by route and status, latency, the serving version, runs by outcome.

A request whose client closed the connection while the server still read it (in the middle of its
body, most often) is counted with status 499 (``CLIENT_LEFT``), not 500: a 5xx is the server's
fault, and an alert on it must not fire on aborts. (A client that leaves once its request is whole is
not seen: its request counts with the status of the answer it did not wait for.)

Served at ``GET /metrics`` to the admin only (it tells who trained what, and how busy we are).
Counters live in each worker process: with several workers, each scrape sees the worker that
answered it (a scraper adds them up per instance; the version and run counts come from shared
state and agree across workers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.feedback.reader import RIGHT_OVER, FeedbackReader
from app.reading.serving import ModelHolder
from app.state.store import Store

# Label values come from fixed sets, whatever a client sends: a route's template (or "unmatched"),
# one of these methods (or "other") and a status code (or CLIENT_LEFT)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The status of a request whose client closed the connection while it was still read (in the middle
# of its body, most often): no answer could reach it and no server error happened, so a 5xx alert
# must not count it. 499 is what nginx logs for the same event.
CLIENT_LEFT = 499
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """One registry per app, so that several apps (tests, workers) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("digitnet_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("digitnet_request_seconds", "time to answer a request", ["route"],
                                 buckets=BUCKETS, registry=self.registry)
        self.state_collector: _StateCollector | None = None
        # each (route, method, status)'s counter and histogram, found once: prometheus_client's
        # labels() checks and locks on every call (what that cost: docs/performance.md, Serving); the
        # keys come from fixed sets
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def record(self, route: str, method: str, status: str, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(*key), self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)

    def watch(self, store: Store, holder: ModelHolder, feedback: FeedbackReader | None = None) -> None:
        """Report the serving version, the runs by outcome and the feedback, read when scraped (the
        collector is registered once per registry; a second start of the same app replaces its sources)."""
        if self.state_collector is None:
            self.state_collector = _StateCollector()
            self.registry.register(self.state_collector)
        self.state_collector.store, self.state_collector.holder = store, holder
        self.state_collector.feedback = feedback


class _StateCollector:
    store: Store
    holder: ModelHolder
    feedback: FeedbackReader | None = None

    def collect(self) -> Iterator[Metric]:
        holder, store = self.holder, self.store
        serving = GaugeMetricFamily("digitnet_model_serving", "1 for the model version serving",
                                    labels=["version"])
        serving.add_metric([holder.current.version], 1.0)
        yield serving
        runs = GaugeMetricFamily("digitnet_training_runs", "training runs by status", labels=["status"])
        for status, count in store.count_runs_by_status().items():
            runs.add_metric([status], float(count))
        yield runs
        if self.feedback is not None:
            yield from _feedback_metrics(self.feedback)


def _feedback_metrics(feedback: FeedbackReader) -> Iterator[Metric]:
    kept = GaugeMetricFamily("digitnet_feedback_drawings", "drawings sent back, by status", labels=["status"])
    for status, count in feedback.counts().items():
        kept.add_metric([status], float(count))
    yield kept
    right = GaugeMetricFamily("digitnet_feedback_right_share", "share of a version's last submissions "
                              "that people said it read right", labels=["version"])
    for version, figures in feedback.right_share(RIGHT_OVER).items():
        right.add_metric([version], figures["right"])
    yield right


class MetricsMiddleware:
    """Counts every HTTP request by its route template (not its raw path: ids stay out of labels) and
    its method, both from fixed sets, so no client can grow the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # until an answer starts: a request that ends in an exception was a server error
        answered = False

        async def recording_receive() -> Message:
            nonlocal status
            message = await receive()
            if message["type"] == "http.disconnect" and not answered:
                status = CLIENT_LEFT
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.record(route, method, str(status), time.perf_counter() - start)
