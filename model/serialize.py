"""Saving and loading a trained network as one ``.npz`` file.

The file holds two arrays and nothing else: ``theta`` (the flat parameter vector) and ``meta`` (a
JSON text with the architecture and the run's metadata: hyperparameters, seed, data checksums,
accuracies, training time, creation time). It is read with ``allow_pickle=False``, so a file cannot
run code, and checked before use: shapes, dtype, finite values. Writes are atomic: the file is
written under a temporary name in the same directory, flushed to disk, then renamed into place,
so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.architecture import MNIST_IMAGE, Architecture
from model.files import atomic_write
from model.network import Network

FORMAT = "digitnet-model/1"
TEMP_PREFIX = ".tmp-"


class ModelFileError(Exception):
    """A model file is missing, unreadable or invalid; the message names the file and the fault."""


@dataclass(frozen=True)
class SavedModel:
    network: Network
    meta: dict[str, Any]


def save_model(path: str | os.PathLike[str], net: Network, meta: dict[str, Any]) -> Path:
    """Atomically write ``net`` and ``meta`` (JSON-serialisable) to ``path``; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    full_meta = {"format": FORMAT, "architecture": net.arch.to_dict(), **meta}
    meta_text = np.array(json.dumps(full_meta, sort_keys=True))
    with atomic_write(target, TEMP_PREFIX, ".npz") as f:
        np.savez(f, theta=net.theta, meta=meta_text)
    return target


def _read_arrays(path: Path) -> tuple[np.ndarray, str]:
    if path.is_file() and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a readable .npz model file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if names != {"theta", "meta"}:
                raise ModelFileError(
                    f"{path} should hold exactly the arrays 'theta' and 'meta', found {sorted(names)}"
                )
            return npz["theta"], str(npz["meta"][()])
    except FileNotFoundError as exc:
        raise ModelFileError(f"model file {path} does not exist") from exc
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ModelFileError(f"{path} contains pickled Python objects, which are refused") from exc
        raise ModelFileError(f"{path} is not a valid model file ({exc})") from exc
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ModelFileError(f"{path} is not a readable .npz model file ({exc})") from exc


def _describe(arch: Architecture) -> str:
    return str(list(arch.sizes)) if not arch.image_layers else ", ".join(arch.layers())


def load_model(path: str | os.PathLike[str]) -> SavedModel:
    """Read and validate a model file written by ``save_model``."""
    p = Path(path)
    theta, meta_text = _read_arrays(p)
    try:
        meta = json.loads(meta_text)
        arch_d = meta["architecture"]
        arch = Architecture(
            tuple(arch_d["sizes"]), arch_d["hidden_activation"], arch_d["output_activation"],
            arch_d["cost"], tuple(arch_d.get("image_layers", ())), tuple(arch_d.get("image", MNIST_IMAGE)),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{p} has invalid metadata ({exc})") from exc
    if theta.dtype not in (np.float32, np.float64):
        raise ModelFileError(f"{p}: theta has dtype {theta.dtype}, expected float32 or float64")
    if theta.shape != (arch.n_params,):
        raise ModelFileError(
            f"{p}: theta has shape {theta.shape} but the architecture {_describe(arch)} "
            f"needs ({arch.n_params},)"
        )
    if not np.isfinite(theta).all():
        raise ModelFileError(f"{p}: theta contains NaN or infinite values")
    return SavedModel(Network(arch, dtype=theta.dtype.type, theta=theta), meta)
