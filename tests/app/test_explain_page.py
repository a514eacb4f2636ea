"""The "Inside the network" panel in a real browser: closed it costs nothing, open it explains each
answer, and a digit's bar asks "why not that digit?"."""

from __future__ import annotations

import pytest

from app.settings import Settings
from tests.app import test_page
from tests.app.conftest import ADMIN_TOKEN, DENSE, serving
from tests.app.test_page import ONE, SEVEN, SHOTS, mouse_stroke, open_page, touch_stroke, wait_idle

browser = test_page.browser  # the same Chromium fixture


def asked_explain(requests: list[str]) -> list[str]:
    return [u for u in requests if "/explain" in u and "/static/" not in u]


def to_top(page) -> None:
    page.evaluate("() => window.scrollTo(0, 0)")


def explained(page, digit: int) -> None:
    """Until the panel shows the explanation of ``digit``."""
    page.wait_for_function(f"() => document.getElementById('inside').dataset.explained === '{digit}'")


def saliency_colours(page) -> dict[str, int]:
    """How many of the saliency picture's pixels lean blue (towards) and red (away)."""
    return page.evaluate("""() => {
        const d = document.querySelector('[data-testid=saliency]').getContext('2d')
            .getImageData(0, 0, 28, 28).data;
        let blue = 0, red = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 2] > d[i] + 40) blue++;
            if (d[i] > d[i + 2] + 40) red++;
        }
        return { blue, red }; }""")


def units(page) -> list[tuple[str, str]]:
    """The pictures the panel shows below the layer (a dense layer's top units or the first
    convolution's feature maps): each one's caption and its picture."""
    page.wait_for_function("""() => [...document.querySelectorAll('#units img')]
        .every((img) => img.complete && img.naturalWidth === 28)""")
    return page.evaluate("""() => [...document.querySelectorAll('#units li')]
        .map((li) => [li.innerText.trim(), li.querySelector('img').src])""")


def lit_cells(page) -> int:
    return page.evaluate("""() => { const c = document.querySelector('[data-testid=hidden-layer]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 120 && d[i + 2] < 120) n++;
        return n; }""")


@pytest.fixture(scope="module")
def dense_server(tmp_path_factory, mnist_dir):
    """The shipped dense network (weights/dense.npz) serving as the default, on a real server."""
    settings = Settings(weights=DENSE, home=tmp_path_factory.mktemp("dense-home"),
                        data_dir=str(mnist_dir), admin_token=ADMIN_TOKEN)
    with serving(settings) as url:
        yield url


# what the panel shows of each shipped network: its first dense layer's size, the pictures below it
SHOWN = {"live_server": ("256", 32, "map "), "dense_server": ("800", 6, "unit ")}


@pytest.mark.parametrize("server", ["live_server", "dense_server"])
def test_the_panel_explains_each_answer_and_why_not_another_digit(request, browser, server) -> None:
    """The default (convolutional) network and the dense one, in the same panel."""
    base_url = request.getfixturevalue(server)
    layer_size, pictures, caption = SHOWN[server]
    page, requests = open_page(browser, base_url, viewport={"width": 1280, "height": 800})
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    assert not page.get_by_test_id("inside").evaluate("(el) => el.open")  # closed: the page as it was
    mouse_stroke(page, SEVEN)
    wait_idle(page)
    assert any(u.endswith("/predict") for u in requests) and not asked_explain(requests)

    page.locator("#inside summary").click()  # opening explains the drawing already there
    explained(page, 7)
    assert "Why 7?" in page.get_by_test_id("inside-lead").inner_text()
    # opened below the fold, the panel scrolled into view; its scale says what the colours mean
    page.wait_for_function("() => document.getElementById('saliency').getBoundingClientRect().bottom"
                           " <= window.innerHeight")
    assert "would change log p(7) by about" in page.get_by_test_id("saliency-peak").inner_text()
    colours = saliency_colours(page)
    assert colours["blue"] > 0 and colours["red"] > 0 and colours["blue"] + colours["red"] > 50, colours
    assert page.get_by_test_id("hidden-layer").get_attribute("data-units") == layer_size
    assert lit_cells(page) > 0
    seven_units = units(page)
    assert len(seven_units) == pictures and all(text.startswith(caption) for text, _ in seven_units)

    page.get_by_test_id("clear").click()  # each answer while open comes from /explain
    wait_idle(page)
    to_top(page)  # opening the panel scrolled the page: the canvas must be on screen to draw
    assert page.get_by_test_id("units").locator("li").count() == 0
    mouse_stroke(page, ONE)
    wait_idle(page)
    explained(page, 1)
    assert asked_explain(requests)
    assert units(page) != seven_units

    page.get_by_test_id("explain-8").click()  # "why not 8?"
    explained(page, 8)
    assert any(u.endswith("/explain?class=8") for u in requests)
    assert "Why not 8?" in page.get_by_test_id("inside-lead").inner_text()
    assert page.get_by_test_id("prediction").inner_text().strip() == "1"  # the answer stays
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"desktop-inside-why-not-8-{server}.png"))  # what the user sees

    page.get_by_test_id("explain-1").click()  # the digit read: back to "why 1?"
    explained(page, 1)
    page.locator("#inside summary").click()  # closed again: /predict again
    to_top(page)
    sent = len(requests)
    mouse_stroke(page, [(100, 250), (200, 250)])
    wait_idle(page)
    assert any(u.endswith("/predict") for u in requests[sent:]) and not asked_explain(requests[sent:])
    assert violations == []


def test_the_panel_on_a_phone(browser, live_server) -> None:
    page, requests = open_page(browser, live_server, viewport={"width": 390, "height": 844},
                               device_scale_factor=3, is_mobile=True, has_touch=True)
    panel = page.get_by_test_id("inside")
    assert not panel.evaluate("(el) => el.open")  # closed by default
    touch_stroke(page, SEVEN)
    wait_idle(page)
    assert page.get_by_test_id("prediction").inner_text().strip() == "7"
    page.locator("#inside summary").tap()
    explained(page, 7)
    assert len(units(page)) == 32  # the default network's first convolution's feature maps
    for part in ("hidden-layer", "units"):  # the layer and the maps fit the screen
        box = page.get_by_test_id(part).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (part, box)
    page.get_by_test_id("explain-3").tap()
    explained(page, 3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "phone-inside-why-not-3.png"), full_page=True)
    assert all(u.startswith(live_server) or u.startswith("data:") for u in requests)


@pytest.mark.parametrize("key", ["Enter", " "])
def test_a_bar_is_a_button_for_the_keyboard(browser, live_server, key) -> None:
    page, _ = open_page(browser, live_server, viewport={"width": 1100, "height": 900})
    mouse_stroke(page, SEVEN)
    wait_idle(page)
    page.get_by_test_id("explain-2").focus()
    page.keyboard.press(key)
    explained(page, 2)  # the panel opened itself to answer
    assert page.get_by_test_id("inside").evaluate("(el) => el.open")


def test_a_conv_network_shows_its_first_convolutions_feature_maps(browser, live_server) -> None:
    """The default network is convolutional: the panel names its maps and their layer."""
    page, _ = open_page(browser, live_server, viewport={"width": 1280, "height": 800})
    mouse_stroke(page, SEVEN)
    wait_idle(page)
    page.locator("#inside summary").click()
    explained(page, 7)
    page.wait_for_function("""() => { const imgs = [...document.querySelectorAll('#units img')];
        return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth === 28); }""")
    maps = page.get_by_test_id("units")
    assert maps.get_attribute("data-kind") == "feature-maps"
    assert maps.locator("li").all_inner_texts() == [f"map {c}" for c in range(32)]  # conv5x5x32, 'same'
    assert "feature maps" in page.locator("#units-lead").inner_text()
    assert page.get_by_test_id("hidden-layer").get_attribute("data-units") == "256"
    assert page.locator("#layer-caption").inner_text().startswith("the first dense layer")
    colours = saliency_colours(page)  # the saliency through the convolutions: both colours
    assert colours["blue"] > 0 and colours["red"] > 0, colours
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop-inside-conv-feature-maps.png"), full_page=True)
