"""Metrics: requests counted by route template and status, the serving version and runs from the state."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.reading.serving import ModelHolder
from app.state.store import Store
from app.web.metrics import Metrics, MetricsMiddleware
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS, raw_http


def sample(metrics: Metrics, name: str, labels: dict[str, str]) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_requests_are_counted_by_route_template_not_raw_path() -> None:
    metrics = Metrics()
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    with TestClient(app) as client:
        for item_id in ("a", "b", "c"):
            assert client.get(f"/items/{item_id}").status_code == 200
        assert client.get("/elsewhere").status_code == 404
    assert sample(metrics, "digitnet_requests_total",
                  {"route": "/items/{item_id}", "method": "GET", "status": "200"}) == 3
    assert sample(metrics, "digitnet_requests_total",
                  {"route": "unmatched", "method": "GET", "status": "404"}) == 1
    assert sample(metrics, "digitnet_request_seconds_count", {"route": "/items/{item_id}"}) == 3


def test_the_serving_version_and_the_runs_are_read_when_scraped(tmp_path: Path) -> None:
    store = Store(tmp_path)
    metrics = Metrics()
    metrics.watch(store, ModelHolder(store, WEIGHTS))
    metrics.watch(store, ModelHolder(store, WEIGHTS))  # a second start of the same app registers nothing
    assert sample(metrics, "digitnet_model_serving", {"version": "default"}) == 1
    assert sample(metrics, "digitnet_training_runs", {"status": "finished"}) is None
    run_id = store.create_run({})
    store.update_run(run_id, status="finished")
    assert sample(metrics, "digitnet_training_runs", {"status": "finished"}) == 1
    assert b"digitnet_model_serving" in generate_latest(metrics.registry)


def test_random_methods_and_paths_do_not_grow_the_metrics(live_server) -> None:
    """Sent raw, as a client could: 200 methods the app does not know and made-up paths add no label
    values. The HTTP parser (llhttp) refuses a made-up method itself (400) before the app sees it;
    methods it knows (WebDAV's, PURGE) reach the app and are counted as "other"."""
    known = ["PROPFIND", "MKCOL", "PURGE", "SEARCH", "REPORT", "LOCK", "UNLOCK", "MOVE"]
    for i in range(200):
        method = known[i % len(known)] if i % 2 else f"M{i}X"
        status, _, _ = raw_http(live_server, f"{method} /nowhere/{i}?q={i} HTTP/1.1\r\nHost: x\r\n"
                                             "Connection: close\r\n\r\n".encode())
        assert status in ((404, 405) if i % 2 else (400, 404, 405)), method
    status, _, body = raw_http(live_server, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                            f"{ADMIN_TOKEN}\r\nConnection: close\r\n\r\n".encode())
    text = body.decode()
    assert status == 200 and 'method="other"' in text and 'route="unmatched"' in text
    assert "M1X" not in text and "/nowhere/" not in text
    assert len(body) < 200_000


def requests_counted(live_server: str) -> dict[tuple[str, str], float]:
    """The server's own count of POSTs, by (route, status), read from /metrics."""
    status, _, body = raw_http(live_server, "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                            f"{ADMIN_TOKEN}\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    return {(s.labels["route"], s.labels["status"]): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples
            if s.name == "digitnet_requests_total" and s.labels["method"] == "POST"}


@pytest.mark.parametrize("path, route", [("/predict", "unmatched"), ("/feedback", "/feedback")])
def test_a_client_that_leaves_mid_body_is_counted_as_499_not_500(live_server: str, path: str,
                                                                 route: str) -> None:
    """The client sends half of a declared body and closes: no answer can reach it, and no server
    error happened (an alert on 5xx must not fire); it is counted as status 499, as nginx logs a
    client that closed its request. The route is "unmatched" where the body is read before routing."""
    before = requests_counted(live_server)
    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    logging.getLogger("uvicorn.error").addHandler(handler)  # where uvicorn logs an app's traceback
    host, port = live_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 1000\r\n\r\n".encode() + b"{" + b" " * 499)
    deadline = time.monotonic() + 10  # a guard: the server sees the close as soon as it reads again
    while (now := requests_counted(live_server)).get((route, "499"), 0) == before.get((route, "499"), 0):
        assert time.monotonic() < deadline, f"no 499 counted: {now}"
    logging.getLogger("uvicorn.error").removeHandler(handler)
    assert now.get((route, "500"), 0) == before.get((route, "500"), 0)
    assert [r.getMessage() for r in logged if r.exc_info] == []
