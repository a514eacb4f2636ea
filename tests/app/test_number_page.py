"""Number mode of the drawing page in a real browser: write several digits, see them boxed and read."""

from __future__ import annotations

import pytest

from app.pen.pendigits import parse
from app.pen.strokes import fit_height, ink_width
from tests.app import test_page
from tests.app.test_page import SHOTS, open_page

PAD_W, PAD_H = 700, 280  # the number pad's logical size
browser = test_page.browser  # the same Chromium fixture


@pytest.fixture(scope="module")
def writer_digits(pendigits_file) -> dict[int, list[list[tuple[int, int]]]]:
    """One sample of each digit by one writer: its strokes."""
    found: dict[int, list[list[tuple[int, int]]]] = {}
    for sample in parse(pendigits_file):
        if sample.writer == 3:
            found.setdefault(sample.label, sample.strokes)
    return found


def layout(writer_digits, digits: str, height: float = 130,
           gap: float = 35) -> list[list[tuple[float, float]]]:
    """The digits' strokes in a row on the pad, ``gap`` apart, in its logical coordinates."""
    strokes, x = [], 40.0
    for ch in digits:
        placed = fit_height(writer_digits[int(ch)], height, 18, (x, (PAD_H - height) / 2))
        strokes += placed
        x += ink_width(placed, 18) + gap
    assert x < PAD_W
    return strokes


def pad_point(page, x: float, y: float) -> tuple[float, float]:
    box = page.get_by_test_id("number-canvas").bounding_box()
    return box["x"] + x / PAD_W * box["width"], box["y"] + y / PAD_H * box["height"]


def mouse_strokes(page, strokes) -> None:
    for stroke in strokes:
        page.mouse.move(*pad_point(page, *stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*pad_point(page, *point))
        page.mouse.up()


def wait_idle(page) -> None:
    """Until the page shows the answer for the drawing as it is now. Input that was sent last may
    still wait for the next animation frame to reach the pad (Chromium aligns input to frames), and
    until it does the page is idle with the answer to the drawing before it: two frames pass first."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_function("() => document.getElementById('number-mode').dataset.state === 'idle'")


def shown(page) -> tuple[str, int]:
    """The number in large type, and how many boxes are drawn."""
    value = page.get_by_test_id("number-value").inner_text().strip()
    return value, int(page.get_by_test_id("number-boxes").get_attribute("data-count") or 0)


def box_pixels(page) -> int:
    """Pixels of the boxes' blue on the overlay."""
    return page.evaluate("""() => {
        const c = document.querySelector('[data-testid=number-boxes]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > 200) n++;
        return n; }""")


def test_number_mode_with_the_mouse(browser, live_server, writer_digits) -> None:
    page, requests = open_page(browser, live_server, viewport={"width": 1100, "height": 800})
    assert page.get_by_test_id("number-mode").is_hidden()
    assert page.locator(".tagline").inner_text().startswith("Draw a digit from 0 to 9.")
    page.get_by_test_id("mode-number").click()
    assert page.get_by_test_id("number-mode").is_visible() and page.get_by_test_id("canvas").is_hidden()
    assert page.locator(".tagline").inner_text().startswith("Write a number, its digits left to right.")
    with page.expect_response("**/predict/number"):
        mouse_strokes(page, layout(writer_digits, "2026"))
    wait_idle(page)
    assert shown(page) == ("2026", 4)
    assert box_pixels(page) > 500
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "number-2026.png"), full_page=True)
    page.get_by_test_id("number-undo").click()  # the last stroke: the 6 (one stroke) goes
    wait_idle(page)
    assert shown(page) == ("202", 3)
    page.keyboard.press("Control+z")
    wait_idle(page)
    assert shown(page)[1] == 2
    page.keyboard.press("Escape")
    wait_idle(page)
    assert shown(page) == ("–", 0) and box_pixels(page) == 0
    page.get_by_test_id("mode-digit").click()  # back: the digit pad again, and the keys are its own
    assert page.get_by_test_id("canvas").is_visible() and page.get_by_test_id("number-mode").is_hidden()
    assert all(u.startswith(live_server) or u.startswith("data:") for u in requests)


def test_number_mode_on_a_phone_held_sideways(browser, live_server, writer_digits) -> None:
    page, _ = open_page(browser, live_server, viewport={"width": 844, "height": 390},
                        device_scale_factor=3, is_mobile=True, has_touch=True)
    page.get_by_test_id("mode-number").tap()
    canvas = page.get_by_test_id("number-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 844 and box["height"] <= 390  # it fits
    for stroke in layout(writer_digits, "719"):
        touch_stroke_on_pad(page, stroke)
    wait_idle(page)
    assert shown(page) == ("719", 3)
    number = page.get_by_test_id("number-value").bounding_box()
    assert number["y"] + number["height"] <= 390 and number["x"] + number["width"] <= 844  # in view
    page.screenshot(path=str(SHOTS / "number-phone-landscape.png"))


def touch_stroke_on_pad(page, points) -> None:
    """A finger drag through CDP touch events, in the number pad's coordinates (as test_page does)."""
    cdp = page.context.new_cdp_session(page)

    def send(kind: str, x: float, y: float) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})

    send("touchStart", *pad_point(page, *points[0]))
    for point in points[1:]:
        send("touchMove", *pad_point(page, *point))
    page.wait_for_timeout(200)
    send("touchMove", *pad_point(page, *points[-1]))  # a fast drag flings; one more move at rest stops it
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_the_page_sends_its_strokes_touching_digits_stay_apart(browser, live_server, writer_digits) -> None:
    """Number mode posts JSON: the PNG as a data URL and the pad's strokes (before: the PNG alone,
    from which these crossing 7 and 3 are one piece, read 780)."""
    page, _ = open_page(browser, live_server, viewport={"width": 1100, "height": 800})
    page.get_by_test_id("mode-number").click()
    strokes = layout(writer_digits, "7360", height=182, gap=-8)
    with page.expect_request("**/predict/number") as sent:
        mouse_strokes(page, strokes)
    wait_idle(page)
    body = sent.value.post_data_json
    assert body["image"].startswith("data:image/png;base64,")
    assert 1 <= len(body["strokes"]) <= len(strokes)
    assert all(len(point) == 2 for stroke in body["strokes"] for point in stroke)
    assert shown(page) == ("7360", 4)
    page.screenshot(path=str(SHOTS / "number-touching-7360.png"))


def test_a_close_second_reading_is_shown(browser, live_server, writer_digits) -> None:
    """A stroke between a 1 and a 7 (a short bar) between a 2 and a 5: the page names the other
    reading beside the number; a plain 2026 names none."""
    page, _ = open_page(browser, live_server, viewport={"width": 1100, "height": 800})
    page.get_by_test_id("mode-number").click()
    one_or_seven = [[(32, 0), (100, 0), (85, 200)]]
    with page.expect_response("**/predict/number"):
        mouse_strokes(page, layout({**writer_digits, 1: one_or_seven}, "215", height=182, gap=40))
    wait_idle(page)
    value, _ = shown(page)
    runner_up = page.get_by_test_id("number-runner-up")
    assert runner_up.is_visible()
    assert {value, runner_up.inner_text().split()[1].rstrip("?")} == {"215", "275"}
    page.screenshot(path=str(SHOTS / "number-runner-up.png"))
    page.keyboard.press("Escape")
    wait_idle(page)
    with page.expect_response("**/predict/number"):
        mouse_strokes(page, layout(writer_digits, "2026"))
    wait_idle(page)
    assert shown(page)[0] == "2026" and runner_up.is_hidden()
