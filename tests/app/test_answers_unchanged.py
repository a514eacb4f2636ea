"""The speed work on POST /predict changes no answer: each payload kind, the same answers as before it.

``predict_answers.json`` beside this file holds, for a fixed set of drawings of every form the route
reads (tests/payloads.py's four payload kinds, which benchmarks/serve_wrk.py sends, plus the page's
drawings as JPEG and a blank canvas), what the code answered: the digit, the ten probabilities and
the 28x28 ``input`` image, with the versions of what computes them (NumPy, its BLAS, Pillow, the
CPU). Written by

    DIGITNET_DATA=/path/to/mnist .venv/bin/python -m tests.app.test_answers_unchanged --write

What a client sees is compared within a stated tolerance, not as bytes: the digit exactly, each
probability within one unit of its sixth decimal (the answer rounds to six), each of the 784 input
pixels within one gray level. A BLAS picks its kernels by CPU and a new NumPy or Pillow may round a
resize product the other way, which moves a pixel by one level and a PNG's every byte; a change
beyond that is a changed answer, and the failure names what differs from the recording.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import PIL
from fastapi.testclient import TestClient
from PIL import Image

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import WEIGHTS
from tests.payloads import CONTENT_TYPES, bodies

GOLDEN = Path(__file__).with_name("predict_answers.json")
COUNT = 25  # drawings of each kind


def payloads(mnist_dir: Path, pendigits_file: Path) -> dict[str, list[tuple[str, bytes]]]:
    """(content type, body) of each drawing, by kind."""
    made = bodies(pendigits_file, mnist_dir, COUNT)
    kinds = {kind: [(CONTENT_TYPES[kind], body) for body in items] for kind, items in made.items()}

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


PROBABILITY_TOLERANCE = 1e-6 + 1e-12  # one unit of the sixth decimal the answer rounds to
PIXEL_TOLERANCE = 1  # gray levels of the 28x28 input


def written_with() -> dict[str, str]:
    """The versions of what computes an answer: NumPy, the BLAS it runs, Pillow, the CPU."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() \
        else platform.machine()
    return {"numpy": np.__version__, "blas": f"{blas.get('name')} {blas.get('version')}",
            "pillow": PIL.__version__, "cpu": cpu}


def answers(client: TestClient, kinds: dict[str, list[tuple[str, bytes]]]) -> dict[str, list[dict[str, Any]]]:
    """What /predict answers each drawing: digit, probabilities, the 28x28 input."""
    found: dict[str, list[dict[str, Any]]] = {}
    for kind, items in kinds.items():
        found[kind] = []
        for content_type, body in items:
            response = client.post("/predict", content=body, headers={"content-type": content_type})
            assert response.status_code == 200, (kind, response.text)
            answer = response.json()
            found[kind].append({key: answer[key] for key in ("digit", "probabilities", "input")})
    return found


def pixels(data_url: str) -> np.ndarray:
    """The gray levels of an answer's ``input`` image, (28, 28) int."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.int16)


def differences(now: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """What moved beyond the tolerance between two answers, in words (empty: the same answer)."""
    problems = []
    if now["digit"] != before["digit"]:
        problems.append(f"digit {before['digit']} -> {now['digit']}")
    moved = np.abs(np.subtract(now["probabilities"], before["probabilities"]))
    if moved.max() > PROBABILITY_TOLERANCE:
        problems.append(f"probability of {int(moved.argmax())} moved by {moved.max():.2g}")
    levels = np.abs(pixels(now["input"]) - pixels(before["input"]))
    if levels.max() > PIXEL_TOLERANCE:
        problems.append(f"{int((levels > PIXEL_TOLERANCE).sum())} input pixels moved, "
                        f"up to {int(levels.max())} levels")
    return problems


def test_every_payload_kind_gets_the_answers_it_got_before(tmp_path: Path, mnist_dir: Path,
                                                           pendigits_file: Path) -> None:
    golden = json.loads(GOLDEN.read_text())
    expected = golden["answers"]
    with TestClient(create_app(Settings(weights=WEIGHTS, home=tmp_path))) as client:
        found = answers(client, payloads(mnist_dir, pendigits_file))
    assert set(found) == set(expected)
    changed = [f"{kind} #{i}: " + "; ".join(problems) for kind in expected
               for i, (now, before) in enumerate(zip(found[kind], expected[kind], strict=True))
               if (problems := differences(now, before))]
    recorded, current = golden["written_with"], written_with()
    moved = ", ".join(f"{name} {recorded[name]} -> {current[name]}" for name in recorded
                      if recorded[name] != current[name]) or "nothing: the same versions and CPU"
    assert not changed, f"answers changed: {changed}; since the recording, what moved: {moved}"


def test_the_tolerance_sees_a_changed_answer() -> None:
    """One gray level or one unit of the sixth decimal is the same answer; more is not."""
    base = Image.new("L", (28, 28))
    base.putpixel((14, 14), 200)
    answer = {"digit": 1, "probabilities": [0.1] * 10, "input": data_url(base)}
    assert differences(answer, answer) == []
    nudged = {**answer, "probabilities": [0.100001] + [0.1] * 9}
    base.putpixel((14, 14), 201)
    assert differences({**nudged, "input": data_url(base)}, answer) == []
    base.putpixel((14, 14), 202)
    moved = {"digit": 7, "probabilities": [0.100003] + [0.1] * 9, "input": data_url(base)}
    assert differences(moved, answer) == ["digit 1 -> 7", "probability of 0 moved by 3e-06",
                                          "1 input pixels moved, up to 2 levels"]


def data_url(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description="print (or --write) the answers of the current code")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    shared = Path(__file__).resolve().parents[2].parent / "shared"
    mnist = Path(os.environ.get("DIGITNET_DATA") or shared / "mnist")
    with tempfile.TemporaryDirectory() as home, \
            TestClient(create_app(Settings(weights=WEIGHTS, home=Path(home)))) as client:
        found = answers(client, payloads(mnist, shared / "pendigits" / "pendigits-orig-tra.txt"))
    text = '{\n "written_with": ' + json.dumps(written_with()) + ',\n "answers": {\n' + ",\n".join(
        f"  {json.dumps(kind)}: [\n" + ",\n".join(f"   {json.dumps(a)}" for a in items) + "\n  ]"
        for kind, items in found.items()) + "\n }\n}"  # one answer a line
    if args.write:
        GOLDEN.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
