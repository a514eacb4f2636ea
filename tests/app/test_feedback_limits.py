"""/feedback under attack: what one stranger's posts may cost the server, and what they may not do.

Each test runs a real uvicorn server on a real database: SQLite in a temporary state directory, and
the PostgreSQL cluster the tests start (tests/postgres.py), where the database matters.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS, drawn_one, serving
from tests.app.test_feedback import UNLIMITED, app_client, body
from tests.postgres import Cluster

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def settings_for(home: Path, database_url: str | None = None, **changes: object) -> Settings:
    return Settings(weights=WEIGHTS, home=home, admin_token=ADMIN_TOKEN, database_url=database_url,
                    **changes)  # type: ignore[arg-type]


@contextmanager
def sqlite_held(home: Path) -> Iterator[None]:
    """Another process's write transaction on the state directory's database, held until the end:
    every write waits for it (SQLite's busy wait)."""
    holder = sqlite3.connect(home / "digitnet.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def postgres_paused(cluster: Cluster) -> Iterator[None]:
    cluster.pause()
    try:
        yield
    finally:
        cluster.resume()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_predictions_go_on_while_the_database_does_not_answer(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A /feedback post waits on a database that does not answer (PostgreSQL stopped with SIGSTOP,
    or SQLite locked by another writer); /livez and /predict answer all the while, and the post
    ends by itself: the database's timeouts cut it (PostgreSQL), or it is kept once the lock goes."""
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    monkeypatch.setattr("app.db.CUT_AFTER_S", 2.0, raising=False)  # the watchdog's cut, sooner
    with serving(settings_for(tmp_path, url)) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert http.post("/feedback", json=body(6)).status_code == 201  # a connection is kept idle
        stall = postgres_paused(request.getfixturevalue("pg_cluster")) if url else sqlite_held(tmp_path)
        answers: list[httpx.Response] = []
        with stall:
            sender = threading.Thread(target=lambda: answers.append(http.post("/feedback", json=body(8))))
            sender.start()
            for _ in range(10):  # each must answer within the client's timeout: the loop is free
                assert httpx.get(f"{base}/livez", timeout=3).status_code == 200
                predicted = httpx.post(f"{base}/predict", content=drawn_one(),
                                       headers={"content-type": "image/png"}, timeout=3)
                assert predicted.status_code == 200 and predicted.json()["digit"] == 1
            if url:  # the cut comes while PostgreSQL is still stopped
                sender.join(timeout=30)
                assert answers and answers[0].status_code == 503, answers
                assert "database is unavailable" in answers[0].json()["detail"]
        sender.join(timeout=30)
        assert answers and answers[0].status_code in (201, 503)
        if not url:
            assert answers[0].status_code == 201, answers[0].text  # kept once the writer let go
        assert http.post("/feedback", json=body(10)).status_code == 201  # and the database is back


def test_a_client_saying_what_the_model_read_cannot_move_the_live_share(tmp_path: Path) -> None:
    """60 drawn 1s labelled 1, each claiming the model read a 7: the server records what it read
    itself, so the share read right stays 1.0."""
    with app_client(tmp_path, feedback_rate=UNLIMITED) as c:
        for width in range(4, 64):
            assert c.post("/feedback", json=body(width, predicted=7)).status_code == 201
        assert 'digitnet_feedback_right_share{version="default"} 1.0' in c.get("/metrics", headers=AUTH).text
        items = c.get("/feedback?limit=100", headers=AUTH).json()["items"]
        assert {(i["predicted"], i["model_version"]) for i in items} == {(1, "default")}
