"""The model holder: which version serves, checked before it serves, following the store's promotions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from app.reading.serving import ModelHolder, VersionError
from app.state.store import Store
from model.architecture import Architecture
from model.network import Network
from model.serialize import save_model
from tests.app.conftest import WEIGHTS


def add_version(store: Store, version_id: str, seed: int = 0) -> Path:
    net = Network(Architecture((784, 16, 10)))
    net.initialize(np.random.default_rng(seed))
    path = save_model(store.versions.folder / f"{version_id}.npz", net, {})
    store.versions.add(version_id, path, hashlib.sha256(path.read_bytes()).hexdigest(), 0.5, {})
    return path


def set_stored_bytes(store: Store, version_id: str, data: bytes) -> None:
    """Change what the database keeps of a version's file, and drop this host's copy (a host with
    no copy yet, or a damaged database)."""
    with store.db.write() as db:
        db.execute("UPDATE version_files SET data = ? WHERE id = ?", (data, version_id))
    (store.versions.folder / f"{version_id}.npz").unlink(missing_ok=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Store(tmp_path, url)


def test_a_new_state_directory_serves_the_shipped_model(store: Store) -> None:
    assert ModelHolder(store, WEIGHTS).current.version == "default"


def test_promote_checks_the_file_then_serves_it_and_returns_the_previous(store: Store) -> None:
    add_version(store, "v1")
    holder = ModelHolder(store, WEIGHTS)
    assert holder.promote("v1") == "default"
    assert holder.current.version == "v1" and store.versions.promoted() == "v1"


@pytest.mark.parametrize("version_id, message", [("nope", "no version"), ("../x", "invalid version id")])
def test_unknown_or_invalid_ids_are_refused(store: Store, version_id: str, message: str) -> None:
    holder = ModelHolder(store, WEIGHTS)
    with pytest.raises(VersionError, match=message):
        holder.promote(version_id)
    assert holder.current.version == "default" and store.versions.promoted() == "default"


def test_a_changed_copy_on_disk_is_fetched_again_and_serves(store: Store) -> None:
    path = add_version(store, "v1")
    good = path.read_bytes()
    path.write_bytes(good[:-10] + bytes([good[-10] ^ 1]) + good[-9:])
    holder = ModelHolder(store, WEIGHTS)
    holder.promote("v1")
    assert holder.current.version == "v1" and path.read_bytes() == good


def test_stored_bytes_that_changed_since_they_were_recorded_are_refused(store: Store) -> None:
    good = add_version(store, "v1").read_bytes()
    set_stored_bytes(store, "v1", good[:-10] + bytes([good[-10] ^ 1]) + good[-9:])
    holder = ModelHolder(store, WEIGHTS)
    with pytest.raises(VersionError, match="SHA-256"):
        holder.promote("v1")
    assert holder.current.version == "default"


def test_sync_follows_a_promotion_made_elsewhere(store: Store) -> None:
    add_version(store, "v1")
    holder = ModelHolder(store, WEIGHTS)
    store.versions.promote("v1")  # as another worker would
    holder.sync()
    assert holder.current.version == "v1"


def test_a_promoted_version_gone_bad_while_down_serves_the_default(store: Store) -> None:
    add_version(store, "v1")
    store.versions.promote("v1")
    set_stored_bytes(store, "v1", b"not a model")
    assert ModelHolder(store, WEIGHTS).current.version == "default"


def test_a_worker_that_could_not_serve_the_promoted_version_tries_again(store: Store) -> None:
    """The promoted version's bytes were bad when this worker started; put right and promoted again
    on another worker, it is served here too, and the worker says it is degraded until then."""
    saved = add_version(store, "v1").read_bytes()
    store.versions.promote("v1")
    set_stored_bytes(store, "v1", b"damaged")
    worker_b = ModelHolder(store, WEIGHTS, retry_s=0.0)
    assert worker_b.current.version == "default" and "v1" in worker_b.problem
    worker_b.sync()
    assert worker_b.current.version == "default" and worker_b.problem  # still damaged
    set_stored_bytes(store, "v1", saved)
    ModelHolder(store, WEIGHTS).promote("v1")  # worker A
    worker_b.sync()
    assert worker_b.current.version == "v1" and worker_b.problem is None


def test_retries_wait_their_interval(store: Store) -> None:
    saved = add_version(store, "v1").read_bytes()
    store.versions.promote("v1")
    set_stored_bytes(store, "v1", b"damaged")
    holder = ModelHolder(store, WEIGHTS, retry_s=3600.0)
    set_stored_bytes(store, "v1", saved)
    holder.sync()
    assert holder.current.version == "default"  # not yet: the retry is an hour away
    holder.refused_at -= 3600.0
    holder.sync()
    assert holder.current.version == "v1"


def test_readyz_says_degraded_while_the_promoted_version_does_not_serve(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    store = Store(tmp_path)
    add_version(store, "v1")
    set_stored_bytes(store, "v1", b"not a model any more")
    store.versions.promote("v1")
    with TestClient(create_app(Settings(home=tmp_path, weights=WEIGHTS, admin_token="t" * 16))) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded" and body["model_version"] == "default"
        assert "v1" in body["detail"] and "SHA-256" in body["detail"]
        assert client.post("/predict", json={"pixels": [0.0] * 784}).json()["model_version"] == "default"
