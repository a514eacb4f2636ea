"""The least a FastAPI server can do to answer POST /predict: the floor benchmarks/serve_load.py compares to.

A raw PNG/JPEG body is decoded by Pillow, turned to grayscale, resized to 28x28 by area averaging
(``Image.Resampling.BOX``), inverted when the border is light (the page draws dark ink on white, MNIST
is light ink on black), scaled to [0, 1] and fed to the very same network as the app
(``model.serialize.load_model`` of the same weights, ``network.predict_proba`` on a batch of one).
The answer is ``{"digit": d, "probabilities": [10 floats]}`` through a plain ``JSONResponse``.

Nothing else: no cropping, stroke normalisation or centring, no size limits, no content types, no
response model, no echo of the 28x28 input. Its readings are therefore worse than the app's; it
exists to show what the framework, the decode and the forward pass alone cost. As in the app's route,
the body is read on the event loop and the work runs in Starlette's thread pool.

``POST /predict/loop`` (what benchmarks/serve_wrk.py compares to) takes a drawing in each of the app's
forms: a raw PNG/JPEG body, a multipart field ``file``, JSON with a data URL in ``image``, or JSON
``pixels`` (784 numbers, used as they are). It does all of its work on the event loop, no thread hop,
and answers ``{"digit": d}`` alone.

    .venv/bin/python -m uvicorn benchmarks.reference_server:app --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image
from starlette.concurrency import run_in_threadpool

from model.serialize import load_model

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = Path(os.environ.get("DIGITNET_WEIGHTS", str(ROOT / "weights" / "digitnet.npz")))
network = load_model(WEIGHTS).network  # loaded once, at import, before uvicorn accepts requests
app = FastAPI(title="digitnet reference server")


def to_input(data: bytes) -> np.ndarray:
    """Image bytes -> (1, 784) float32 in [0, 1], light ink on dark as MNIST."""
    image = Image.open(io.BytesIO(data)).convert("L").resize((28, 28), Image.Resampling.BOX)
    gray = np.asarray(image, dtype=np.float32) / 255.0  # (28, 28)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1.0 - gray if np.median(border) > 0.5 else gray
    return ink.reshape(1, 784)


@app.get("/readyz")
def readyz() -> JSONResponse:
    return JSONResponse({"status": "ready"})


def answer(data: bytes) -> dict[str, object]:
    """Decode, resize, forward: the digit and its ten probabilities."""
    probs = network.predict_proba(to_input(data))[0]  # (1, 784) -> (1, 10)
    return {"digit": int(probs.argmax()), "probabilities": [round(float(p), 6) for p in probs]}


@app.post("/predict")
async def predict(request: Request) -> JSONResponse:
    """Raw image bytes in; the digit and ten probabilities out."""
    return JSONResponse(await run_in_threadpool(answer, await request.body()))


@app.post("/predict/loop")
async def predict_loop(request: Request) -> JSONResponse:
    """Any of the four forms in, ``{"digit": d}`` out; everything on the event loop."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    if media_type == "multipart/form-data":
        form = await request.form()
        x = to_input(await form["file"].read())  # type: ignore[union-attr]
    elif media_type == "application/json":
        body = json.loads(await request.body())
        if "pixels" in body:
            x = np.asarray(body["pixels"], dtype=np.float32).reshape(1, 784)
        else:
            x = to_input(base64.b64decode(body["image"].split(",", 1)[1]))
    else:
        x = to_input(await request.body())
    probs = network.predict_proba(x)[0]  # (1, 784) -> (1, 10)
    return JSONResponse({"digit": int(probs.argmax())})
