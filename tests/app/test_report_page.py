"""The admin page's compare view in a real browser: the serving version beside a candidate, on a real
server with held-out drawings and a finished run; screenshots at 1280x800 and on a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.app.conftest import ADMIN_TOKEN, WEIGHTS, serving
from tests.app.feedback.test_store import TINY_RUN, UNLIMITED, body
from tests.app.test_page import SHOTS, browser, open_page  # noqa: F401 (browser is a fixture)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Iterator[tuple[str, str]]:
    """A server with accepted drawings (some held out) and a tiny run's version: (its URL, the version)."""
    settings = Settings(weights=WEIGHTS, home=tmp_path_factory.mktemp("report-page"), data_dir=str(mnist_dir),
                        admin_token=ADMIN_TOKEN, feedback_rate=UNLIMITED)
    with serving(settings) as url:
        for width in range(5, 25):
            sent = httpx.post(f"{url}/feedback", json=body(width))
            httpx.patch(f"{url}/feedback/{sent.json()['id']}", json={"status": "accepted"}, headers=AUTH)
        run = httpx.post(f"{url}/train", json=TINY_RUN, headers=AUTH).json()
        with httpx.stream("GET", f"{url}/train/{run['id']}/events", headers=AUTH, timeout=120) as events:
            for _ in events.iter_lines():  # to the run's final event
                pass
        version = httpx.get(f"{url}/train/{run['id']}", headers=AUTH).json()["version_id"]
        assert version, "the run did not finish"
        yield url, version


def test_the_compare_view_shows_the_serving_version_beside_the_new_one(browser, server) -> None:  # noqa: F811
    url, version = server
    page, requests = open_page(browser, url, viewport={"width": 1280, "height": 800})
    page.goto(url + "/admin")
    page.get_by_test_id("token").fill(ADMIN_TOKEN)
    page.get_by_test_id("login").click()
    summary = page.get_by_test_id("compare-summary")
    summary.filter(has_text=f"{version} beside default").wait_for(timeout=60_000)
    compared = httpx.get(f"{url}/versions/compare?b={version}", headers=AUTH).json()
    held = next(s for s in compared["sets"] if s["name"] == "held_out")
    assert held["summary"] in summary.inner_text() and held["count"] >= 1
    assert page.get_by_test_id("compare-set").input_value() == "held_out"
    assert page.get_by_test_id("digit-bars").get_attribute("data-digits") == "10"
    assert page.get_by_test_id("confusion-b").get_attribute("data-cells") == "100"
    tiles = page.locator("[data-testid=lost] .digit-tile, [data-testid=gained] .digit-tile")
    assert tiles.count() == min(len(held["lost"]), 48) + min(len(held["gained"]), 48)
    # MNIST: the new version's misread digits, drawn from their pixels, with what it read
    page.get_by_test_id("compare-set").select_option("mnist_test")
    summary.filter(has_text="MNIST test digits").wait_for()
    misread = page.locator("[data-testid=misread] .digit-tile")
    assert misread.count() == 48 and " read " in misread.first.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_test_id("compare").scroll_into_view_if_needed()
    page.get_by_test_id("compare-summary").evaluate("e => e.scrollIntoView()")
    page.screenshot(path=str(SHOTS / "compare-1280x800.png"))
    page.get_by_test_id("compare").screenshot(path=str(SHOTS / "compare-card.png"))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    # functions, not expressions: an expression is evaluated as a string, which the page's CSP forbids
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390")
    bars = "document.querySelector('[data-testid=digit-bars]')"
    page.wait_for_function(f"() => Number({bars}.dataset.drawnWidth) < 390")  # drawn again to fit
    page.get_by_test_id("compare").screenshot(path=str(SHOTS / "compare-390x844.png"))
    assert all(u.startswith(url) or u.startswith("data:") for u in requests)
