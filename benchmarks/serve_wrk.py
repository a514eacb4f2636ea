"""Every payload kind POST /predict reads, under wrk, against a minimal FastAPI server.

Four payload kinds, ``--count`` distinct bodies of each:

page       the page's PNG body: 140x140 RGBA, as the page sends a drawing (pendigits strokes)
data-url   JSON ``{"image": "data:image/png;base64,..."}`` of a 280x280 RGBA canvas, the same strokes
multipart  a multipart field ``file``: a 28x28 MNIST test digit as an 8-bit gray PNG
pixels     JSON ``{"pixels": [784 numbers]}``: the same MNIST test digits scaled to [0, 1]

(made by tests/payloads.py, which the golden-answer test reads too)

Our server (``app.main:create_app`` with an empty temporary DIGITNET_HOME, as benchmarks/serve_load.py
starts it) answers on ``/predict``; the reference (``benchmarks/reference_server.py``) on
``/predict/loop``: decode, resize to 28x28, forward, ``{"digit": d}``, all on the event loop. Both run
in one uvicorn worker with ``--blas-threads`` BLAS threads. Before the load, one request of each kind
must get 200 and the same digit from both. Then, for each kind, ``--rounds`` times, ours and the
reference in turn: ``wrk -t1 -c<clients> -d<seconds>s --latency -s <kind>.lua`` (one wrk thread, which
costs the server's machine little; the Lua script cycles through the bodies), after one uncounted
``--warmup`` run per kind and server. Requests/s is all rounds' requests over their total time;
p50/p90/p99 the median over the rounds of wrk's percentiles; errors the non-2xx answers and socket
errors of all rounds; srv ms the server's CPU time a request (/proc/PID/stat, all its threads: less
swayed by a busy machine than requests/s). ours/ref is our requests/s over the reference's.
``--conv PATH`` also serves our app with another model file as a third server in the same turns
("ours, conv", its own state directory); conv/ours is its CPU a request over ours. The shipped conv
network against the dense one: ``DIGITNET_WEIGHTS=weights/dense.npz ... --conv weights/digitnet.npz``
(the reference server reads DIGITNET_WEIGHTS too).

    .venv/bin/python benchmarks/serve_wrk.py [--seconds 5] [--rounds 3] [--clients 16] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serve_load import SERVERS, THREAD_VARS, cpu_seconds, serve  # noqa: E402  (the root is on sys.path)
from tests.payloads import CONTENT_TYPES, bodies  # noqa: E402

REFERENCE = "reference"
PATHS = {"ours": "/predict", REFERENCE: "/predict/loop"}
BEFORE = "before"  # --before: our app as an older checkout serves it
CONV = "ours, conv"  # --conv: our app serving another model file
REFERENCE_H11 = "reference, h11"  # --reference-as-before: the reference on h11 and asyncio's loop
# how an older checkout's app is served: the h11 protocol with the head deadline, asyncio's loop (its
# code cannot name a newer protocol class; uvicorn's "auto" would give it uvloop, installed now)
BEFORE_ARGS = "app.main:create_app --factory --http app.web.protocol:HeadDeadlineProtocol --loop asyncio"
INSTALL = "wrk is not installed: `apt-get install wrk` (Debian), or run scripts/bench-setup"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}  # wrk's latency units, to ms
LUA = """local bodies = {{}}
for i, path in ipairs({{{paths}}}) do
  local f = assert(io.open(path, "rb")); bodies[i] = f:read("*a"); f:close()
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
local n = 0
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pendigits", type=Path, default=ROOT.parent / "shared" / "pendigits"
                        / "pendigits-orig-tra.txt", help="UNIPEN file for the drawings (%(default)s)")
    parser.add_argument("--mnist", type=Path, default=Path(os.environ.get("DIGITNET_DATA", ROOT.parent
                        / "shared" / "mnist")), help="MNIST directory for the 28x28 digits (%(default)s)")
    parser.add_argument("--count", type=int, default=50, help="distinct bodies of each kind")
    parser.add_argument("--seconds", type=int, default=5, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of the uncounted first run (0: none)")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per kind and server, in turns")
    parser.add_argument("--clients", type=int, default=16, help="wrk connections")
    parser.add_argument("--blas-threads", type=int, default=1, help="BLAS threads of the servers")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of each server")
    parser.add_argument("--before", type=Path, help="also serve the app of this older checkout (e.g. from "
                        "`git archive COMMIT`), as it ran: " + BEFORE_ARGS)
    parser.add_argument("--before-as-ours", action="store_true",
                        help="serve --before's checkout as ours is served now ("
                        + " ".join(SERVERS["ours"][2:]) + "): old and new code on the same server")
    parser.add_argument("--reference-as-before", action="store_true",
                        help="also the reference on h11 and asyncio's loop (no httptools, no uvloop)")
    parser.add_argument("--conv", type=Path, metavar="PATH",
                        help="also serve our app with this model file (e.g. weights/digitnet.npz)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if min(args.count, args.seconds, args.rounds, args.clients, args.blas_threads) < 1 or args.warmup < 0:
        parser.error("--count, --seconds, --rounds, --clients, --blas-threads must be positive")
    return args


def before_args(args: argparse.Namespace) -> list[str]:
    """How the --before checkout is served: as it ran (h11), or as ours is now (--before-as-ours)."""
    return SERVERS["ours"] if args.before_as_ours else BEFORE_ARGS.split()


def write_scripts(kinds: dict[str, list[bytes]], folder: Path) -> dict[str, Path]:
    """One Lua script per kind, reading its bodies from files at start."""
    scripts = {}
    for kind, payloads in kinds.items():
        paths = []
        for i, payload in enumerate(payloads):
            (path := folder / f"{kind}-{i}.body").write_bytes(payload)
            paths.append(json.dumps(str(path)))  # a JSON string of a plain path is a Lua string
        scripts[kind] = folder / f"{kind}.lua"
        scripts[kind].write_text(LUA.format(paths=", ".join(paths), content_type=CONTENT_TYPES[kind]))
    return scripts


def check(urls: dict[str, str], kinds: dict[str, list[bytes]]) -> dict[str, int]:
    """One request of each kind to each server: all 200, the same digit from all (but another model's)."""
    digits = {}
    for kind, payloads in kinds.items():
        answers = {}
        for name, url in urls.items():
            headers = {"content-type": CONTENT_TYPES[kind]}
            r = httpx.post(url, content=payloads[0], headers=headers, timeout=30)
            if r.status_code != 200:
                raise RuntimeError(f"{name} answered {kind} with {r.status_code}: {r.text[:200]}")
            if name != CONV:
                answers[name] = r.json()["digit"]
        if len(set(answers.values())) != 1:
            raise RuntimeError(f"the servers read the first {kind} body differently: {answers}")
        digits[kind] = answers["ours"]
    return digits


def latency_percentiles(out: str) -> dict[int, float]:
    """wrk's "Latency Distribution" in ms. wrk pads a value to a fixed width, so one with a
    one-letter unit ("1.20s") ends in a space: a p99 past a second on a loaded machine."""
    found = re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    return {int(p): float(v) * UNITS[u] for p, v, u in found}


def wrk(url: str, script: Path, clients: int, seconds: int, pid: int | None = None) -> dict[str, float]:
    """One wrk run: its requests, seconds, latency percentiles (ms), errors, and the CPU seconds the
    server ``pid`` used meanwhile (all its threads)."""
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    cpu0 = cpu_seconds(pid) if pid else 0.0
    ran = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    cpu = cpu_seconds(pid) - cpu0 if pid else 0.0
    out = ran.stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", out)
    if ran.returncode != 0 or done is None:
        raise RuntimeError(f"{' '.join(command)} failed ({ran.returncode}):\n{out}{ran.stderr}")
    pct = latency_percentiles(out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(done[1]), "seconds": float(done[2]) * UNITS[done[3]] / 1e3,
            "p50": pct[50], "p90": pct[90], "p99": pct[99], "cpu_s": cpu,
            "errors": (sum(map(int, socket.groups())) if socket else 0) + (int(non_2xx[1]) if non_2xx else 0)}


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    """All rounds of one kind and server as one: requests/s overall, median percentiles, all errors,
    the server's CPU ms a request."""
    requests, seconds = sum(r["requests"] for r in runs), sum(r["seconds"] for r in runs)
    return {"requests": requests, "rps": requests / seconds, "errors": sum(r["errors"] for r in runs),
            "server_cpu_ms": 1e3 * sum(r["cpu_s"] for r in runs) / max(requests, 1),
            **{p: statistics.median(r[p] for r in runs) for p in ("p50", "p90", "p99")}}


def blas(blas_threads: int) -> list[dict[str, object]] | str:
    """threadpoolctl's view of NumPy's BLAS with the servers' environment (kernel, threads)."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARS, str(blas_threads))}
    code = ("import json, numpy; from threadpoolctl import threadpool_info; print(json.dumps("
            "[{k: i.get(k) for k in ('internal_api', 'architecture', 'num_threads', 'version')} "
            "for i in threadpool_info()]))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return "threadpoolctl is not installed (pip install -e '.[bench]')"
    return json.loads(done.stdout)


def loop() -> str:
    """What the reference runs on: uvicorn's "auto" takes httptools and uvloop when they are
    installed (ours names its parser and loop)."""
    found = [name for name in ("httptools", "uvloop") if importlib.util.find_spec(name)]
    return f"the reference's uvicorn auto; installed: {', '.join(found) or 'neither httptools nor uvloop'}"


def run(args: argparse.Namespace) -> dict[str, object]:
    """Start both servers, check them, then load each kind on both in turns."""
    kinds = bodies(args.pendigits, args.mnist, args.count)
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, dict[str, dict[str, float]]] = {}
    with ExitStack() as stack:
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="digitnet-wrk-"))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="digitnet-wrk-lua-")))
        scripts = write_scripts(kinds, folder)
        servers = {name: stack.enter_context(serve(name, args.blas_threads, home, workers=args.workers))
                   for name in PATHS}
        paths = dict(PATHS)
        if args.before:  # its own state directory: an older store may not read a newer one's
            before_home = stack.enter_context(tempfile.TemporaryDirectory(prefix="digitnet-wrk-"))
            servers[BEFORE] = stack.enter_context(serve(BEFORE, args.blas_threads, before_home,
                                                        before_args(args), args.before.resolve(),
                                                        args.workers))
            paths[BEFORE] = PATHS["ours"]
        if args.conv:  # its own state directory too: its 'default' is another file
            conv_home = stack.enter_context(tempfile.TemporaryDirectory(prefix="digitnet-wrk-"))
            servers[CONV] = stack.enter_context(serve(CONV, args.blas_threads, conv_home, SERVERS["ours"],
                                                      workers=args.workers, weights=args.conv.resolve()))
            paths[CONV] = PATHS["ours"]
        if args.reference_as_before:
            h11 = [*SERVERS["reference"], "--http", "h11", "--loop", "asyncio"]
            servers[REFERENCE_H11] = stack.enter_context(serve(REFERENCE_H11, args.blas_threads, home, h11,
                                                               workers=args.workers))
            paths[REFERENCE_H11] = PATHS["reference"]
        urls = {name: s.url + paths[name] for name, s in servers.items()}
        pids = {name: s.pid for name, s in servers.items()}
        digits = check(urls, kinds)
        for kind, script in scripts.items():
            if args.warmup:
                for url in urls.values():
                    wrk(url, script, args.clients, args.warmup)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
            for _ in range(args.rounds):  # ours, the reference, ours, ...: both see the same swings
                for name, url in urls.items():
                    runs[name].append(wrk(url, script, args.clients, args.seconds, pids[name]))
            results[kind] = {name: summarize(r) for name, r in runs.items()}
    return {"wrk": version, "blas": blas(args.blas_threads), "blas_threads": args.blas_threads,
            "http": {name: " ".join(SERVERS[name]) for name in PATHS}, "loop": loop(),
            "before": {"checkout": str(args.before.resolve()), "args": " ".join(before_args(args))}
            if args.before else None,
            "clients": args.clients, "workers": args.workers, "seconds": args.seconds, "rounds": args.rounds,
            "cpus": os.cpu_count(),
            "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()],
            "bodies": {k: {"count": len(v), "mean_bytes": round(sum(map(len, v)) / len(v))}
                       for k, v in kinds.items()},
            "checked_digits": digits, "payloads": results,
            "ratio": {k: r["ours"]["rps"] / r["reference"]["rps"] for k, r in results.items()},
            "ratios": {k: ratios(r) for k, r in results.items()},
            "conv_cpu_over_ours": {k: r[CONV]["server_cpu_ms"] / r["ours"]["server_cpu_ms"]
                                   for k, r in results.items()} if args.conv else None}


def ratios(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each of our servers' requests/s over each reference's, of one payload kind."""
    refs = [ref for ref in (REFERENCE, REFERENCE_H11) if ref in rows]
    return {name: {ref: row["rps"] / rows[ref]["rps"] for ref in refs}
            for name, row in rows.items() if name not in refs}


def report(result: dict) -> None:
    print(f"{result['wrk']}; {result['clients']} connections, {result['workers']} worker(s) a server, "
          f"{result['rounds']} x {result['seconds']} s "
          f"per kind and server; {result['cpus']} CPUs, load average {result['load_before']} -> "
          f"{result['load_after']}")
    print(f"BLAS (server environment, {result['blas_threads']} thread(s) asked): {result['blas']}")
    print(f"servers: {result['http']}; {result['loop']}")
    print("\n" + f"{'payload':<11}{'server':<16}{'bytes':>7}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}"
          f"{'p99 ms':>9}{'errors':>8}{'srv ms':>8}{'/ref':>7}{'/ref h11':>9}")
    for kind, rows in result["payloads"].items():
        for name, row in rows.items():
            ratios = result["ratios"][kind].get(name, {})
            cells = "".join(f"{ratios[ref]:>{w}.2f}" if ref in ratios else " " * w
                            for ref, w in ((REFERENCE, 7), (REFERENCE_H11, 9)))
            print(f"{kind:<11}{name:<16}{result['bodies'][kind]['mean_bytes']:>7}{row['rps']:>9.1f}"
                  f"{row['p50']:>9.2f}{row['p90']:>9.2f}{row['p99']:>9.2f}{row['errors']:>8}"
                  f"{row['server_cpu_ms']:>8.2f}{cells}")
    if result["conv_cpu_over_ours"]:
        print("\nconv/ours, the server's CPU a request: " + ", ".join(
            f"{kind} {ratio:.2f}" for kind, ratio in result["conv_cpu_over_ours"].items()))
    print("\nsrv ms: the server's CPU time a request (all its threads and worker processes), ms; "
          "/ref: requests/s over the reference's (/ref h11: over the reference on h11 and asyncio's loop)")


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(INSTALL, file=sys.stderr)
        sys.exit(2)
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
