"""Ids from a path or a body are checked before they reach the database, on SQLite and on
PostgreSQL alike: a NUL, a newline or a stranger character is a 422 saying why, never a 500 (the
audit's finding 9: PostgreSQL refuses NUL in text, and that refusal was a traceback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.state.store import Store
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS
from tests.app.feedback.test_store import body

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BAD_IDS = ["%00", "x%00", "x%0A", "x%20y", "a.b", "-x", "x" * 65]
# every route that takes an id in its path, as (method, path with {id}, JSON body)
ID_ROUTES = [
    ("GET", "/train/{id}", None),
    ("POST", "/train/{id}/cancel", None),
    ("GET", "/train/{id}/events", None),
    ("POST", "/versions/{id}/promote", None),
    ("DELETE", "/versions/{id}", None),
    ("PATCH", "/feedback/{id}", {"status": "accepted"}),
    ("DELETE", "/feedback/{id}", None),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else None


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(weights=WEIGHTS, home=tmp_path, admin_token=ADMIN_TOKEN, database_url=database_url)
    # a 500 comes back as a 500 here, as a client would see it, rather than as the server's exception
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def refused_saying_why(response, field: str) -> None:
    """A 422 naming the field, in the API's one error shape ('path.run_id: ...', 'model_version: ...')."""
    assert response.status_code == 422, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert detail.split(":")[0].split(".")[-1] == field and "pattern" in detail, detail


def test_a_drawings_model_version_is_checked_before_the_database(client: TestClient) -> None:
    for version in ["x\u0000", "default\n", "a b", "x" * 65]:
        refused_saying_why(client.post("/feedback", json=body(model_version=version)), "model_version")
    assert client.post("/feedback", json=body()).status_code == 201  # "default" still goes


@pytest.mark.parametrize("method, path, json", ID_ROUTES)
def test_an_id_in_a_path_is_checked_before_the_database(client: TestClient, method: str, path: str,
                                                        json: dict | None) -> None:
    for bad in BAD_IDS:
        response = client.request(method, path.format(id=bad), json=json, headers=AUTH)
        field = path.split("{")[0].strip("/").split("/")[0]
        refused_saying_why(response, {"train": "run_id", "versions": "version_id"}.get(field, "feedback_id"))
    assert client.request(method, path.format(id="abc123"), json=json, headers=AUTH).status_code == 404


def test_the_database_turns_a_refused_value_into_an_error_of_its_own(tmp_path: Path,
                                                                     database_url: str | None) -> None:
    """The net under the checks above: a NUL that reaches PostgreSQL is a RefusedValueError (the
    app answers 422), not the driver's own error; SQLite stores it, so there it is just not found."""
    from app.state.db import RefusedValueError  # here, so that the tests above run on the code before it

    store = Store(tmp_path / "home", database_url)
    with store.db.connect() as db:
        if database_url:
            with pytest.raises(RefusedValueError, match="NUL"):
                db.execute("SELECT id FROM runs WHERE id = ?", ("x\x00",))
        else:
            assert db.execute("SELECT id FROM runs WHERE id = ?", ("x\x00",)).fetchall() == []
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0  # the connection goes on


def test_a_number_the_database_cannot_hold_is_a_422(client: TestClient) -> None:
    """An offset past 64 bits reaches the database unchecked: SQLite's driver cannot bind it,
    PostgreSQL refuses it; both are the database's refusal, answered 422 with its reason."""
    response = client.get("/feedback", params={"offset": 10**20}, headers=AUTH)
    assert response.status_code == 422 and isinstance(response.json()["detail"], str), response.text
    assert client.get("/feedback", params={"offset": 10}, headers=AUTH).status_code == 200
