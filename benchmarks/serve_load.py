"""How many drawings a second does POST /predict read, against a minimal FastAPI server?

The throughput figures of the four payload kinds against the reference are benchmarks/serve_wrk.py's
(wrk, a load generator in C that takes the measured machine little CPU). This is the answer-checking
mode: its clients are Python (httpx) on the same cores, so they take CPU from whichever server is
measured and flatten the difference in requests/s; it checks that every answer under load is the
answer the drawing gets alone, measures /explain against /predict (``--explain``), and /predict
while a training run goes (``--while-training``).

The app (``app.main:create_app``, with an empty temporary DIGITNET_HOME, so it serves the shipped model)
and ``benchmarks/reference_server.py`` (Pillow decode, resize to 28x28, the same network's forward pass,
nothing else) run in uvicorn subprocesses on free 127.0.0.1 ports, one worker each, BLAS pinned to
``--blas-threads`` (1); both are stopped at the end, also on errors and Ctrl-C. The payloads are what
the page posts: 280x280 RGBA PNGs, ink #111 on white, 18 px strokes, drawn from the first ``--count``
pendigits trajectories by ``app.pen.pendigits.render`` with ``PAGE`` (seeded random strokes when the file
is missing). They are zlib level 1 PNGs; a browser compresses harder, which costs more to decode.

For each level n of ``--clients``, n asyncio httpx clients (one connection each) in this process send
one request after the other (a closed loop): ``--warmup`` seconds uncounted, then ``--seconds``
measured, ours then the reference, level by level, so a change of machine load touches both;
``--rounds R`` does that R times per level (ours, reference, ours, ...) and counts all R windows as
one, which evens out a shared machine's swings. Of the requests sent in the windows: requests/s is
their number / the windows' total length (each from its start to its last answer); p50/p90/p99
their latency in ms, send to body read, including queueing in the server and in this client's event
loop; errors the non-200 answers and exceptions; wrong the 200 answers whose body differs from the
one the same server gave that PNG alone before the load (a race on shared state would show here).
CPU is cores busy (CPU s / wall s) of this client (getrusage) and of the server
(/proc/PID/stat, all threads; srv ms/req is its CPU per request): on 2 cores the Python client takes a
real share. The ratio is our requests/s / the reference's.

``--explain`` also sends the same PNGs to our ``POST /explain`` in each round, on the same server,
after ``/predict`` and the reference; ``explain/predict`` is then the ratio of our server's CPU per
request (srv ms/req), /explain's over /predict's, measured in the same run (and of requests/s,
/predict's over /explain's).

    .venv/bin/python benchmarks/serve_load.py [--seconds 10] [--rounds 1] [--clients 1,16,64] [--explain]
        [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pen.pendigits import parse  # noqa: E402  (the root is on sys.path from here)
from app.pen.strokes import render  # noqa: E402
from tests.payloads import PAGE_PNG  # noqa: E402

SERVERS = {"ours": ["app.main:create_app", "--factory", "--http",  # as digitnet serve
                   "app.web.protocol:HeadDeadlineHttpToolsProtocol", "--loop", "asyncio"],
           "reference": ["benchmarks.reference_server:app"]}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
HEADERS = {"content-type": "image/png"}
EXPLAIN = "ours, /explain"  # the row of --explain: our server's POST /explain
TIMEOUT_S = 30.0
COLUMNS = [("clients", "clients", 8, "d"), ("requests", "requests", 9, "d"), ("rps", "req/s", 8, ".1f"),
           ("p50", "p50 ms", 8, ".2f"), ("p90", "p90 ms", 8, ".2f"), ("p99", "p99 ms", 8, ".2f"),
           ("errors", "errors", 7, "d"), ("wrong", "wrong", 6, "d"), ("client_cpu", "client cpu", 11, ".2f"),
           ("server_cpu", "server cpu", 11, ".2f"), ("server_cpu_ms", "srv ms/req", 11, ".2f")]


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int
    token: str


@dataclass(frozen=True)
class Level:
    """The figures of one server at one concurrency level (latencies in ms)."""

    clients: int
    requests: int
    rps: float
    p50: float
    p90: float
    p99: float
    errors: int
    wrong: int
    client_cpu: float
    server_cpu: float
    server_cpu_ms: float  # server CPU time per request


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_file = ROOT.parent / "shared" / "pendigits" / "pendigits-orig-tra.txt"
    parser.add_argument("--pendigits", type=Path, default=default_file, help="UNIPEN file (%(default)s)")
    parser.add_argument("--count", type=int, default=200, help="distinct drawings to send")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per level and server")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds of load before each")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each level this many times, the servers taking turns; figures of all")
    parser.add_argument("--clients", default="1,16,64", help="comma-separated concurrency levels")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads of the servers; 0 leaves them unset, as `digitnet serve` does")
    parser.add_argument("--while-training", action="store_true",
                        help="then load ours again while it runs a training run (the default preset)")
    parser.add_argument("--explain", action="store_true",
                        help="also load our POST /explain with the same PNGs, in the same rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    args.levels = [int(n) for n in args.clients.split(",")]
    positive = min(args.count, args.rounds, *args.levels) >= 1 and args.seconds > 0
    if not positive or min(args.warmup, args.blas_threads) < 0:
        parser.error("--count, --seconds, --rounds, --clients must be positive; --warmup, --blas-threads "
                     "not negative")
    return args


def payloads(path: Path, count: int) -> tuple[list[bytes], str]:
    """``count`` PNGs as the page posts them, from pendigits or, without the file, random strokes."""
    if path.is_file():
        return [render(s.strokes, **PAGE_PNG) for s in parse(path)[:count]], f"pendigits {path.name}"
    rng = np.random.default_rng(0)
    drawings = []
    for _ in range(count):  # 1-2 strokes of smoothed random walks in the file's 500x500 box
        strokes = [np.cumsum(rng.normal(0, 25, (int(rng.integers(8, 30)), 2)), axis=0) + 250
                   for _ in range(int(rng.integers(1, 3)))]
        drawings.append(render([[(float(x), float(y)) for x, y in s] for s in strokes], **PAGE_PNG))
    return drawings, "synthetic strokes (pendigits file not found)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(name: str, blas_threads: int, home: str, uvicorn_args: list[str] | None = None,
          cwd: Path = ROOT, workers: int = 1, weights: Path | None = None) -> Iterator[Server]:
    """Run one server in a uvicorn subprocess until /readyz answers 200; always stop it afterwards.

    The app keeps state (versions, the promoted one, an admin token) in DIGITNET_HOME: an empty
    ``home`` makes it serve the shipped model, as the reference does, and leaves the user's alone.
    ``uvicorn_args`` (default ``SERVERS[name]``) from ``cwd`` (another checkout serves its own code),
    with ``workers`` uvicorn worker processes (more than one: a supervisor process and its children);
    ``weights``: another model file to serve as the default (DIGITNET_WEIGHTS).
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(dict.fromkeys(THREAD_VARS, str(blas_threads)) if blas_threads else {})
    token = secrets.token_urlsafe(32)
    env.update(DIGITNET_HOME=home, DIGITNET_ADMIN_TOKEN=token)  # no token file, no log
    env.update({"DIGITNET_WEIGHTS": str(weights)} if weights else {})
    command = [sys.executable, "-m", "uvicorn", *(uvicorn_args or SERVERS[name]), "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _ready(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} server did not become ready ({' '.join(command)})")
            time.sleep(0.1)
        yield Server(name, url, proc.pid, token)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def answers_alone(server: Server, pngs: list[bytes], path: str = "/predict") -> list[bytes]:
    """The body the server gives each PNG when it is the only request: what load must not change."""
    with httpx.Client(base_url=server.url, timeout=TIMEOUT_S) as client:
        responses = [client.post(path, content=png, headers=HEADERS) for png in pngs]
    bad = [r.status_code for r in responses if r.status_code != 200]
    if bad:
        raise RuntimeError(f"{server.name} answered {len(bad)} of {len(pngs)} drawings with {bad[0]}")
    return [r.content for r in responses]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (``None``), or of process ``pid`` and the processes it
    started (all threads: uvicorn's workers are its children), from Linux's /proc."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return own + sum(cpu_seconds(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    """The running children of ``pid`` (those that ended meanwhile are left out)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children += [int(c) for c in task.read_text().split()]
        except OSError:
            continue
    return [c for c in children if Path(f"/proc/{c}/stat").exists()]


@dataclass(frozen=True)
class Window:
    """One measured window: (latency s, ok, right) per request, its length, and CPU seconds used."""

    samples: list[tuple[float, bool, bool]]
    wall: float
    client_cpu_s: float
    server_cpu_s: float


async def load(server: Server, pngs: list[bytes], expected: list[bytes], clients: int,
               warmup: float, seconds: float, path: str = "/predict") -> Window:
    """``clients`` closed-loop clients for warmup + seconds; figures for requests sent in the window."""
    order = itertools.count()
    samples: list[tuple[float, bool, bool]] = []  # (latency, ok, right)
    start = time.perf_counter() + warmup
    end = start + seconds

    async def client() -> None:
        # a pool of one connection per client: httpx's shared pool costs CPU per request that grows
        # with the number of connections in it
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT_S) as http:
            while (sent := time.perf_counter()) < end:
                i = next(order) % len(pngs)
                try:
                    response = await http.post(path, content=pngs[i], headers=HEADERS)
                    ok, right = response.status_code == 200, response.content == expected[i]
                except httpx.HTTPError:
                    ok = right = False
                if sent >= start:
                    samples.append((time.perf_counter() - sent, ok, right))

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    cpu0, server0 = cpu_seconds(), cpu_seconds(server.pid)
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    return Window(samples, wall, cpu_seconds() - cpu0, cpu_seconds(server.pid) - server0)


def summarize(clients: int, windows: list[Window]) -> Level:
    """The figures of all the windows of one server at one level, as if they were one."""
    samples = [x for w in windows for x in w.samples]
    wall = sum(w.wall for w in windows)
    client_cpu, server_cpu = (sum(w.client_cpu_s for w in windows) / wall,
                              sum(w.server_cpu_s for w in windows) / wall)
    n, ms = len(samples), sorted(latency * 1000 for latency, _, _ in samples) or [float("nan")]
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    errors, wrong = sum(not ok for _, ok, _ in samples), sum(ok and not right for _, ok, right in samples)
    return Level(clients, n, n / wall, q[49], q[89], q[98], errors, wrong, client_cpu, server_cpu,
                 server_cpu * wall / max(n, 1) * 1000)


def run(args: argparse.Namespace) -> dict[str, object]:
    """Start both servers, then at each level load ours and the reference in turn."""
    pngs, source = payloads(args.pendigits, args.count)
    load_before = [round(x, 2) for x in os.getloadavg()]
    levels: dict[str, list[Level]] = {name: [] for name in SERVERS}
    with ExitStack() as stack:
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="digitnet-load-"))
        servers = [stack.enter_context(serve(name, args.blas_threads, home)) for name in SERVERS]
        # (row name, server, path): /explain is our server again, with the same PNGs
        targets = [(s.name, s, "/predict") for s in servers]
        targets += [(EXPLAIN, servers[0], "/explain")] if args.explain else []
        expected = {name: answers_alone(s, pngs, path) for name, s, path in targets}
        levels |= {EXPLAIN: []} if args.explain else {}
        for clients in args.levels:
            windows: dict[str, list[Window]] = {name: [] for name, _, _ in targets}
            for _ in range(args.rounds):  # ours, the reference, ours, ...: all see the same load swings
                for name, s, path in targets:
                    windows[name].append(asyncio.run(
                        load(s, pngs, expected[name], clients, args.warmup, args.seconds, path)))
            for name, _, _ in targets:
                levels[name].append(summarize(clients, windows[name]))
        if args.while_training:
            levels["ours, training"] = under_training(servers[0], pngs, expected["ours"], args)
    ratios = [o.rps / r.rps if r.rps else None for o, r in zip(levels["ours"], levels["reference"],
                                                                 strict=True)]
    explain = {str(clients): {"server_cpu_ms": e.server_cpu_ms / o.server_cpu_ms if o.server_cpu_ms else None,
                              "rps": o.rps / e.rps if e.rps else None}
               for clients, o, e in zip(args.levels, levels["ours"], levels.get(EXPLAIN, []), strict=False)}
    return {
        "payloads": {"count": len(pngs), "source": source,
                     "mean_bytes": round(sum(map(len, pngs)) / len(pngs))},
        "seconds": args.seconds, "warmup": args.warmup, "rounds": args.rounds, "cpus": os.cpu_count(),
        "blas_threads": args.blas_threads or "unset",
        "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()],
        "levels": {name: [asdict(x) for x in rows] for name, rows in levels.items()},
        "rps_ratio": dict(zip(map(str, args.levels), ratios, strict=True)),
        **({"explain_over_predict": explain} if args.explain else {}),
    }


def under_training(server: Server, pngs: list[bytes], expected: list[bytes],
                   args: argparse.Namespace) -> list[Level]:
    """Start a long training run on our server, load it at every level, then cancel the run."""
    auth = {"Authorization": f"Bearer {server.token}"}
    run = httpx.post(f"{server.url}/train", json={"preset": "default", "epochs": 50}, headers=auth)
    run.raise_for_status()
    run_url = f"{server.url}/train/{run.json()['id']}"
    while httpx.get(run_url, headers=auth).json()["status"] != "running":
        time.sleep(0.2)
    time.sleep(3.0)  # past loading MNIST: into the batches
    try:
        def window(clients: int) -> Window:
            return asyncio.run(load(server, pngs, expected, clients, args.warmup, args.seconds))

        return [summarize(clients, [window(clients) for _ in range(args.rounds)]) for clients in args.levels]
    finally:
        httpx.post(f"{run_url}/cancel", headers=auth)


def report(result: dict[str, object]) -> None:
    """One table, level by level: our row, the reference's row, and the requests/s ratio."""
    p: dict[str, object] = result["payloads"]  # type: ignore[assignment]
    print(f"payloads: {p['count']} PNGs from {p['source']}, {p['mean_bytes']} bytes on average")
    print(f"load average before {result['load_before']}, after {result['load_after']} on "
          f"{result['cpus']} CPUs; {result['rounds']} x {result['seconds']} s measured, each after "
          f"{result['warmup']} s warm-up; "
          f"server BLAS threads: {result['blas_threads']}")
    print("\n" + f"{'server':<16}" + "".join(f"{title:>{width}}" for _, title, width, _ in COLUMNS)
          + f"{'ours/ref':>10}")
    rows: dict[str, list[dict[str, float]]] = result["levels"]  # type: ignore[assignment]
    ratios: dict[str, float | None] = result["rps_ratio"]  # type: ignore[assignment]
    names = [n for n in rows if n in SERVERS or n.startswith("ours,")]
    for i, ratio in enumerate(ratios.values()):
        for name in names:
            cells = "".join(f"{rows[name][i][key]:>{width}{fmt}}" for key, _, width, fmt in COLUMNS)
            shown = "" if name != "ours" else "n/a" if ratio is None else f"{ratio:.2f}"
            print(f"{name:<16}{cells}{shown:>10}")
    print("\ncpu: cores busy (CPU s / wall s); srv ms/req: server CPU ms per request; "
          "ours/ref: requests/s ratio")
    explain: dict[str, dict[str, float | None]] = result.get("explain_over_predict", {})  # type: ignore[assignment]
    for clients, ratio in explain.items():
        cpu, rps = ratio["server_cpu_ms"], ratio["rps"]
        print(f"{clients} clients: /explain over /predict, server CPU per request "
              f"{'n/a' if cpu is None else f'{cpu:.2f}'}, requests/s (predict's / explain's) "
              f"{'n/a' if rps is None else f'{rps:.2f}'}")


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers are stopped on kill too
    try:
        result = run(args)
    except KeyboardInterrupt:
        sys.exit(130)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    main()
