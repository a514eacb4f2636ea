"""/feedback under attack: what one stranger's posts may cost the server, and what they may not do.

A real uvicorn server where the event loop or the client's address matters, the app in process
elsewhere; real databases: SQLite in a temporary state directory and, where the database matters,
the PostgreSQL cluster the tests start (tests/postgres.py).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from app.settings import Settings
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS, drawn_one, serving
from tests.app.feedback.test_store import SEVEN, UNLIMITED, app_client, body, drawing
from tests.postgres import Cluster
from tests.waiting import wait_until

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
    """Four /feedback posts wait on a database that does not answer (PostgreSQL stopped with
    SIGSTOP, or SQLite locked by another writer); /livez and /predict answer all the while. Two
    posts hold /feedback's two places; the two waiting for a place get 503 at the request timeout
    (1 s here), and never start; the two at work end by themselves: the database's timeouts cut
    them (PostgreSQL), or they are kept once the lock goes (SQLite)."""
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    monkeypatch.setattr("app.state.db.CUT_AFTER_S", 4.0, raising=False)  # the watchdog's cut, sooner
    settings = settings_for(tmp_path, url, request_timeout_s=1.0)
    with serving(settings) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert http.post("/feedback", json=body(6)).status_code == 201  # a connection is kept idle
        stall = postgres_paused(request.getfixturevalue("pg_cluster")) if url else sqlite_held(tmp_path)
        answers: list[httpx.Response] = []
        with ThreadPoolExecutor(4) as pool:
            with stall:
                sent = [pool.submit(lambda n: answers.append(http.post("/feedback", json=body(n))), n)
                        for n in range(10, 14)]
                for _ in range(10):  # each must answer within the client's timeout: the loop is free
                    assert httpx.get(f"{base}/livez", timeout=3).status_code == 200
                    predicted = httpx.post(f"{base}/predict", content=drawn_one(),
                                           headers={"content-type": "image/png"}, timeout=3)
                    assert predicted.status_code == 200 and predicted.json()["digit"] == 1
                waited = wait_for(answers, 2)  # the two without a place, while it stalls
                assert [a.status_code for a in waited] == [503, 503], [a.text for a in waited]
                assert all("too many drawings" in a.json()["detail"] for a in waited)
                if url:  # the cut comes while PostgreSQL is still stopped
                    cut = wait_for(answers, 4)[2:]
                    assert [a.status_code for a in cut] == [503, 503]
                    assert all("database is unavailable" in a.json()["detail"] for a in cut)
            for future in sent:
                future.result(timeout=30)
        if not url:  # kept once the writer let go
            assert sorted(a.status_code for a in answers) == [201, 201, 503, 503]
        assert http.post("/feedback", json=body(20)).status_code == 201  # and the database is back


def wait_for(answers: list[httpx.Response], count: int, timeout: float = 30) -> list[httpx.Response]:
    """The first ``count`` answers, once they have come (a deadline as a guard only)."""
    wait_until(lambda: len(answers) >= count, timeout, f"{count} answers")
    return answers[:count]


def test_a_client_saying_what_the_model_read_cannot_move_the_live_share(tmp_path: Path) -> None:
    """60 drawn 1s labelled 1, each claiming the model read a 7: the server records what it read
    itself, so the share read right stays 1.0."""
    with app_client(tmp_path, feedback_rate=UNLIMITED) as c:
        for width in range(4, 64):
            assert c.post("/feedback", json=body(width, predicted=7)).status_code == 201
        assert 'digitnet_feedback_right_share{version="default"} 1.0' in c.get("/metrics", headers=AUTH).text
        items = c.get("/feedback?limit=100", headers=AUTH).json()["items"]
        assert {(i["predicted"], i["model_version"]) for i in items} == {(1, "default")}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else None


def test_every_post_counts_against_the_rate(tmp_path: Path, database_url: str | None) -> None:
    """A duplicate and a refused drawing count as posts: the fourth post of a minute is a 429."""
    def attempt(k: int) -> list[int]:
        """How many drawings were stored before a client of its own (``in_one_minute``) posted
        four times, then each post's status and how many were stored after it (the attempts share
        the database)."""
        with app_client(tmp_path, f"192.0.2.{k + 1}", feedback_rate=3, database_url=database_url) as c:
            def stored() -> int:
                return len(c.get("/feedback", headers=AUTH).json()["items"])

            def post(n: int, **changes: object) -> list[int]:
                r = c.post("/feedback", json=body(10 * k + n, **changes))  # type: ignore[arg-type]
                assert r.status_code != 429 or "3 posts a minute" in r.json()["detail"], r.text
                return [r.status_code, stored()]

            return [stored(), *post(1), *post(1), *post(2, strokes=SEVEN), *post(3)]

    before, *seen = in_one_minute(attempt)
    # kept; the same drawing again; refused as not a digit; over the rate: only the first is stored
    assert seen == [201, before + 1, 200, before + 1, 422, before + 1, 429, before + 1], seen


def large_body(n: int) -> dict[str, object]:
    """``body(n)`` with a PNG of ~150 KB (text chunks): files past 128 KiB were read in a thread,
    between the old rate check and the insert."""
    image = Image.open(io.BytesIO(base64.b64decode(drawing(n).split(",", 1)[1])))
    info = PngInfo()
    for k in range(3):
        info.add_text(f"pad{k}", f"{n}:" + "x" * 50_000)
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return body(n, image="data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())


def test_posts_sent_at_once_are_each_counted(tmp_path: Path, database_url: str | None) -> None:
    """120 large drawings from one address at once, against a limit of 30: 30 pass the rate (and are
    then refused as too large: a drawing's PNG is at most 64 KiB), 90 are refused by the rate."""
    with serving(settings_for(tmp_path, database_url, feedback_rate=30)) as base:
        bodies = [large_body(n) for n in range(120)]
        with httpx.Client(base_url=base, timeout=60) as http, ThreadPoolExecutor(24) as pool:
            codes = Counter(pool.map(lambda b: http.post("/feedback", json=b).status_code, bodies))
            kept = http.get("/feedback?limit=500", headers=AUTH).json()["items"]
    assert codes == {413: 30, 429: 90} and kept == [], codes


def in_one_minute(attempt: Callable[[int], list[int]]) -> list[int]:
    """What ``attempt(k)`` saw, from the first attempt that ran inside one minute of the clock. Posts
    are counted by clock minute, so a minute that turns between two of them starts the count again
    (a fresh rate, not the one checked): each attempt k then posts as clients of its own."""
    for k in range(3):
        minute = time.time() // 60
        seen = attempt(k)
        if time.time() // 60 == minute:
            return seen
    raise AssertionError("a minute turned during each of three attempts")


def test_an_ipv6_client_is_its_64(tmp_path: Path) -> None:
    """The addresses of one /64 share a rate; another /64 has its own. The test server trusts the
    X-Forwarded-For of 127.0.0.1 (uvicorn's default), as the hosts trust the balancer."""
    with serving(settings_for(tmp_path, feedback_rate=1)) as base, httpx.Client(base_url=base) as http:
        def post(n: int, address: str) -> int:
            return http.post("/feedback", json=body(n), headers={"X-Forwarded-For": address}).status_code

        def attempt(k: int) -> list[int]:
            return [post(5 * k + 1, f"2001:db8:{k}::1"),
                    post(5 * k + 2, f"2001:db8:{k}::ffff:1"),  # the same /64
                    post(5 * k + 3, f"2001:db8:{k}:1::1"),  # the next /64
                    post(5 * k + 4, f"192.0.2.{k + 1}"),
                    post(5 * k + 5, f"::ffff:192.0.2.{k + 1}")]  # the same IPv4

        assert in_one_minute(attempt) == [201, 429, 201, 201, 429]


def test_a_body_of_too_many_points_is_refused_before_it_is_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 MiB body of points costs ~180 ms to parse: it is refused from its bytes, and a body that
    is parsed is parsed in a worker thread, never on the event loop."""
    from app.web import drawings

    parsed_on_loop: list[bool] = []
    real_parse = drawings.parse_json

    def parse(raw: bytes) -> object:
        try:
            asyncio.get_running_loop()
            parsed_on_loop.append(True)
        except RuntimeError:
            parsed_on_loop.append(False)
        return real_parse(raw)

    monkeypatch.setattr(drawings, "parse_json", parse)
    with app_client(tmp_path) as c:
        huge = body(1, strokes=[[[1.5, 2.5]] * 2700 for _ in range(30)])
        refused = c.post("/feedback", json=huge)
        assert refused.status_code == 422 and "points" in refused.json()["detail"]
        assert parsed_on_loop == []
        assert c.post("/feedback", json=body(2)).status_code == 201
        assert parsed_on_loop == [False]


def test_a_full_store_refuses_without_reading_the_table(
        tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the cap, a 507 reads the running totals (one row), not every drawing; the totals follow
    every insert and erase."""
    from app.state import db as database

    with app_client(tmp_path, feedback_max_count=3, database_url=database_url) as c:
        ids = [c.post("/feedback", json=body(n)).json()["id"] for n in range(3)]
        statements: list[str] = []
        real_execute = database.Connection.execute

        def execute(self: database.Connection, sql: str, params: Sequence[object] = ()) -> database.Rows:
            statements.append(sql)
            return real_execute(self, sql, params)

        monkeypatch.setattr(database.Connection, "execute", execute)
        assert c.post("/feedback", json=body(3)).status_code == 507
        monkeypatch.undo()
        assert statements and not [s for s in statements if "SUM(" in s or "COUNT(" in s], statements
        assert c.delete(f"/feedback/{ids[0]}", headers=AUTH).status_code == 204
        assert c.post("/feedback", json=body(3)).status_code == 201  # the erased one made room


def test_the_byte_cap_counts_the_strokes(tmp_path: Path, database_url: str | None) -> None:
    """The strokes are stored beside the PNG: a cap of one PNG and its long strokes keeps one such
    drawing, not two (two PNGs alone fit many times over)."""
    long_strokes = [[[140, 40 + k * 0.5] for k in range(401)]]  # the same vertical stroke, 401 points
    stored = json.dumps([[[float(x), float(y)] for x, y in s] for s in long_strokes])  # as kept
    cap = len(base64.b64decode(drawing(9).split(",", 1)[1])) + len(stored) + 50
    with app_client(tmp_path, feedback_max_bytes=cap, database_url=database_url) as c:
        assert c.post("/feedback", json=body(1, strokes=long_strokes)).status_code == 201
        full = c.post("/feedback", json=body(2, strokes=long_strokes))
        assert full.status_code == 507 and "bytes" in full.json()["detail"]


def test_the_admin_erases_every_rejected_drawing_at_once(tmp_path: Path, database_url: str | None) -> None:
    with app_client(tmp_path, feedback_max_count=3, database_url=database_url) as c:
        ids = [c.post("/feedback", json=body(n)).json()["id"] for n in range(3)]
        for feedback_id in ids[:2]:
            c.patch(f"/feedback/{feedback_id}", json={"status": "rejected"}, headers=AUTH)
        assert c.delete("/feedback?status=rejected").status_code == 401
        assert c.delete("/feedback", headers=AUTH).status_code == 422  # only the rejected, by name
        cleared = c.delete("/feedback?status=rejected", headers=AUTH)
        assert cleared.status_code == 200 and cleared.json() == {"deleted": 2}
        listed = c.get("/feedback", headers=AUTH).json()
        assert [i["id"] for i in listed["items"]] == [ids[2]]
        assert listed["counts"] == {"pending": 1, "accepted": 0, "rejected": 0}
        assert [c.post("/feedback", json=body(n)).status_code for n in (3, 4, 5)] == [201, 201, 507]


def test_a_run_reads_only_the_accepted_drawings_it_trains_on(
        tmp_path: Path, database_url: str | None) -> None:
    """Pending, rejected and held-out drawings are not read for a run, even when their ids are asked
    for (rejected since the run started)."""
    from app.feedback.accepted import held_out
    from app.feedback.store import FeedbackStore, Submission
    from app.state.store import Store

    feedback = FeedbackStore(Store(tmp_path, database_url), max_count=100, max_bytes=1 << 20)
    ids = [feedback.add(Submission(1, 1, "default", bytes([n]), bytes(784), [[[n, n]]], "c"))[0]
           for n in range(12)]
    for feedback_id in ids[:8]:
        feedback.review(feedback_id, "accepted", None)
    feedback.review(ids[0], "rejected", None)
    read = feedback.drawings(ids)
    assert read.ids == [i for i in ids[1:8] if not held_out(i)]
    assert read.strokes == [[[[n, n]]] for n, i in enumerate(ids) if i in read.ids]
