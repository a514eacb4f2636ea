"""The probes of costly work, for scripts/probes.py: a crowd of hostile number requests beside a
normal client, and requests that time out one after another (the server's threads and memory).

Both talk plain HTTP (http.client): what they try is load and time, not malformed bytes.
"""

from __future__ import annotations

import http.client
import io
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw


def lines_png(count: int = 64, side: int = 2048, spacing: int = 24, slant: int = 600) -> bytes:
    """The audit's kind of image: thin parallel slanted lines, each as tall as the image, most
    pairs lying over one another, so that reading it as a number asks the network about them."""
    image = Image.new("L", (side, side), 255)
    pen = ImageDraw.Draw(image)
    for k in range(count):
        pen.line([(spacing * k, 0), (spacing * k + slant, side - 1)], fill=0, width=1)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def drawn_one() -> bytes:
    image = Image.new("L", (140, 140), 255)
    ImageDraw.Draw(image).line([(70, 20), (70, 120)], fill=0, width=10)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def post(url: str, path: str, body: bytes, timeout: float = 30.0) -> int:
    """POST a PNG; the status, or 0 when no answer came in time."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": "image/png"})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


@dataclass
class Crowd:
    alone_seconds: list[float]  # the normal client's /predict before the crowd came
    page_statuses: list[int]
    page_seconds: list[float]  # of the answered ones
    hostile: Counter[int]


def hostile_numbers(url: str, clients: int = 64, page_requests: int = 50) -> Crowd:
    """``clients`` threads each sending the lines PNG to /predict/number again and again (so that
    ``clients`` are in flight all along), while a normal client sends the page's /predict."""
    image, one, stop = lines_png(), drawn_one(), threading.Event()
    hostile: Counter[int] = Counter()
    alone = []
    for _ in range(page_requests):
        start = time.monotonic()
        if post(url, "/predict", one, timeout=15.0) == 200:
            alone.append(time.monotonic() - start)
    lock = threading.Lock()

    def attacker() -> None:
        while not stop.is_set():
            status = post(url, "/predict/number", image)
            with lock:
                hostile[status] += 1

    threads = [threading.Thread(target=attacker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)  # let the crowd fill every slot first
    statuses, seconds = [], []
    for _ in range(page_requests):
        start = time.monotonic()
        statuses.append(post(url, "/predict", one, timeout=15.0))
        if statuses[-1] == 200:
            seconds.append(time.monotonic() - start)
    stop.set()
    for thread in threads:
        thread.join(60)
    return Crowd(alone, statuses, seconds, hostile)


def crowd_report(crowd: Crowd) -> str:
    answered = crowd.page_statuses.count(200)
    median = f"{1000 * statistics.median(crowd.page_seconds):.1f} ms" if crowd.page_seconds else "-"
    alone = f"{1000 * statistics.median(crowd.alone_seconds):.1f} ms" if crowd.alone_seconds else "-"
    return (f"/predict alone: median {alone}; beside the crowd: {answered} of {len(crowd.page_statuses)} "
            f"answered 200 (median {median}; others: "
            f"{dict(Counter(s for s in crowd.page_statuses if s != 200))}); "
            f"the crowd's answers: {dict(sorted(crowd.hostile.items()))}")


def process_state(pid: int) -> tuple[int, float]:
    """(threads, resident MiB) of a process, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


def livez_ms(url: str) -> float:
    host, port = url.removeprefix("http://").split(":")
    start = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=15)
    connection.request("GET", "/livez")
    connection.getresponse().read()
    connection.close()
    return 1000 * (time.monotonic() - start)


def repeated_timeouts(url: str, pid: int, requests: int = 5) -> list[str]:
    """The lines PNG to /predict/number ``requests`` times, one after another, on a server whose
    request timeout is shorter than the work: the server's threads, memory and /livez after each."""
    image = lines_png()
    threads, rss = process_state(pid)
    rows = [f"before: {threads} threads, {rss:.0f} MiB, /livez {livez_ms(url):.1f} ms"]
    for i in range(requests):
        start = time.monotonic()
        status = post(url, "/predict/number", image)
        took = time.monotonic() - start
        threads, rss = process_state(pid)
        rows.append(f"after {i + 1}: {status} in {took:.2f} s; {threads} threads, {rss:.0f} MiB, "
                    f"/livez {livez_ms(url):.1f} ms")
    time.sleep(2.0)  # what the last one left running, if anything
    threads, rss = process_state(pid)
    rows.append(f"2 s later: {threads} threads, {rss:.0f} MiB, /livez {livez_ms(url):.1f} ms")
    return rows
