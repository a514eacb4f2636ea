"""Model files shipped beside the default one (DIGITNET_EXTRA_MODELS): offered once each as a version
the admin may promote, on a real app and a real SQLite file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from model.serialize import load_model
from tests.app.conftest import ADMIN_TOKEN, DENSE, WEIGHTS, drawn_one

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def version_ids(client: TestClient) -> list[str]:
    return [v["id"] for v in client.get("/versions", headers=AUTH).json()["versions"]]


def test_an_extra_model_is_offered_once_and_serves_when_promoted(tmp_path: Path, mnist_dir: Path) -> None:
    settings = Settings(weights=WEIGHTS, home=tmp_path, admin_token=ADMIN_TOKEN, data_dir=str(mnist_dir),
                        extra_models=(("dense", DENSE),))
    with TestClient(create_app(settings)) as client:
        listed = {v["id"]: v for v in client.get("/versions", headers=AUTH).json()["versions"]}
        assert listed["dense"]["sha256"] == hashlib.sha256(DENSE.read_bytes()).hexdigest()
        assert listed["dense"]["test_accuracy"] == load_model(DENSE).meta["test_accuracy"]
        assert client.post("/versions/dense/promote", headers=AUTH).status_code == 200
        png = {"content": drawn_one(), "headers": {"content-type": "image/png"}}
        assert client.post("/predict", **png).json()["model_version"] == "dense"
        explained = client.post("/explain", **png).json()
        assert explained["model_version"] == "dense"  # the dense network explains by its units
        assert len(explained["units"]) == 6 and explained["feature_maps"] == []
        assert client.post("/versions/rollback", headers=AUTH).json()["promoted"] == "default"
        assert client.delete("/versions/dense", headers=AUTH).status_code == 204
    with TestClient(create_app(settings)) as client:  # started again: what the admin deleted stays deleted
        assert "dense" not in version_ids(client)
        assert client.post("/predict", **png).json()["model_version"] == "default"
