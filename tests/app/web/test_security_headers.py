"""Every answer carries the security headers; the pages run under the policy without a violation."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from app.web.security import SECURITY_HEADERS, SecurityHeadersMiddleware
from tests.app.conftest import ADMIN_TOKEN, drawn_one

try:
    from tests.app.test_page import SEVEN, SHOTS, browser, draw_and_wait  # noqa: F401 (browser: fixture)
except pytest.skip.Exception:  # no Playwright: the header tests still run, the browser ones skip

    @pytest.fixture
    def browser():
        pytest.skip("playwright is not installed")

EXPECTED = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
PAGES = ["/", "/admin", "/docs"]


def assert_secured(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], name


@pytest.mark.parametrize("path", [*PAGES, "/openapi.json", "/static/app.js", "/livez", "/no-such-page"])
def test_every_answer_carries_the_headers(client, path) -> None:
    assert_secured(client.get(path))


def test_predictions_and_refusals_carry_the_headers(client) -> None:
    answer = client.post("/predict", content=drawn_one(), headers={"Content-Type": "image/png"})
    assert answer.status_code == 200
    assert_secured(answer)
    assert_secured(client.post("/predict", content=b"not an image"))
    assert_secured(client.get("/versions"))  # 401 without the admin token


def test_the_policy_forbids_inline_code_eval_and_framing() -> None:
    policy = dict(d.split(" ", 1) for d in EXPECTED["content-security-policy"].split("; "))
    for directive in ("script-src", "style-src", "default-src"):
        assert policy[directive] == "'self'", directive
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert EXPECTED["x-frame-options"] == "DENY" and EXPECTED["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_hold_no_inline_script_or_style(client, path) -> None:
    html = client.get(path).text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"<style\b|\sstyle=|\son[a-z]+=", html) == []


def test_a_header_the_app_set_is_kept_not_doubled() -> None:
    inner = FastAPI()

    @inner.get("/")
    def own_policy() -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"Content-Security-Policy": "sandbox",
                                                "Referrer-Policy": "same-origin"})

    response = TestClient(SecurityHeadersMiddleware(inner)).get("/")
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers.get_list("referrer-policy") == ["same-origin"]
    assert response.headers.get_list("x-frame-options") == ["DENY"]


# In every document, before its own scripts: collect the CSP violations the browser reports
VIOLATION_PROBE = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""

# A canary: an injected inline script must be refused, which also shows that the probe listens
INJECT_INLINE_SCRIPT = """() => { const s = document.createElement("script");
  s.textContent = "window.injectedRan = true"; document.head.append(s); }"""


def open_watched(browser, url: str, viewport: dict):
    """A page at ``url`` that records CSP violations, console errors (a module that failed to load
    says so only there) and uncaught errors."""
    page = browser.new_context(viewport=viewport).new_page()
    page.add_init_script(VIOLATION_PROBE)
    complaints: list[str] = []
    noted = lambda m: m.type == "error" or "Content Security Policy" in m.text  # noqa: E731
    page.on("console", lambda m: complaints.append(m.text) if noted(m) else None)
    page.on("pageerror", lambda e: complaints.append(str(e)))
    response = page.goto(url)
    assert_secured_headers(response.headers)
    return page, complaints


def assert_no_violation_then_canary(page, complaints: list[str]) -> None:
    page.wait_for_timeout(200)  # violation events are queued tasks: let any pending one arrive
    assert page.evaluate("window.cspViolations") == [] and complaints == []
    page.evaluate(INJECT_INLINE_SCRIPT)
    page.wait_for_function("() => window.cspViolations.length > 0")
    assert page.evaluate("window.injectedRan") is None
    assert page.evaluate("window.cspViolations")[0].startswith("script-src")


def assert_secured_headers(headers: dict[str, str]) -> None:
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, name


def test_pages_run_in_a_browser_without_a_policy_violation(browser, live_server) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)

    page, complaints = open_watched(browser, live_server + "/", {"width": 1100, "height": 800})
    with page.expect_response("**/predict") as predicted:
        assert draw_and_wait(page, SEVEN) == "7"
    assert predicted.value.ok
    assert page.get_by_test_id("prob-7").bounding_box()["width"] > 0  # a width set from JS (CSSOM)
    page.screenshot(path=str(SHOTS / "csp-drawing.png"))
    assert_no_violation_then_canary(page, complaints)

    page, complaints = open_watched(browser, live_server + "/admin", {"width": 1100, "height": 1000})
    page.get_by_test_id("token").wait_for(state="visible")
    page.screenshot(path=str(SHOTS / "csp-admin-login.png"))
    page.get_by_test_id("token").fill(ADMIN_TOKEN)
    page.get_by_test_id("login").click()
    page.get_by_test_id("start").wait_for(state="visible")
    page.screenshot(path=str(SHOTS / "csp-admin-panel.png"), full_page=True)
    assert_no_violation_then_canary(page, complaints)

    page, complaints = open_watched(browser, live_server + "/docs", {"width": 1100, "height": 1400})
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 4
    page.locator(".opblock-summary").first.click()  # open an operation: its schema and examples render
    page.wait_for_selector(".opblock-body", timeout=10_000)
    page.screenshot(path=str(SHOTS / "csp-docs.png"))
    assert_no_violation_then_canary(page, complaints)


@pytest.fixture
def framing_site(live_server) -> Iterator[str]:
    """Another origin (a second port on 127.0.0.1) whose page frames the drawing page."""
    page = f'<iframe src="{live_server}/" width="600" height="400"></iframe>'.encode()

    class Framer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Framer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_another_site_cannot_frame_the_pages(browser, live_server, framing_site) -> None:
    page = browser.new_context().new_page()
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text), \
            page.expect_response(f"{live_server}/") as framed:
        page.goto(framing_site)
    assert_secured_headers(framed.value.headers)
    page.frames[1].wait_for_url("chrome-error://**")  # the browser shows its error page instead
