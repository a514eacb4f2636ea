"""What TCP_NODELAY saves a request: our protocols against uvicorn's own, on a listening socket of
either kind, the same tiny app (tests/tiny_server.py: the head and a two-byte body in two writes).

On a socket bound with ``proto`` 0 (``--fd``, systemd, gunicorn, uvicorn's ``--workers`` before
0.55), asyncio leaves Nagle's algorithm on: the body waits until the client acknowledges the head,
and the client delays that acknowledgement. Our protocols (app/web/protocol.py) set TCP_NODELAY on
every connection. For each parser and socket kind, ``--rounds`` times, ours then uvicorn's in turns
(which goes first alternates), ``--requests`` requests one after the other on one kept-alive
connection (its first request uncounted); printed: the median ms a request and uvicorn's / ours.

    .venv/bin/python benchmarks/nagle_stall.py [--requests 50] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: E402
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: E402

from app.web.protocol import HeadDeadlineHttpToolsProtocol, HeadDeadlineProtocol  # noqa: E402
from tests.tiny_server import Bind, get, proto_zero, serving, uvicorn_bound  # noqa: E402

PARSERS = {"httptools": {"ours": HeadDeadlineHttpToolsProtocol, "uvicorn": HttpToolsProtocol},
           "h11": {"ours": HeadDeadlineProtocol, "uvicorn": H11Protocol}}
SOCKETS: dict[str, Bind] = {"proto 0": proto_zero, "uvicorn's own": uvicorn_bound}


def request_ms(protocol: type, bind: Bind, requests: int) -> list[float]:
    """Each request's time in ms on one kept-alive connection, after an uncounted first."""
    with serving(protocol, bind) as (_, address), socket.create_connection(address, timeout=10) as client:
        get(client)
        took = []
        for _ in range(requests):
            start = time.perf_counter()
            get(client)
            took.append((time.perf_counter() - start) * 1e3)
    return took


def measure(requests: int, rounds: int) -> list[dict[str, object]]:
    rows = []
    for parser, protocols in PARSERS.items():
        for kind, bind in SOCKETS.items():
            took: dict[str, list[float]] = {name: [] for name in protocols}
            for r in range(rounds):
                for name in list(protocols)[:: 1 if r % 2 == 0 else -1]:
                    took[name] += request_ms(protocols[name], bind, requests)
            ms = {name: statistics.median(values) for name, values in took.items()}
            rows.append({"parser": parser, "socket": kind, "ours_ms": round(ms["ours"], 3),
                         "uvicorn_ms": round(ms["uvicorn"], 3),
                         "uvicorn_over_ours": round(ms["uvicorn"] / ms["ours"], 1)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="timed requests per connection")
    parser.add_argument("--rounds", type=int, default=3, help="connections per server, in turns")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if min(args.requests, args.rounds) < 1:
        parser.error("--requests and --rounds must be positive")
    rows = measure(args.requests, args.rounds)
    if args.json:
        print(json.dumps({"requests": args.requests, "rounds": args.rounds, "rows": rows}))
        return
    print(f"median ms a request, {args.rounds} x {args.requests} on one kept-alive connection each")
    print(f"{'parser':<11}{'listening socket':<18}{'ours':>8}{'uvicorn':>9}{'uvicorn/ours':>14}")
    for row in rows:
        print(f"{row['parser']:<11}{row['socket']:<18}{row['ours_ms']:>8.2f}{row['uvicorn_ms']:>9.2f}"
              f"{row['uvicorn_over_ours']:>14.1f}")


if __name__ == "__main__":
    main()
