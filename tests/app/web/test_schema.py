"""schemathesis against the app's own OpenAPI schema, in-process: no 5xx, responses match the schema."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import WEIGHTS

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
APP = create_app(Settings(weights=WEIGHTS, home=Path(tempfile.mkdtemp(prefix="digitnet-schema-"))))
CLIENT = TestClient(APP).__enter__()  # runs the lifespan: the model is loaded into APP.state
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_5xx_and_matches_its_schema(case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
