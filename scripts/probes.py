"""Try the server's doors as an attacker on this machine would, and say how each probe was answered.

    .venv/bin/python scripts/probes.py [--url http://127.0.0.1:8000 --token TOKEN] [--markdown]
    .venv/bin/python scripts/probes.py --hostile-numbers 64   # a normal client beside 64 costly ones
    .venv/bin/python scripts/probes.py --timeouts 5           # threads and memory after timeouts

Without --url it serves the app itself (``digitnet serve`` on a free port, a temporary state
directory; ``--root`` serves another checkout, such as the code before a change). Each probe is
sent over a raw socket, as it is (no HTTP client fixes it up); the table shows the answer's status
(or "closed" when the server closed the connection without one), the time it took, and whether
the server was healthy afterwards: ``/livez`` answers and a drawing of a 1 is read as 1 within a
second. It exits 1 if any probe got a 5xx, hung, or left the server unhealthy. docs/security.md
holds a run's table.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from work_probes import crowd_report, hostile_numbers, lines_png, repeated_timeouts

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Answer:
    status: str  # "200", "408", ..., "closed", "timeout"
    seconds: float
    note: str = ""


Then = Callable[[socket.socket], None] | None


def exchange(url: str, data: bytes, timeout: float = 15.0, then: Then = None) -> tuple[str, bytes]:
    """Send ``data``, optionally do more (``then``), read to the close; (status or 'closed', bytes)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if then:
                then(sock)
        except OSError:
            pass  # the server may close while we still send: what it answered is what counts
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except TimeoutError:
            return "timeout", received
        except OSError:
            pass
    if not received.startswith(b"HTTP/1."):
        return "closed", received
    return received.split(b" ", 2)[1].decode(), received


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
            length: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: probe"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if length and body and not any(k.lower() == "content-length" for k in headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def drawn_one() -> bytes:
    image = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(image).line([(70, 20), (70, 120)], fill=0, width=10)
    return png(image)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_header(side: int) -> bytes:
    """A PNG that claims to be side x side pixels (a decompression bomb's header) and holds little."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    idat = png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + png_chunk(b"IEND", b"")


def text_chunk_png(n: int) -> bytes:
    data = png(Image.new("L", (28, 28)))
    text = png_chunk(b"zTXt", b"comment\0\0" + zlib.compress(b"a" * 1_000_000, 9))
    return data[:33] + text * n + data[33:]


def multipart(files: list[bytes], name: str = "file") -> tuple[str, bytes]:
    boundary = "probe" + secrets.token_hex(4)
    parts = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="d.png"\r\n'
                     f"Content-Type: image/png\r\n\r\n".encode() + f + b"\r\n" for f in files)
    return f"multipart/form-data; boundary={boundary}", parts + f"--{boundary}--\r\n".encode()


def slow_sender(pieces: list[bytes], pause_s: float) -> Callable[[socket.socket], None]:
    def send(sock: socket.socket) -> None:
        for piece in pieces:
            time.sleep(pause_s)
            sock.sendall(piece)
    return send


def probes(token: str) -> Iterator[tuple[str, bytes, Then]]:
    """(what is tried, the bytes sent first, what is done next on the socket)."""
    auth = {"Authorization": f"Bearer {token}"}
    json_type = {"Content-Type": "application/json"}
    one = drawn_one()
    mib_chunk = b"100000\r\n" + b"x" * (1 << 20) + b"\r\n"
    yield "Content-Length 10 and Transfer-Encoding: chunked, 40 MiB behind", request(
        "POST", "/predict", {"Content-Type": "image/png", "Content-Length": "10",
                             "Transfer-Encoding": "chunked"}, length=False), \
        slow_sender([mib_chunk] * 40 + [b"0\r\n\r\n"], 0.0)
    yield "chunked body of 2 MiB, no Content-Length", request(
        "POST", "/predict", {"Content-Type": "image/png", "Transfer-Encoding": "chunked"}, length=False), \
        slow_sender([mib_chunk] * 2 + [b"0\r\n\r\n"], 0.0)
    png_type = {"Content-Type": "image/png"}
    yield "Content-Length 100 MiB declared", request(
        "POST", "/predict", {**png_type, "Content-Length": str(100 << 20)}, length=False), None
    yield "head never finished (slowloris)", b"POST /predict HTTP/1.1\r\nHost: probe\r\nX-a: b\r\n", None
    yield "body stalls after 4 of 1,000 bytes", request(
        "POST", "/predict", {**png_type, "Content-Length": "1000"}, length=False) + b"\x89PNG", None
    yield "body sent one byte every 0.3 s", request(
        "POST", "/predict", {"Content-Type": "image/png", "Content-Length": str(len(one))}, length=False), \
        slow_sender([one[i:i + 1] for i in range(40)], 0.3)
    yield "unknown run's event stream", request("GET", "/train/no-such-run/events", auth), None
    yield "Last-Event-ID of 5,000 digits", request("GET", "/train/no-such-run/events",
                                                   {**auth, "Last-Event-ID": "9" * 5000}), None
    yield "training with lr NaN", request("POST", "/train", {**auth, **json_type}, b'{"lr": NaN}'), None
    yield "pixels with Infinity", request("POST", "/predict", json_type,
                                          b'{"pixels": [' + b"0," * 783 + b"Infinity]}"), None
    yield "a made-up HTTP method", request("FROB", "/predict"), None
    yield "version id with a trailing newline", request("POST", "/versions/default%0A/promote", auth), None
    yield "4 layers of 4096 units, 200 epochs", request(
        "POST", "/train", {**auth, **json_type}, b'{"hidden": [4096, 4096, 4096, 4096], "epochs": 200}'), None
    yield "952 KB PNG of compressed text chunks", request(
        "POST", "/predict", {"Content-Type": "image/png"}, text_chunk_png(900)), None
    kind, body = multipart([png(Image.new("L", (2048, 2048), 255))] * 3)
    yield "batch of three 2048x2048 images", request(
        "POST", "/predict/batch", {"Content-Type": kind}, body), None
    yield "PNG claiming 100,000 x 100,000 pixels", request(
        "POST", "/predict", {"Content-Type": "image/png"}, bomb_header(100_000)), None
    yield "path traversal out of /static", request("GET", "/static/../app/settings.py"), None
    yield "encoded traversal out of /static", request("GET", "/static/%2e%2e/%2e%2e/etc/passwd"), None
    yield "a 64 KiB header line", request("GET", "/livez", {"X-Long": "a" * 65536}), None
    yield "Transfer-Encoding: chunked, identity", request(
        "POST", "/predict", {"Content-Type": "image/png", "Transfer-Encoding": "chunked, identity"},
        b"5\r\nhello\r\n0\r\n\r\n", length=False), None
    yield "two Content-Length headers that differ", request(
        "POST", "/predict", {"Content-Type": "image/png", "Content-Length": "5"}, length=False).replace(
        b"Connection: close", b"Content-Length: 7\r\nConnection: close") + b"hello", None
    yield "Content-Length of -1", request("POST", "/predict", {"Content-Type": "image/png",
                                                               "Content-Length": "-1"}, length=False), None
    yield "100 pipelined requests in one packet", b"".join(
        request("GET", "/livez").replace(b"Connection: close\r\n", b"") for _ in range(99)) + request(
        "GET", "/livez"), None
    kind, body = multipart([b"x"] * 1000)
    yield "1,000 file fields to /predict", request("POST", "/predict", {"Content-Type": kind}, body), None
    yield "JSON nested 100,000 deep", request(
        "POST", "/predict", json_type, b"[" * 100_000 + b"]" * 100_000), None
    yield "1 MiB of pixels, 130,000 numbers", request(
        "POST", "/predict", json_type, b'{"pixels": [' + b"0.5," * 130_000 + b"0.5]}"), None
    yield "admin route with the token in the query", request("GET", f"/versions?token={token}"), None
    yield "SQL-like run id", request("GET", "/train/1'%20OR%20'1'='1", auth), None
    yield "Expect: 100-continue with 50 MiB declared", request(
        "POST", "/predict", {"Content-Type": "image/png", "Content-Length": str(50 << 20),
                             "Expect": "100-continue"}, length=False), None
    yield "a NUL byte in the path", b"GET /li\x00vez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", None
    yield "a 1 MiB header", request("GET", "/livez", {"X-Long": "a" * (1 << 20)}), None
    yield "cross-site form post of a drawing", request(
        "POST", "/predict", {"Content-Type": "text/plain", "Origin": "http://evil.example"}, b"drawing"), None
    yield "64 slanted lines, a 2048x2048 PNG, to /predict/number", request(
        "POST", "/predict/number", {"Content-Type": "image/png"}, lines_png()), None
    yield from feedback_probes(json_type)
    yield from edge_probes(token)


def edge_probes(token: str) -> Iterator[tuple[str, bytes, Then]]:
    """Odd ids, the Host header, clients that leave, odd image metadata, long lists (issue 21)."""
    auth = {"Authorization": f"Bearer {token}"}
    json_type = {"Content-Type": "application/json"}
    one = drawn_one()
    feedback = {"image": "data:image/png;base64," + base64.b64encode(one).decode(), "label": 1}
    yield "NUL in a drawing's model_version", request(
        "POST", "/feedback", json_type, json.dumps({**feedback, "model_version": "x\u0000"}).encode()), None
    yield "NUL as a run id", request("GET", "/train/%00", auth), None
    yield "NUL as a drawing id, erased", request("DELETE", "/feedback/%00", auth), None
    yield "review list offset past 64 bits", request("GET", f"/feedback?offset={10**20}", auth), None
    evil = {"X-Forwarded-Proto": "https"}
    yield "Host: evil.example on /admin/", _host(request("GET", "/admin/", evil), "evil.example"), None
    yield "Host: evil.example on the drawing page", _host(request("GET", "/", evil), "evil.example"), None
    half = request("POST", "/predict", {"Content-Type": "image/png", "Content-Length": "1000"}, length=False)
    yield "a client leaves mid-body", half + one[:500], lambda sock: sock.shutdown(socket.SHUT_RDWR)
    yield "/metrics after a client left mid-body", request("GET", "/metrics", auth), None
    unreadable_exif = one[:33] + png_chunk(b"eXIf", b"garbage!") + one[33:]
    yield "PNG of 10,900 empty chunks (128 KiB)", request(
        "POST", "/predict", {"Content-Type": "image/png"}, many_chunks_png()), None
    yield "PNG with an unreadable EXIF block", request(
        "POST", "/predict", {"Content-Type": "image/png"}, unreadable_exif), None
    yield "JPEG of 1,000 scans (27 KB, 2048x2048)", request(
        "POST", "/predict", {"Content-Type": "image/jpeg"}, many_scans_jpeg(1000)), None
    yield "150,000 strings as pixels", request(
        "POST", "/predict", json_type, b'{"pixels": [' + b'"a",' * 149_999 + b'"a"]}'), None
    yield "/predict/batch of 64 rows of 784 strings", request(
        "POST", "/predict/batch", json_type, json.dumps({"pixels": [["a"] * 784] * 64}).encode()), None
    yield "an integer of 5,000 digits in JSON", request(
        "POST", "/predict", json_type, b'{"pixels": [' + b"1" * 5000 + b"]}"), None


def _host(data: bytes, host: str) -> bytes:
    return data.replace(b"Host: probe", b"Host: " + host.encode(), 1)


def many_chunks_png() -> bytes:
    """A drawing with 10,900 empty chunks after its header: 128 KiB, what is still read on the event
    loop, and Pillow reads each chunk in Python."""
    one = drawn_one()
    return one[:33] + png_chunk(b"abCd", b"") * 10_900 + one[33:]


def many_scans_jpeg(scans: int) -> bytes:
    """A 2048x2048 grayscale progressive JPEG: a DC scan, then ``scans`` AC refinement scans of 19
    bytes, each a run of empty blocks over the whole image, so each one costs a pass over all
    65,536 blocks to decode (libjpeg warns of the odd progression and decodes it)."""
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    def entropy(bits: str) -> bytes:
        bits += "1" * (-len(bits) % 8)
        return b"".join(b"\xff\x00" if b == 0xFF else bytes([b])
                        for b in (int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))

    head = b"\xff\xd8" + segment(0xDB, b"\x00" + b"\x01" * 64)
    head += segment(0xC2, struct.pack(">BHHB", 8, 2048, 2048, 1) + b"\x01\x11\x00")
    head += segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    head += segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0")
    dc = segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + entropy("0" * 65_536)
    refine = segment(0xDA, b"\x01\x01\x00\x01\x3f\x10") + entropy(("0" + "1" * 14) * 3)
    return head + dc + refine * scans + b"\xff\xd9"


def feedback_probes(json_type: dict[str, str]) -> Iterator[tuple[str, bytes, Then]]:
    """/feedback, which anyone may post to (docs/security.md, Feedback)."""
    one = "data:image/png;base64," + base64.b64encode(drawn_one()).decode()
    sent = {"image": one, "label": 1, "model_version": "default", "strokes": [[[140, 40], [140, 240]]]}
    yield "/feedback: 1 MiB of strokes, 81,000 points", request("POST", "/feedback", json_type, json.dumps(
        {**sent, "strokes": [[[1.5, 2.5]] * 2700] * 30}).encode()), None
    yield "/feedback: a 1's picture with a 7's strokes", request("POST", "/feedback", json_type, json.dumps(
        {**sent, "strokes": [[[70, 50], [210, 50], [120, 240]]]}).encode()), None
    large = "data:image/png;base64," + base64.b64encode(png(Image.new("L", (2048, 2048), 255))).decode()
    yield "/feedback: a 2048x2048 picture", request("POST", "/feedback", json_type,
                                                    json.dumps({**sent, "image": large}).encode()), None


def healthy(url: str) -> bool:
    """/livez answers and a drawn 1 is read as 1, each within a second."""
    status, _ = exchange(url, request("GET", "/livez"), timeout=1.0)
    if status != "200":
        return False
    status, data = exchange(url, request("POST", "/predict", {"Content-Type": "image/png"}, drawn_one()),
                            timeout=1.0)
    return status == "200" and json.loads(data.partition(b"\r\n\r\n")[2]).get("digit") == 1


def run(url: str, token: str) -> list[tuple[str, Answer, bool]]:
    rows = []
    for name, data, then in probes(token):
        start = time.monotonic()
        status, received = exchange(url, data, then=then)
        answer = Answer(status, time.monotonic() - start, _detail(received))
        rows.append((name, answer, healthy(url)))
    return rows


def _detail(received: bytes) -> str:
    head, _, body = received.partition(b"\r\n\r\n")
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        return _other_detail(head.decode("latin-1"), body.decode("latin-1"))
    if not detail:
        return ""
    return detail if isinstance(detail, str) else json.dumps(detail)[:80]


def _other_detail(head: str, body: str) -> str:
    """What an answer that is not a JSON error shows: where it redirects, the first script a page
    loads, or how many requests the metrics count as 5xx and as clients that left (499)."""
    location = re.search(r"(?im)^location: *(.*)$", head)
    if location:
        return f"Location: {location.group(1).strip()}"
    script = re.search(r'<script src="([^"]*)"', body)
    if script:
        return f"loads {script.group(1)}"
    counted = re.findall(r'^digitnet_requests_total\{[^}]*status="(\d+)"\} ([0-9.]+)$', body, flags=re.M)
    if counted:
        server_errors = sum(float(n) for status, n in counted if status.startswith("5") and status != "503")
        left = sum(float(n) for status, n in counted if status == "499")
        return f"counted: {server_errors:g} server errors (5xx but 503), {left:g} clients left (499)"
    return ""


@contextmanager
def own_server(root: Path = ROOT, settings: dict[str, str] | None = None) -> Iterator[tuple[str, str, int]]:
    """``digitnet serve`` of the checkout at ``root``: (its URL, its admin token, its process id)."""
    with tempfile.TemporaryDirectory(prefix="digitnet-probes-") as home:
        token = secrets.token_urlsafe(24)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "DIGITNET_HOME": home, "DIGITNET_ADMIN_TOKEN": token, **(settings or {})}
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], cwd=root,
                                env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _up(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            yield url, token, proc.pid
        finally:
            proc.terminate()
            proc.wait(10)


def _up(url: str) -> bool:
    try:
        return exchange(url, request("GET", "/readyz"), timeout=1.0)[0] == "200"
    except OSError:
        return False


def page_latencies(url: str, requests: int) -> list[float]:
    """A normal client's /predict of the page's drawing, ``requests`` times one after another: the
    latencies in seconds, sorted (infinite for an answer other than 200)."""
    times = []
    for _ in range(requests):
        start = time.monotonic()
        status, _ = exchange(url, request("POST", "/predict", {"Content-Type": "image/png"}, drawn_one()))
        times.append(time.monotonic() - start if status == "200" else float("inf"))
    return sorted(times)


def crowd(url: str, n: int, requests: int = 20) -> tuple[list[float], list[float]]:
    """A normal client's /predict latencies (seconds) alone, then with ``n`` connections held open
    by others: a third idle, a third stopped inside their head, a third inside their body."""
    alone = page_latencies(url, requests)
    host, port = url.removeprefix("http://").split(":")
    held = [socket.create_connection((host, int(port))) for _ in range(n)]
    for i, sock in enumerate(held):
        if i % 3 == 1:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: probe\r\nContent-")
        elif i % 3 == 2:
            sock.sendall(request("POST", "/predict", {"Content-Length": "1000"}, length=False) + b"\x89PNG")
    try:
        return alone, page_latencies(url, requests)
    finally:
        for sock in held:
            sock.close()


def beside_senders(url: str, n: int, body: bytes, kind: str, requests: int = 60) -> list[float]:
    """A normal client's /predict latencies (seconds) while ``n`` others send ``body`` (of type
    ``kind``) to /predict, each again as soon as it is answered."""
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            exchange(url, request("POST", "/predict", {"Content-Type": kind}, body))

    senders = [threading.Thread(target=send) for _ in range(n)]
    for sender in senders:
        sender.start()
    try:
        return page_latencies(url, requests)
    finally:
        stop.set()
        for sender in senders:
            sender.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--token", default="", help="its admin token (with --url)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--crowd", type=int, metavar="N",
                        help="instead: a client's latency alone and beside N idle or half-sent connections")
    parser.add_argument("--hostile-numbers", type=int, metavar="N",
                        help="instead: a client's /predict beside N clients sending costly number requests")
    parser.add_argument("--timeouts", type=int, metavar="N",
                        help="instead: N number requests that time out (the own server's timeout: 0.3 s), "
                             "one after another; the server's threads and memory")
    parser.add_argument("--root", type=Path, default=ROOT, help="serve this checkout (default: this one)")
    parser.add_argument("--pid", type=int, help="the server's process id (with --url and --timeouts)")
    parser.add_argument("--beside", type=int, metavar="N",
                        help="instead: a client's latency beside N clients sending 128 KiB PNGs of empty "
                             "chunks, 1 MiB of nested JSON lists, or drawings")
    args = parser.parse_args()
    settings = {"DIGITNET_REQUEST_TIMEOUT": "0.3"} if args.timeouts else {}
    with (own_server(args.root, settings) if not args.url else _given(args.url, args.token, args.pid)) as \
            (url, token, pid):
        if args.beside:
            nests = b'{"pixels": [' + b",".join([b"[" * 1000 + b"]" * 1000] * 520) + b"]}"
            for name, body, kind in (("PNGs of empty chunks", many_chunks_png(), "image/png"),
                                     ("1 MiB JSON of nested lists", nests, "application/json"),
                                     ("drawings", drawn_one(), "image/png")):
                times = beside_senders(url, args.beside, body, kind)
                median, slowest = 1000 * times[len(times) // 2], 1000 * times[-1]
                print(f"/predict beside {args.beside} clients sending {name}: median {median:.1f} ms, "
                      f"max {slowest:.1f} ms over {len(times)} requests")
            return 0
        if args.hostile_numbers:
            print(crowd_report(hostile_numbers(url, args.hostile_numbers)))
            return 0
        if args.timeouts:
            print("\n".join(repeated_timeouts(url, pid, args.timeouts)))
            return 0
        if args.crowd:
            alone, crowded = crowd(url, args.crowd)
            for name, times in (("alone", alone), (f"beside {args.crowd} held connections", crowded)):
                print(f"/predict {name}: median {1000 * times[len(times) // 2]:.1f} ms, "
                      f"max {1000 * times[-1]:.1f} ms over {len(times)} requests")
            return 0
        rows = run(url, token)
    bad = 0
    for name, answer, ok in rows:
        failed = not ok or answer.status in ("timeout",) or answer.status.startswith("5") and \
            answer.status != "503"
        bad += failed
        if args.markdown:
            print(f"| {name} | {answer.status} | {answer.seconds:.2f} s | {'yes' if ok else '**no**'} | "
                  f"{answer.note.replace('|', '/')[:90]} |")
        else:
            print(f"{'FAIL' if failed else 'ok  '} {name:48} {answer.status:>7} {answer.seconds:6.2f} s  "
                  f"healthy after: {'yes' if ok else 'NO'}  {answer.note[:70]}")
    print(f"{len(rows)} probes, {bad} failed", file=sys.stderr)
    return 1 if bad else 0


@contextmanager
def _given(url: str, token: str, pid: int | None) -> Iterator[tuple[str, str, int]]:
    yield url.rstrip("/"), token, pid or 0


if __name__ == "__main__":
    sys.exit(main())
