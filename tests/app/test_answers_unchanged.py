"""The speed work on POST /predict changes no answer: each payload kind, the same answers as before it.

``predict_answers.json`` beside this file holds, for a fixed set of drawings of every form the route
reads (benchmarks/serve_wrk.py's four payload kinds, plus the page's drawings as JPEG and a blank
canvas), what the code answered before the serving changes of issue 14: the digit, the ten
probabilities and a SHA-256 of the ``input`` data URL. Written at commit 3284c80 by

    DIGITNET_DATA=/work/shared/mnist .venv/bin/python -m tests.app.test_answers_unchanged --write

so an answer that moves by one bit of a probability's sixth decimal, or one gray level of the 28x28
input, fails here.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings
from benchmarks.serve_wrk import CONTENT_TYPES, bodies, parse_args
from tests.app.conftest import WEIGHTS

GOLDEN = Path(__file__).with_name("predict_answers.json")
COUNT = 25  # drawings of each kind


def payloads(mnist_dir: Path, pendigits_file: Path) -> dict[str, list[tuple[str, bytes]]]:
    """(content type, body) of each drawing, by kind."""
    args = parse_args(["--count", str(COUNT), "--mnist", str(mnist_dir), "--pendigits", str(pendigits_file)])
    kinds = {kind: [(CONTENT_TYPES[kind], body) for body in items] for kind, items in bodies(args).items()}

    def jpeg(png: bytes) -> bytes:
        out = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").save(out, format="JPEG", quality=90)
        return out.getvalue()

    kinds["page-jpeg"] = [("image/jpeg", jpeg(body)) for _, body in kinds["page"][:10]]
    blank = io.BytesIO()
    Image.new("RGBA", (140, 140), "white").save(blank, format="PNG")
    zeros = json.dumps({"pixels": [0] * 784}).encode()
    kinds["blank"] = [("image/png", blank.getvalue()), ("application/json", zeros)]
    return kinds


def answers(client: TestClient, kinds: dict[str, list[tuple[str, bytes]]]) -> dict[str, list[dict[str, Any]]]:
    """What /predict answers each drawing: digit, probabilities, the input's SHA-256."""
    found: dict[str, list[dict[str, Any]]] = {}
    for kind, items in kinds.items():
        found[kind] = []
        for content_type, body in items:
            response = client.post("/predict", content=body, headers={"content-type": content_type})
            assert response.status_code == 200, (kind, response.text)
            answer = response.json()
            found[kind].append({"digit": answer["digit"], "probabilities": answer["probabilities"],
                                "input_sha256": hashlib.sha256(answer["input"].encode()).hexdigest()})
    return found


def test_every_payload_kind_gets_the_answers_it_got_before(tmp_path: Path, mnist_dir: Path,
                                                           pendigits_file: Path) -> None:
    expected = json.loads(GOLDEN.read_text())
    with TestClient(create_app(Settings(weights=WEIGHTS, home=tmp_path))) as client:
        found = answers(client, payloads(mnist_dir, pendigits_file))
    assert set(found) == set(expected)
    for kind in expected:
        for i, (now, before) in enumerate(zip(found[kind], expected[kind], strict=True)):
            assert now == before, f"{kind} #{i}: {now} != {before}"


def main() -> None:
    parser = argparse.ArgumentParser(description="print (or --write) the answers of the current code")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    shared = Path(__file__).resolve().parents[2].parent / "shared"
    mnist = Path(os.environ.get("DIGITNET_DATA") or shared / "mnist")
    with tempfile.TemporaryDirectory() as home, \
            TestClient(create_app(Settings(weights=WEIGHTS, home=Path(home)))) as client:
        found = answers(client, payloads(mnist, shared / "pendigits" / "pendigits-orig-tra.txt"))
    text = "{\n" + ",\n".join(  # one answer a line
        f" {json.dumps(kind)}: [\n" + ",\n".join(f"  {json.dumps(a)}" for a in items) + "\n ]"
        for kind, items in found.items()) + "\n}"
    if args.write:
        GOLDEN.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
