"""The four payload kinds POST /predict reads, as clients send them: the drawings the golden-answer
test (tests/app/test_answers_unchanged.py) checks and the serving benchmarks send.

page       the page's PNG body: 140x140 RGBA, as the page sends a drawing (pendigits strokes)
data-url   JSON ``{"image": "data:image/png;base64,..."}`` of a 280x280 RGBA canvas, the same strokes
multipart  a multipart field ``file``: a 28x28 MNIST test digit as an 8-bit gray PNG
pixels     JSON ``{"pixels": [784 numbers]}``: the same MNIST test digits scaled to [0, 1]
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from app.pen.pendigits import parse
from app.pen.strokes import PAGE, render
from model.data.mnist import read_idx

BOUNDARY = "digitnet-bench-boundary"
CONTENT_TYPES = {"page": "image/png", "data-url": "application/json",
                 "multipart": f"multipart/form-data; boundary={BOUNDARY}", "pixels": "application/json"}
# as the page sends a drawing: 140x140, its 18 px pen scaled to 9, ink #111 on white, RGBA
PAGE_PNG = {**PAGE, "size": 140, "line_width": 9.0}


def bodies(pendigits: Path, mnist: Path, count: int) -> dict[str, list[bytes]]:
    """``count`` request bodies of each kind: the first ``count`` drawings of the ``pendigits`` file
    and digits of MNIST's test set (in the folder ``mnist``)."""
    drawings = [s.strokes for s in parse(pendigits)[:count]]
    digits = read_idx(mnist / "t10k-images-idx3-ubyte.gz")[:count]  # (count, 784) uint8

    def png(row: np.ndarray) -> bytes:
        out = io.BytesIO()
        Image.fromarray(row.reshape(28, 28), mode="L").save(out, format="PNG")
        return out.getvalue()

    def multipart(data: bytes) -> bytes:
        head = (f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="digit.png"\r\n'
                "content-type: image/png\r\n\r\n").encode()
        return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()

    def data_url(strokes: list) -> bytes:
        canvas = base64.b64encode(render(strokes, **PAGE)).decode()  # 280x280, as the canvas is
        return json.dumps({"image": f"data:image/png;base64,{canvas}"}).encode()

    return {"page": [render(s, **PAGE_PNG) for s in drawings],
            "data-url": [data_url(s) for s in drawings],
            "multipart": [multipart(png(row)) for row in digits],
            "pixels": [json.dumps({"pixels": [round(v / 255, 4) for v in row.tolist()]}).encode()
                       for row in digits]}
