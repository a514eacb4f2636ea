"""Overload and slowness: a quick 503 with Retry-After instead of an unbounded queue."""

from __future__ import annotations

import asyncio

import httpx
from fastapi.testclient import TestClient

from app.limits import InFlightLimitMiddleware
from app.main import create_app
from app.routes.predict import INLINE_PIXELS
from app.settings import Settings
from tests.app.conftest import WEIGHTS, drawn_one


def test_requests_beyond_the_limit_get_503_at_once() -> None:
    release = asyncio.Event()

    async def slow_app(scope, receive, send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = InFlightLimitMiddleware(slow_app, limit=2)

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            tasks = [asyncio.create_task(client.post("/predict")) for _ in range(5)]
            await asyncio.sleep(0.2)
            refused = [t for t in tasks if t.done()]
            assert len(refused) == 3  # answered while the two admitted ones still wait
            release.set()
            responses = await asyncio.gather(*tasks)
            assert (await client.get("/livez")).status_code == 200  # not counted
            return responses

    responses = asyncio.run(scenario())
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 503, 503, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]
    assert app.in_flight == 0


def test_a_prediction_that_takes_too_long_is_cut_off(tmp_path) -> None:
    settings = Settings(weights=WEIGHTS, home=tmp_path, request_timeout_s=1e-6)
    png = {"content-type": "image/png"}
    with TestClient(create_app(settings)) as client:
        assert 280 * 280 > INLINE_PIXELS  # so it goes to the worker thread, where the timeout applies
        response = client.post("/predict", content=drawn_one(280), headers=png)
        assert response.status_code == 503 and "took longer" in response.json()["detail"]
        assert response.headers["retry-after"] == "1"
        assert client.get("/readyz").status_code == 200
        # a page-sized drawing is bounded work, answered on the event loop: no timeout can hit it
        assert 140 * 140 <= INLINE_PIXELS
        assert client.post("/predict", content=drawn_one(140), headers=png).json()["digit"] == 1


def test_bad_utf8_and_deep_nesting_are_400_not_500(client) -> None:
    for body in (b'{"pixels": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000):
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text
