"""Old against new preprocessing, in turns in one process: image bytes -> the network's 784 inputs.

``serve_wrk.py`` measures whole requests, where a change of 20 us in a 2 ms request is lost in the
swings of a shared machine. This script loads two copies of ``app.reading.images`` (and the
``model.images.preprocess`` it uses) into one process: the one in ``--old-root`` (e.g. ``git archive HEAD
app model | tar -x -C /tmp/old``) and this checkout's. For the three image kinds of ``serve_wrk.py``
(the page's 140x140 PNG, the 280x280 canvas, a 28x28 MNIST PNG) it first checks that both give the
same bits at every step, then times each step on every drawing with each tree, in turns, rotating
which goes first, and prints the median microseconds a drawing and new / old. Run it under
``flock /tmp/digitnet-bench.lock``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.trees import import_from  # noqa: E402


def image_files(count: int) -> dict[str, list[bytes]]:
    """The PNG files inside serve_wrk.py's bodies of each image kind."""
    from benchmarks.serve_wrk import parse_args
    from tests.payloads import bodies

    defaults = parse_args([])  # the drawings and digits serve_wrk.py reads by default
    kinds = bodies(defaults.pendigits, defaults.mnist, count)
    canvases = [json.loads(body)["image"].partition(",")[2] for body in kinds["data-url"]]
    return {"page": kinds["page"], "data-url": [base64.b64decode(text) for text in canvases],
            "multipart": [b[b.index(b"\r\n\r\n") + 4:b.rindex(b"\r\n--")] for b in kinds["multipart"]]}


def ink_step(images: ModuleType) -> Callable[[object], np.ndarray]:
    """A decoded image -> what the tree's ``to_mnist`` reads (8-bit levels once ``to_levels`` exists)."""
    return getattr(images, "to_levels", images.to_ink)


def same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a is None and b is None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-root", type=Path, required=True, help="the older tree (app/ and model/)")
    parser.add_argument("--count", type=int, default=50, help="drawings of each kind")
    parser.add_argument("--rounds", type=int, default=15, help="turns of each tree")
    args = parser.parse_args()
    files = image_files(args.count)
    roots = (("old", args.old_root.resolve()), ("new", ROOT))
    trees = {name: import_from(root, "app.reading.images") for name, root in roots}
    print(f"{'kind':<11}{'step':<10}{'old us':>9}{'new us':>9}{'new/old':>9}")
    for kind, datas in files.items():
        # each step's input, made untimed by the same tree: files, decoded images, inks
        inputs: dict[str, dict[str, list]] = {}
        for name, tree in trees.items():
            inputs[name] = {"decode": datas, "ink": [tree.decode(d) for d in datas]}
            inputs[name]["to_mnist"] = [ink_step(tree)(image) for image in inputs[name]["ink"]]
            inputs[name]["all"] = datas
        steps = {name: {"decode": tree.decode, "ink": ink_step(tree), "to_mnist": tree.to_mnist,
                        "all": tree.preprocess} for name, tree in trees.items()}
        for i, data in enumerate(datas):
            old, new = (tree.preprocess(data) for tree in trees.values())
            assert same(old, new), f"{kind} #{i}: the trees give different inputs to the network"
            old, new = (tree.to_ink(tree.decode(data)) for tree in trees.values())
            assert same(old, new), f"{kind} #{i}: the trees give different ink"
        # the least time of each drawing over the rounds (a preempted run only adds), in turns
        best: dict[tuple[str, str], np.ndarray] = {}
        for r in range(args.rounds):
            for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                for step, fn in steps[name].items():
                    seconds = np.empty(len(datas))
                    for i, x in enumerate(inputs[name][step]):
                        start = time.perf_counter()
                        fn(x)
                        seconds[i] = time.perf_counter() - start
                    key = (step, name)
                    best[key] = np.minimum(best[key], seconds) if key in best else seconds
        for step in steps["old"]:
            o, n = (1e6 * best[step, name].mean() for name in ("old", "new"))
            print(f"{kind:<11}{step:<10}{o:>9.1f}{n:>9.1f}{n / o:>9.2f}")


if __name__ == "__main__":
    main()
