"""The drawing page in a real browser (Debian's Chromium driven by Playwright) on a real server."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.pen.pendigits import parse
from app.pen.strokes import place
from tests.scribbles import scribble

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions"]
SHOTS = Path(os.environ.get("DIGITNET_SCREENSHOTS", "/tmp/digitnet-screenshots"))

SEVEN = [(70, 70), (210, 70), (180, 130), (150, 190), (125, 240)]
SCRIBBLE_SEED = 1  # tests/scribbles.py's random walk: energy far below the threshold (2.8 against 6.8)
ONE = [(140, 50), (140, 240)]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; scripts/test installs it")
        pytest.skip("chromium is not installed (scripts/test installs it)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pendigits_samples(pendigits_file) -> list:
    """Two digits of each kind from the start of the pen file."""
    chosen: dict[int, list] = {}
    for sample in parse(pendigits_file):
        if len(chosen.setdefault(sample.label, [])) < 2:
            chosen[sample.label].append(sample)
    return [s for digit in sorted(chosen) for s in chosen[digit]]


def open_page(browser, live_server: str, **context_args):
    context = browser.new_context(**context_args)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live_server + "/")
    return page, requests


def canvas_point(page, x: float, y: float) -> tuple[float, float]:
    """Logical canvas coordinates (0..280) -> page coordinates."""
    box = page.get_by_test_id("canvas").bounding_box()
    return box["x"] + x / 280 * box["width"], box["y"] + y / 280 * box["height"]


def mouse_stroke(page, points: list[tuple[float, float]]) -> None:
    page.mouse.move(*canvas_point(page, *points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*canvas_point(page, *p), steps=12)
    page.mouse.up()


def ink_pixels(page) -> int:
    return page.evaluate("""() => {
        const c = document.querySelector('[data-testid=canvas]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }""")


def probabilities(page) -> list[float]:
    return [float(page.get_by_test_id(f"prob-{d}").get_attribute("data-value")) for d in range(10)]


def wait_idle(page) -> None:
    """Until the page shows the answer for the drawing as it is now (no request pending)."""
    # a function, not an expression: Playwright evals an expression in the page, which the CSP forbids
    page.wait_for_function("() => document.body.dataset.state === 'idle'")


def draw_and_wait(page, points) -> str:
    mouse_stroke(page, points)
    wait_idle(page)
    return page.get_by_test_id("prediction").inner_text().strip()


def test_mouse_drawing_is_read_and_bars_update(browser, live_server) -> None:
    page, requests = open_page(browser, live_server, viewport={"width": 1280, "height": 800})
    assert page.get_by_test_id("prediction").inner_text().strip() in ("", "–", "-")
    assert draw_and_wait(page, SEVEN) == "7"
    assert ink_pixels(page) > 2000
    probs = probabilities(page)
    assert sum(probs) == pytest.approx(1.0, abs=0.01) and max(probs) == probs[7]
    preview_ink = page.evaluate("""() => { const c = document.querySelector('[data-testid=preview]');
        const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 64) n++; return n; }""")
    assert preview_ink > 30
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop-seven.png"))
    # on a laptop's screen the whole answer is in view beside the canvas, without scrolling
    answer = ["prediction", "preview", "prob-0", "prob-9", "feedback-right", "feedback-9"]
    boxes = {name: page.get_by_test_id(name).bounding_box() for name in answer}
    assert all(b["y"] + b["height"] <= 800 for b in boxes.values()), boxes
    assert boxes["prediction"]["x"] > page.get_by_test_id("canvas").bounding_box()["x"] + 280  # beside it
    outside = [u for u in requests if not u.startswith(live_server) and not u.startswith("data:")]
    assert outside == []


def test_live_updates_are_throttled(browser, live_server) -> None:
    page, requests = open_page(browser, live_server)
    start = page.evaluate("performance.now()")
    x, y = canvas_point(page, 60, 140)
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(120):  # a long wiggly stroke with many pointer moves
        page.mouse.move(*canvas_point(page, 60 + i * 1.3, 140 + 40 * math.sin(i / 8)))
    page.mouse.up()
    wait_idle(page)  # the last drawing answered: every request the stroke caused is counted
    # requests start 150 ms apart or more by the page's own clock, however slow the machine: a bound
    # on the count in the time the stroke and its answers took, not a timing of the machine
    elapsed_ms = page.evaluate("performance.now()") - start
    n_predict = sum(u.endswith("/predict") for u in requests)
    assert 1 <= n_predict <= elapsed_ms / 150 + 2


def test_undo_and_clear_with_buttons_and_keys(browser, live_server) -> None:
    page, _ = open_page(browser, live_server)
    draw_and_wait(page, ONE)
    one_stroke = ink_pixels(page)
    draw_and_wait(page, [(90, 80), (200, 80)])
    assert ink_pixels(page) > one_stroke
    page.get_by_test_id("undo").click()
    wait_idle(page)
    assert ink_pixels(page) == one_stroke
    assert page.get_by_test_id("prediction").inner_text().strip() == "1"
    page.get_by_test_id("clear").click()
    wait_idle(page)
    assert ink_pixels(page) == 0
    assert page.get_by_test_id("prediction").inner_text().strip() in ("–", "-", "")
    assert max(probabilities(page)) == 0.0
    draw_and_wait(page, ONE)
    page.keyboard.press("Control+z")
    wait_idle(page)
    assert ink_pixels(page) == 0 and page.get_by_test_id("prediction").inner_text().strip() == "–"
    draw_and_wait(page, ONE)
    page.keyboard.press("Escape")
    wait_idle(page)
    assert ink_pixels(page) == 0 and page.get_by_test_id("prediction").inner_text().strip() == "–"


def touch_stroke(page, points: list[tuple[float, float]]) -> None:
    """A finger drag through CDP touch events (Playwright's touchscreen only taps)."""
    cdp = page.context.new_cdp_session(page)

    def send(kind: str, x: float, y: float) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})

    first = canvas_point(page, *points[0])
    send("touchStart", *first)
    last = first
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for t in range(1, 11):
            last = canvas_point(page, x0 + (x1 - x0) * t / 10, y0 + (y1 - y0) * t / 10)
            send("touchMove", *last)
    page.wait_for_timeout(200)
    send("touchMove", *last)  # a fast drag flings; one more move at rest stops it
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_finger_drawing_on_a_phone(browser, live_server) -> None:
    page, requests = open_page(browser, live_server, viewport={"width": 390, "height": 844},
                               device_scale_factor=3, is_mobile=True, has_touch=True)
    touch_stroke(page, SEVEN)
    wait_idle(page)
    assert ink_pixels(page) > 2000
    assert page.get_by_test_id("prediction").inner_text().strip() == "7"
    assert page.evaluate("window.scrollY") == 0  # drawing did not scroll the page
    box = page.get_by_test_id("canvas").bounding_box()
    assert box["width"] <= 390 and box["x"] >= 0  # the canvas fits the phone's screen
    answer = page.get_by_test_id("prediction").bounding_box()
    assert answer["y"] + answer["height"] <= 844  # the answer shows without scrolling
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-seven.png"), full_page=True)
    assert all(u.startswith(live_server) or u.startswith("data:") for u in requests)


def test_real_pen_digits_replayed_on_the_canvas(browser, live_server, pendigits_samples) -> None:
    """Real handwriting (pendigits trajectories) drawn with the mouse, stroke by stroke, is read."""
    page, _ = open_page(browser, live_server, viewport={"width": 1000, "height": 800})
    right, wrong = 0, []
    for sample in pendigits_samples:
        for stroke in place(sample.strokes, 280, 0.65, 18.0):
            page.mouse.move(*canvas_point(page, *stroke[0]))
            page.mouse.down()
            for point in stroke[1:]:
                page.mouse.move(*canvas_point(page, *point))
            page.mouse.up()
        wait_idle(page)
        read = page.get_by_test_id("prediction").inner_text().strip()
        if read == str(sample.label):
            right += 1
        else:
            wrong.append((sample.writer, sample.index, sample.label, read))
        page.keyboard.press("Escape")
        wait_idle(page)
    assert right >= 0.9 * len(pendigits_samples), wrong


def test_admin_page_starts_a_run_and_draws_the_charts(browser, live_server, settings) -> None:
    from tests.app.conftest import ADMIN_TOKEN

    page, requests = open_page(browser, live_server, viewport={"width": 1100, "height": 1300})
    page.goto(live_server + "/admin")
    page.get_by_test_id("token").fill("wrong")
    page.get_by_test_id("login").click()
    page.wait_for_selector("text=The token was refused.")
    page.get_by_test_id("token").fill(ADMIN_TOKEN)
    page.get_by_test_id("login").click()
    page.wait_for_selector("[data-testid=start]")
    # a network the server cannot train is refused saying why, from the form too
    page.get_by_test_id("layers").fill("conv5x5x64, pool, conv5x5x128, pool, dense256, dense10")
    page.get_by_test_id("start").click()
    page.locator("#train-error").filter(has_text="multiply-adds for each digit").wait_for()
    page.get_by_test_id("layers").fill("")
    page.fill("input[name=hidden]", "32")
    page.fill("input[name=epochs]", "3")
    page.fill("input[name=limit]", "3000")
    page.fill("input[name=lr]", "0.5")
    page.get_by_test_id("start").click()
    page.get_by_test_id("run-status").filter(has_text="finished").wait_for(timeout=120_000)
    loss_points = int(page.get_by_test_id("loss-chart").get_attribute("data-points"))
    acc_points = int(page.get_by_test_id("acc-chart").get_attribute("data-points"))
    assert loss_points >= 3 and acc_points == 6  # train and test accuracy for 3 epochs
    runs = page.get_by_test_id("runs").inner_text()
    assert "finished" in runs and (settings.home / "host-id").read_text().strip() in runs  # where it ran
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin-finished.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SHOTS / "admin-1280x800.png"))
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: tables scroll inside their cards
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "admin-390x844.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 1300})
    token_in_storage = page.evaluate("sessionStorage.getItem('digitnet-admin-token')")
    assert token_in_storage == ADMIN_TOKEN and page.context.cookies() == []
    # Roll back says where it would go, or is disabled saying why, as GET /versions does
    back = page.get_by_test_id("rollback")
    rollback_to = httpx.get(f"{live_server}/versions", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                            ).json()["rollback_to"]
    if rollback_to is None:
        assert back.is_disabled() and "Nothing to roll back to" in back.get_attribute("title")
    else:
        assert back.is_enabled() and back.inner_text() == f"Roll back to {rollback_to}"
    # the run's version can be deleted from the page, after a confirmation
    version = "run-" + page.get_by_test_id("run-id").inner_text()
    version_row = page.get_by_test_id("versions").locator("tr", has_text=version)
    page.once("dialog", lambda dialog: dialog.accept())
    version_row.get_by_role("button", name="Delete").click()
    version_row.wait_for(state="detached")
    assert version not in page.get_by_test_id("versions").inner_text()
    assert all(u.startswith(live_server) or u.startswith("data:") for u in requests)


def test_api_docs_page_works_offline(browser, live_server) -> None:
    page, requests = open_page(browser, live_server, viewport={"width": 1100, "height": 1400})
    page.goto(live_server + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 4  # the operations are listed
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "api-docs.png"))
    assert all(u.startswith(live_server) or u.startswith("data:") for u in requests), requests


BAR = [(60, 140), (220, 140)]  # a horizontal bar: no digit of MNIST looks like it


def test_the_whole_feedback_loop_teaches_the_network_a_drawing(browser, live_server) -> None:
    """Draw, correct the answer, accept it in /admin, train a small run with it, promote: the new
    version reads the drawing as corrected."""
    import httpx

    from app.feedback.accepted import held_out
    from tests.app.conftest import ADMIN_TOKEN

    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    page, _ = open_page(browser, live_server, viewport={"width": 1100, "height": 900})
    sent: list[str] = []
    page.on("response", lambda r: sent.append(r.json()["id"]) if r.url.endswith("/feedback") else None)
    for shift in range(0, 60, 6):  # until a drawing is not in the held-out share (which is never trained on)
        page.keyboard.press("Escape")
        read = draw_and_wait(page, [(x, y + shift) for x, y in BAR])
        assert page.get_by_test_id("feedback").is_visible()
        with page.expect_response("**/feedback"):
            page.keyboard.press("4")  # "No, it's a 4"
        assert "4" in page.get_by_test_id("feedback-thanks").inner_text()
        if not held_out(sent[-1]):
            break
    feedback_id, bar = sent[-1], [(x, y + shift) for x, y in BAR]
    assert read != "4", "pick another drawing: the shipped model already reads this one as 4"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "feedback-sent.png"), full_page=True)

    admin = page.context.new_page()
    admin.goto(live_server + "/admin")
    admin.get_by_test_id("token").fill(ADMIN_TOKEN)
    admin.get_by_test_id("login").click()
    tile = admin.locator(f"[data-id='{feedback_id}']")
    tile.wait_for()
    assert tile.get_by_test_id("review-strokes").is_visible()  # what a run learns from, beside it
    tile.focus()
    tile.press("a")
    admin.locator(f"[data-id='{feedback_id}']").wait_for(state="detached")  # gone from "pending"
    admin.screenshot(path=str(SHOTS / "admin-review.png"), full_page=True)
    admin.fill("input[name=hidden]", "64")
    admin.fill("input[name=epochs]", "3")
    admin.fill("input[name=limit]", "3000")
    admin.fill("input[name=lr]", "0.5")
    admin.get_by_test_id("train-feedback").check()
    admin.get_by_test_id("start").click()
    admin.get_by_test_id("run-status").filter(has_text="finished").wait_for(timeout=180_000)
    run_id = admin.get_by_test_id("run-id").inner_text()
    try:
        version_row = admin.get_by_test_id("versions").locator("tr", has_text=f"run-{run_id}")
        admin.on("dialog", lambda dialog: dialog.accept())
        version_row.get_by_role("button", name="Promote").click()
        admin.get_by_test_id("serving").filter(has_text=f"run-{run_id}").wait_for()
        page.keyboard.press("Escape")
        assert draw_and_wait(page, bar) == "4"
        page.screenshot(path=str(SHOTS / "feedback-learned.png"), full_page=True)
    finally:  # the session's other tests expect the shipped model
        httpx.post(f"{live_server}/versions/default/promote?force=true", headers=auth)


def test_a_scribble_is_not_called_a_digit(browser, live_server) -> None:
    """A random walk (tests/scribbles.py) fitted to the canvas: the page says it does not look like a
    digit, and names the closest one; a 7 after it reads as 7 again."""
    walk = np.array(scribble(np.random.default_rng(SCRIBBLE_SEED))[0])
    walk = 30 + (walk - walk.min(axis=0)) / np.ptp(walk, axis=0).max() * 220  # into 30..250
    page, _ = open_page(browser, live_server, viewport={"width": 1280, "height": 800})
    mouse_stroke(page, [tuple(p) for p in walk.tolist()])
    wait_idle(page)
    assert page.get_by_test_id("prediction").inner_text().strip() == "?"
    assert "does not look like a digit (closest:" in page.locator("#confidence").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop-scribble.png"))
    page.get_by_test_id("clear").click()
    assert draw_and_wait(page, SEVEN) == "7" and "sure" in page.locator("#confidence").inner_text()


def test_the_admin_erases_the_rejected_drawings_with_one_click(browser, live_server) -> None:
    import httpx

    from tests.app.conftest import ADMIN_TOKEN
    from tests.app.feedback.test_store import body

    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    sent = httpx.post(f"{live_server}/feedback", json=body(9001), headers={"X-Forwarded-For": "192.0.2.77"})
    assert sent.status_code == 201, sent.text
    httpx.patch(f"{live_server}/feedback/{sent.json()['id']}", json={"status": "rejected"}, headers=auth)
    admin = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    admin.goto(live_server + "/admin")
    admin.get_by_test_id("token").fill(ADMIN_TOKEN)
    admin.get_by_test_id("login").click()
    admin.get_by_test_id("review-counts").filter(has_text="rejected").wait_for()
    assert " 0 rejected" not in admin.get_by_test_id("review-counts").inner_text()
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.get_by_test_id("review-clear-rejected").click()
    admin.get_by_test_id("review-counts").filter(has_text=" 0 rejected").wait_for()
    assert httpx.get(f"{live_server}/feedback?status=rejected", headers=auth).json()["items"] == []


def test_a_drawing_sent_again_with_another_label_says_the_first_label_stands(browser, live_server) -> None:
    page, _ = open_page(browser, live_server, viewport={"width": 1280, "height": 800})
    stroke = [(60, 200), (140, 60), (220, 200)]  # the same drawing twice: the same PNG, kept once
    for key, said in (("4", "noted as a 4"), ("7", "You sent this drawing before, as a 4: that label stands, "
                                                    "not 7.")):
        page.keyboard.press("Escape")
        draw_and_wait(page, stroke)
        with page.expect_response("**/feedback") as sent:
            page.keyboard.press(key)
        assert sent.value.ok
        page.get_by_test_id("feedback-thanks").filter(has_text=said).wait_for()
