"""Where a request's time goes, ours against the reference, with no HTTP server in the way.

``serve_wrk.py`` measures whole servers; their HTTP work is the same for both and its swings hide
the rest. This script sends the same four payload kinds straight into each ASGI app (ours from
``create_app``, started by its lifespan; the reference's ``POST /predict/loop``), in one process,
the two in turns, and times every request. Inside each it times the two parts both apps share in
kind: the image work (ours: ``open_images``, the header, then ``preprocess``: decode, ink,
``to_mnist``; the reference's ``to_input``: open, decode, resize) and the forward pass
(``Network.predict_proba``, the same code on the same weights). What is left is the framework, the
body's parsing and the answer. Each part is the median of its per-round means (so the parts need not
add up to the request exactly); the machine's load moves the absolute figures, and the two apps see
the same swings.

    .venv/bin/python benchmarks/serve_inproc.py --rounds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.train_speed import pin_blas_threads  # noqa: E402

PARTS = ("request", "image work", "forward", "the rest")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from benchmarks.serve_wrk import parse_args as wrk_args

    data = wrk_args([])  # the same drawings and digits as serve_wrk.py reads by default
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pendigits", type=Path, default=data.pendigits, help="UNIPEN file for the drawings")
    parser.add_argument("--mnist", type=Path, default=data.mnist, help="MNIST directory for the 28x28 digits")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of every body, in turns")
    parser.add_argument("--count", type=int, default=20, help="distinct bodies of each kind")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.count < 1:
        parser.error("--rounds and --count must be at least 1")
    return args


class Timers:
    """Seconds spent in named functions during the current request, by app."""

    def __init__(self) -> None:
        self.app = ""
        self.spent: dict[tuple[str, str], float] = defaultdict(float)

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[self.app, part] += time.perf_counter() - start

        return timed


async def call(app: Any, path: str, body: bytes, content_type: str) -> None:
    """One POST through the ASGI app; anything but a 200 is an error of the harness."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
             "headers": [(b"host", b"bench"), (b"content-type", content_type.encode()),
                         (b"content-length", str(len(body)).encode())]}
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise RuntimeError(f"{path} answered {sent[0]['status']}: {sent[1:]}")


async def measure(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    import app.reading.predictor
    import app.web.drawings
    import benchmarks.reference_server as reference
    import model.network
    from app.main import create_app
    from benchmarks.serve_wrk import PATHS
    from tests.payloads import CONTENT_TYPES, bodies

    timers = Timers()
    app.web.drawings.open_images = timers.wrap("image work", app.web.drawings.open_images)
    app.reading.predictor.preprocess = timers.wrap("image work", app.reading.predictor.preprocess)
    reference.to_input = timers.wrap("image work", reference.to_input)
    # the forward pass: ours keeps the logits too (for "not a digit"), the reference asks for probabilities
    predictor = app.reading.predictor
    predictor.logits_and_probabilities = timers.wrap("forward", predictor.logits_and_probabilities)
    model.network.Network.predict_proba = timers.wrap("forward", model.network.Network.predict_proba)
    kinds = bodies(args.pendigits, args.mnist, args.count)
    ours = create_app()
    apps = {"ours": ours, "reference": reference.app}
    means: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (kind, app, part) -> ms
    async with ours.router.lifespan_context(ours):
        for kind, payloads in kinds.items():
            for name, asgi in apps.items():  # once through, uncounted: imports, caches
                for body in payloads:
                    await call(asgi, PATHS[name], body, CONTENT_TYPES[kind])
            for r in range(args.rounds):
                order = list(apps) if r % 2 == 0 else list(apps)[::-1]
                for name in order:
                    timers.app, timers.spent = name, defaultdict(float)
                    start = time.perf_counter()
                    for body in payloads:
                        await call(apps[name], PATHS[name], body, CONTENT_TYPES[kind])
                    total = (time.perf_counter() - start) / len(payloads) * 1e3
                    parts = {part: timers.spent[name, part] / len(payloads) * 1e3
                             for part in ("image work", "forward")}
                    for part, ms in {"request": total, **parts,
                                     "the rest": total - sum(parts.values())}.items():
                        means[kind, name, part].append(ms)
    return {kind: {name: {part: statistics.median(means[kind, name, part]) for part in PARTS}
                   for name in apps} for kind in kinds}


def report(result: dict[str, dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    print(f"ms a request, median of {args.rounds} rounds over {args.count} bodies of each kind, in turns; "
          f"load average {[round(x, 2) for x in os.getloadavg()]}")
    print(f"\n{'payload':<11}{'app':<11}" + "".join(f"{part:>12}" for part in PARTS) + f"{'ours/ref':>10}")
    for kind, apps in result.items():
        for name, parts in apps.items():
            ratio = parts["request"] / apps["reference"]["request"] if name == "ours" else None
            print(f"{kind:<11}{name:<11}" + "".join(f"{parts[p]:>12.3f}" for p in PARTS)
                  + (f"{ratio:>10.2f}" if ratio else ""))
    print("\nimage work: open, decode, preprocess (ours: open_images + preprocess; the reference: "
          "to_input); forward: the network (ours: logits_and_probabilities; the reference: "
          "Network.predict_proba); the rest: framework, parsing the body, the answer")


def main() -> None:
    args = parse_args()
    pin_blas_threads(1)  # one BLAS thread, as the servers run
    with tempfile.TemporaryDirectory(prefix="digitnet-inproc-") as home:  # the user's state left alone
        os.environ.update(DIGITNET_HOME=home, DIGITNET_ADMIN_TOKEN=secrets.token_urlsafe(32))
        result = asyncio.run(measure(args))
    if args.json:
        print(json.dumps(result))
    else:
        report(result, args)


if __name__ == "__main__":
    main()
