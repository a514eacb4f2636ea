"""The Host header is the client's word: no page, redirect or answer repeats it (the audit's finding
11: the pages built absolute URLs from it, `<script src="http://evil.example/...">`, and `/admin/`
redirected to `http://evil.example/admin`). Every URL the server emits is a path."""

from __future__ import annotations

import re

import pytest

from tests.app.conftest import raw_http

EVIL = "evil.example"
# the pages, their slash-ended forms (redirected), a file, the schema, a 404, and a POST redirected
REQUESTS = [("GET", "/"), ("GET", "/admin"), ("GET", "/docs"), ("GET", "/admin/"), ("GET", "/docs/"),
            ("GET", "/admin/?x=1"), ("GET", "/static/style.css"), ("GET", "/openapi.json"),
            ("GET", "/livez"), ("GET", "/no-such-page"), ("POST", "/predict/")]


def asked_as(live_server: str, method: str, path: str, host: str) -> tuple[int, dict[str, str], bytes]:
    request = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    return raw_http(live_server, request.encode())


@pytest.mark.parametrize("method, path", REQUESTS)
def test_no_answer_repeats_the_host_header(live_server: str, method: str, path: str) -> None:
    status, headers, body = asked_as(live_server, method, path, EVIL)
    assert status < 500
    assert EVIL.encode() not in body
    assert [name for name, value in headers.items() if EVIL in value] == []


@pytest.mark.parametrize("path, location", [("/admin/", "/admin"), ("/docs/", "/docs"),
                                            ("/admin/?x=1", "/admin?x=1"), ("/predict/", "/predict")])
def test_a_slash_redirect_goes_to_a_path(live_server: str, path: str, location: str) -> None:
    method = "POST" if path.startswith("/predict") else "GET"
    status, headers, _ = asked_as(live_server, method, path, EVIL)
    assert (status, headers["location"]) == (307, location)


@pytest.mark.parametrize("path", ["//evil.example/", "//admin/", "/%2F%2Fadmin/", "/admin//"])
def test_no_redirect_leaves_the_site(live_server: str, path: str) -> None:
    """A Location starting with "//" would name another host: such paths are not redirected."""
    status, headers, _ = asked_as(live_server, "GET", path, "127.0.0.1")
    assert not headers.get("location", "/").startswith("//"), (status, headers)


def test_the_pages_link_their_files_by_path(live_server: str) -> None:
    for page in ("/", "/admin", "/docs"):
        _, _, html = asked_as(live_server, "GET", page, EVIL)
        links = re.findall(r'(?:src|href)="([^"]+)"', html.decode())
        files = [link for link in links if "static" in link]
        assert files and all(link.startswith("/static/") for link in files), links
