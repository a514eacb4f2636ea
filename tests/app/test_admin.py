"""Admin: the token on every route, training runs in their own process, events, versions, swaps."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.app.conftest import ADMIN_TOKEN, drawn_one, raw_http
from tests.waiting import wait_until

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
TINY = {"preset": "seed", "hidden": [32], "epochs": 2, "limit": 600, "lr": 0.5}


PUBLIC = {"/predict", "/predict/batch", "/predict/number", "/explain", "/livez", "/readyz", "/", "/admin",
          "/docs"}
PUBLIC_METHODS = {("POST", "/feedback")}  # the same path's other methods are the admin's


def all_routes(routes) -> list[APIRoute]:
    """Every API route, also those inside included routers."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):  # how FastAPI keeps an included router
            found.extend(all_routes(route.original_router.routes))
    return found


def test_every_route_but_the_public_ones_needs_the_token(client) -> None:
    routes = [r for r in all_routes(client.app.routes) if r.path not in PUBLIC]
    assert {"/train", "/train/{run_id}/cancel", "/versions/{version_id}/promote"} <= {r.path for r in routes}
    assert len(routes) >= 8
    for route in routes:
        path = route.path.replace("{run_id}", "abc").replace("{version_id}", "default").replace(
            "{feedback_id}", "abc")
        for method in route.methods - {m for m, p in PUBLIC_METHODS if p == route.path}:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}):
                response = client.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("body, message", [
    ({"lr": -1}, "lr"), ({"epochs": 0}, "epochs"), ({"hidden": [0]}, "hidden"),
    ({"optimizer": "rmsprop"}, "optimizer"), ({"preset": "huge"}, "preset"), ({"colour": "red"}, "colour"),
])
def test_bad_hyperparameters_are_a_422(client, body, message) -> None:
    response = client.post("/train", json=body, headers=AUTH)
    assert response.status_code == 422 and response.json()["detail"].split(":")[0].split(".")[0] == message


def test_every_422_has_the_public_routes_one_error_shape(client) -> None:
    """A detail string, each problem as ``where: what``, on admin routes as on /predict; the OpenAPI
    document says so for every route."""
    answers = [client.post("/train", json={"lr": -1, "epochs": 0}, headers=AUTH),
               client.get("/feedback", params={"limit": "many"}, headers=AUTH),
               client.post("/predict", json={"pixels": [0.5] * 783 + [2]})]
    assert [(r.status_code, r.json()) for r in answers] == [
        (422, {"detail": "lr: Input should be greater than 0; "
                         "epochs: Input should be greater than or equal to 1"}),
        (422, {"detail": "query.limit: Input should be a valid integer, "
                         "unable to parse string as an integer"}),
        (422, {"detail": "pixels[0] must be finite numbers between 0 and 1"}),
    ]
    document = client.get("/openapi.json").json()
    documented = {media["schema"]["$ref"] for path in document["paths"].values() for op in path.values()
                  for media in op["responses"].get("422", {}).get("content", {}).values()}
    assert documented == {"#/components/schemas/ErrorResponse"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def stream_events(base: str, run_id: str, timeout: float = 120,
                  events: list[tuple[str, dict]] | None = None) -> list[tuple[str, dict]]:
    """Read a run's SSE stream to its final event, appending each to ``events`` as it comes."""
    events, kind = [] if events is None else events, None
    with httpx.stream("GET", f"{base}/train/{run_id}/events", headers=AUTH, timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
    return events


def wait_for(base: str, run_id: str, statuses: tuple[str, ...], timeout: float = 120) -> dict:
    return wait_until(lambda: (run := httpx.get(f"{base}/train/{run_id}", headers=AUTH).json())["status"]
                      in statuses and run, timeout, f"run {run_id} reaching {statuses}")


@pytest.fixture(scope="module")
def finished_run(live_server) -> dict:
    """One small real run, start to finish, with its streamed events."""
    response = httpx.post(f"{live_server}/train", json=TINY, headers=AUTH)
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    events = stream_events(live_server, run_id)
    late = stream_events(live_server, run_id)  # a watcher that comes after the end sees it all
    return {"id": run_id, "events": events, "late": late}


def test_a_small_run_streams_batches_and_epochs_and_becomes_a_version(live_server, finished_run) -> None:
    kinds = [k for k, _ in finished_run["events"]]
    assert kinds.count("epoch") == 2 and "batch" in kinds and kinds[-1] == "finished"
    epoch = next(d for k, d in finished_run["events"] if k == "epoch")
    assert 0.5 < epoch["test_accuracy"] <= 1 and "eta_s" in epoch and epoch["progress"] == 0.5
    assert finished_run["late"] == finished_run["events"]
    version_id = finished_run["events"][-1][1]["version_id"]
    versions = httpx.get(f"{live_server}/versions", headers=AUTH).json()
    assert version_id in [v["id"] for v in versions["versions"]]
    assert versions["promoted"] == "default"  # nothing is promoted by itself


def test_only_one_run_at_a_time_then_cancel(live_server) -> None:
    body = {**TINY, "epochs": 50, "limit": 0}
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: httpx.post(f"{live_server}/train", json=body, headers=AUTH,
                                                       timeout=30), range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * 9, codes
    run_id = next(r.json()["id"] for r in responses if r.status_code == 202)
    running = wait_for(live_server, run_id, ("running",))
    if hasattr(os, "SCHED_IDLE"):  # the run only takes CPU time the server leaves
        assert os.sched_getscheduler(running["pid"]) == os.SCHED_IDLE
    events: list = []
    watcher = threading.Thread(target=stream_events, args=(live_server, run_id), kwargs={"events": events})
    watcher.start()
    wait_until(lambda: events, what="the watcher's first event")  # it watches a run under way
    cancel = httpx.post(f"{live_server}/train/{run_id}/cancel", headers=AUTH)
    assert cancel.status_code == 202
    run = wait_for(live_server, run_id, ("cancelled",), timeout=10)
    watcher.join(timeout=10)
    assert run["version_id"] is None and events[-1][0] == "cancelled"
    assert httpx.post(f"{live_server}/train/{run_id}/cancel", headers=AUTH).status_code == 409


def test_a_run_whose_process_is_killed_fails_and_frees_the_way(live_server) -> None:
    long_run = {**TINY, "epochs": 50, "limit": 0}
    run_id = httpx.post(f"{live_server}/train", json=long_run, headers=AUTH).json()["id"]
    running = wait_for(live_server, run_id, ("running",))
    os.kill(running["pid"], signal.SIGKILL)  # as the out-of-memory killer would
    run = wait_for(live_server, run_id, ("failed",), timeout=10)
    assert "killed by signal 9" in run["reason"]
    again = httpx.post(f"{live_server}/train", json=long_run, headers=AUTH)
    assert again.status_code == 202, again.text  # not 409: the dead run no longer counts as active
    # cancelled at once, while its process is still starting: the signal waits until it is handled
    httpx.post(f"{live_server}/train/{again.json()['id']}/cancel", headers=AUTH)
    wait_for(live_server, again.json()["id"], ("cancelled",), timeout=30)


def test_a_huge_learning_rate_ends_as_diverged(live_server) -> None:
    response = httpx.post(f"{live_server}/train", json={**TINY, "lr": 10.0, "epochs": 5}, headers=AUTH)
    assert response.status_code == 202, response.text
    events = stream_events(live_server, response.json()["id"])
    assert events[-1][0] == "diverged" and "loss became" in events[-1][1]["reason"]
    assert httpx.get(f"{live_server}/versions", headers=AUTH).json()["promoted"] == "default"


def test_promote_and_rollback_while_predicting(live_server, finished_run) -> None:
    version_id = finished_run["events"][-1][1]["version_id"]
    answers: list[str] = []
    failures: list[int] = []
    stop = threading.Event()

    def predict_loop() -> None:
        with httpx.Client(base_url=live_server) as c:
            while not stop.is_set():
                r = c.post("/predict", content=drawn_one(), headers={"content-type": "image/png"})
                (answers.append(r.json()["model_version"]) if r.status_code == 200
                 else failures.append(r.status_code))

    thread = threading.Thread(target=predict_loop)
    thread.start()
    try:  # each step waits for an answer from the version it serves, however long that takes
        wait_until(lambda: "default" in answers, what="an answer from the shipped model")
        promoted = httpx.post(f"{live_server}/versions/{version_id}/promote", headers=AUTH)
        assert promoted.json() == {"promoted": version_id, "previous": "default"}
        wait_until(lambda: version_id in answers, what="an answer from the promoted version")
        assert httpx.post(f"{live_server}/versions/rollback", headers=AUTH).json()["promoted"] == "default"
        after = len(answers)
        wait_until(lambda: "default" in answers[after:], what="an answer after the rollback")
    finally:
        stop.set()
        thread.join()
    assert failures == []
    switches = [a for i, a in enumerate(answers) if i == 0 or answers[i - 1] != a]
    assert switches == ["default", version_id, "default"], switches


def test_bad_versions_are_refused_and_the_serving_model_stays(live_server, settings, finished_run) -> None:
    for bad in ("../../etc/passwd", "..", "no-such-version"):
        r = httpx.post(f"{live_server}/versions/{bad}/promote", headers=AUTH)
        assert r.status_code in (404, 422), (bad, r.status_code)
    from app.state.store import Store
    from tests.app.reading.test_serving import set_stored_bytes

    version_id = finished_run["events"][-1][1]["version_id"]
    store = Store(settings.home)
    good = store.versions.file(version_id).read_bytes()
    try:
        set_stored_bytes(store, version_id, good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:])
        r = httpx.post(f"{live_server}/versions/{version_id}/promote", headers=AUTH)
        assert r.status_code == 422 and "SHA-256" in r.json()["detail"]
        serving = httpx.get(f"{live_server}/versions", headers=AUTH).json()
        assert serving["promoted"] == serving["serving"] == "default"
    finally:
        set_stored_bytes(store, version_id, good)


def test_missing_mnist_is_a_clear_503_not_a_hang(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    from tests.app.conftest import WEIGHTS

    settings = Settings(weights=WEIGHTS, home=tmp_path / "home", data_dir=str(tmp_path / "no-mnist"),
                        admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as c:
        response = c.post("/train", json=TINY, headers=AUTH)
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert "no-mnist" in detail and "digitnet data download" in detail
        assert c.get("/runs", headers=AUTH).json() == []  # nothing was started


def test_metrics_count_requests_by_route_and_report_version_and_runs(client) -> None:
    # the live server's tests promote and roll back on this app's database: it follows at its next poll
    blank = {"pixels": [0.0] * 784}
    wait_until(lambda: client.post("/predict", json=blank).json()["model_version"] == "default",
               what="the app serving the shipped model again")
    client.post("/predict", content=b"x", headers={"content-type": "text/plain"})
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'digitnet_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'digitnet_requests_total{method="POST",route="/predict",status="415"}' in text
    assert 'digitnet_request_seconds_bucket{le="0.01",route="/predict"}' in text
    assert 'digitnet_model_serving{version="default"} 1.0' in text
    assert "digitnet_training_runs" in text


def events_request(run_id: str, last_event_id: str | None = None) -> bytes:
    extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
    return (f"GET /train/{run_id}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            f"{extra}Connection: close\r\n\r\n").encode()


@pytest.mark.parametrize("last_event_id", ["abc", "9" * 5000, "-1", "1.5", "\u00b2"])
def test_an_event_stream_is_refused_before_it_starts(live_server, finished_run, last_event_id) -> None:
    """A run that does not exist is a 404, a Last-Event-ID that is no event number a 400: both
    answered as such, not a 200 whose stream breaks off."""
    status, headers, body = raw_http(live_server, events_request("no-such-run"))
    assert status == 404 and headers["content-type"] == "application/json"
    assert "no run" in json.loads(body)["detail"]
    status, headers, body = raw_http(live_server, events_request(finished_run["id"], last_event_id))
    assert status == 400 and "Last-Event-ID" in json.loads(body)["detail"]
    status, headers, body = raw_http(live_server, events_request(finished_run["id"], "1"))
    ids = [int(i) for i in re.findall(rb"^id: ?(\d+)", body, flags=re.MULTILINE)]
    assert status == 200 and b"event: finished" in body and ids and min(ids) == 2


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("path, body", [
    ("/train", '{"lr": %s}'), ("/train", '{"epochs": %s}'), ("/train", '{"hidden": [%s]}'),
    ("/train", '{"seed": %s, "l2": 0.1}'), ("/predict", '{"pixels": [%s]}'),
    ("/predict/batch", '{"pixels": [[%s]]}'), ("/predict", '{"image": %s}'),
])
def test_a_non_finite_number_anywhere_is_a_422(client, path, body, number) -> None:
    response = client.post(path, content=body % number,
                           headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_a_version_that_does_not_serve_can_be_deleted(client, settings) -> None:
    import hashlib

    from app.state.store import Store
    from tests.app.reading.test_serving import add_version

    store = Store(settings.home)
    path = add_version(store, "to-delete")
    assert hashlib.sha256(path.read_bytes()).hexdigest()
    assert client.delete("/versions/to-delete").status_code == 401
    assert client.delete("/versions/default", headers=AUTH).status_code == 409
    assert client.delete("/versions/nope", headers=AUTH).status_code == 404
    serving = client.get("/versions", headers=AUTH).json()["promoted"]
    if serving != "default":
        assert client.delete(f"/versions/{serving}", headers=AUTH).status_code == 409
    assert client.delete("/versions/to-delete", headers=AUTH).status_code == 204
    assert not path.exists()
    assert "to-delete" not in [v["id"] for v in client.get("/versions", headers=AUTH).json()["versions"]]
    assert client.delete("/versions/to-delete", headers=AUTH).status_code == 404


def test_the_promoted_version_cannot_be_deleted_and_a_rollback_goes_back_past_a_deleted_one(tmp_path) -> None:
    from app.state.db import NotFoundError
    from app.state.store import Store
    from app.state.versions import VersionInUseError
    from tests.app.reading.test_serving import add_version

    store = Store(tmp_path)
    add_version(store, "a")
    add_version(store, "b")
    store.versions.promote("a")
    store.versions.promote("b")
    with pytest.raises(VersionInUseError):
        store.versions.delete("b")
    store.versions.delete("a")
    assert store.versions.previous() == "default" and store.versions.promoted() == "b"
    with pytest.raises(NotFoundError):
        store.versions.delete("a")


def test_rollback_walks_back_through_the_promotions_and_then_says_there_is_nothing_left(tmp_path) -> None:
    """default -> a -> b -> c promoted; each rollback one step back (c, b, a, default), never forward
    again, and GET /versions says where the next one goes; at the start, 409 saying why."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    from tests.app.conftest import WEIGHTS
    from tests.app.reading.test_serving import add_version

    with TestClient(create_app(Settings(weights=WEIGHTS, home=tmp_path, admin_token=ADMIN_TOKEN))) as client:
        store = client.app.state.services.store
        for name in "abc":
            add_version(store, name)
            assert client.post(f"/versions/{name}/promote", headers=AUTH).status_code == 200
        walked = []
        for _ in range(3):
            expected = ["b", "a", "default"][len(walked)]
            assert client.get("/versions", headers=AUTH).json()["rollback_to"] == expected
            answer = client.post("/versions/rollback", headers=AUTH).json()
            walked.append((answer["previous"], answer["promoted"]))
        assert walked == [("c", "b"), ("b", "a"), ("a", "default")]
        assert client.get("/versions", headers=AUTH).json()["rollback_to"] is None
        refused = client.post("/versions/rollback", headers=AUTH)
        assert refused.status_code == 409 and "nothing to roll back to" in refused.json()["detail"]
        assert client.get("/versions", headers=AUTH).json()["serving"] == "default"


@pytest.mark.parametrize("body, words", [
    ({"hidden": [4096, 4096, 4096, 4096]}, ["parameters", "at most 3,000,000"]),
    ({"hidden": [2000, 1000]}, ["3,581,010 parameters"]),
    ({"epochs": 101}, ["epochs"]),
])
def test_runs_too_big_for_the_server_are_refused_saying_why(client, body, words) -> None:
    response = client.post("/train", json=body, headers=AUTH)
    assert response.status_code == 422
    assert all(w in response.text for w in words), response.text
