"""Fetching the four MNIST files from public mirrors, safely.

For each file in ``model.data.mnist.FILES`` the downloader

1. keeps the copy already in ``dest`` if its SHA-256 is the official one;
2. otherwise tries each mirror in turn: the body is streamed into a hidden temporary file in
   ``dest`` while its SHA-256 is computed, and the progress callback hears
   ``(file name, bytes so far, total bytes or None)``;
3. accepts a download only if every promised byte arrived and the SHA-256 is the official one,
   then flushes it to disk (``fsync``) and renames it into place with ``os.replace``.

A rename within one directory is atomic, so the final name only ever holds a complete, verified
file: a crash, a corrupt body or a dropped connection leaves at worst a hidden ``.part`` file, and
the temporary file is removed whenever an attempt fails. A failed attempt moves on to the next
mirror; when every mirror fails, ``DataError`` lists what each one failed with, and says so when
the machine looks offline, in which case the files can be copied into ``dest`` by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from model.data import mnist
from model.data.mnist import DataError, sha256_file
from model.files import atomic_write

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
CHUNK_BYTES = 1 << 16

Progress = Callable[[str, int, int | None], None]


class _BadDownloadError(Exception):
    """A body that arrived but cannot be used: cut short or not matching its checksum."""


def download_mnist(
    dest: str | os.PathLike[str],
    mirrors: Sequence[str] = MIRRORS,
    progress: Progress | None = None,
    timeout: float = 30.0,
    files: Mapping[str, tuple[str, int]] | None = None,
) -> list[Path]:
    """Make sure ``dest`` holds every MNIST file with its official SHA-256, downloading as needed.

    Parameters
    ----------
    dest : the directory to fill; created with its parents if missing.
    mirrors : base URLs tried in order; a file's URL is the base followed by its name.
    progress : called as ``progress(name, bytes_so_far, total_or_None)`` while a file streams.
    timeout : seconds to wait for a connection or for the next bytes before giving up on a mirror.
    files : name -> (sha256, count); ``model.data.mnist.FILES`` when None.

    Returns
    -------
    The paths of the verified files, in the order of ``files``.

    Raises
    ------
    DataError : when no mirror delivers a file intact.
    """
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    wanted = mnist.FILES if files is None else files
    paths = []
    for name, (digest, _count) in wanted.items():
        target = root / name
        if not (target.is_file() and sha256_file(target) == digest):
            _fetch(name, digest, root, mirrors, progress, timeout)
        paths.append(target)
    return paths


def _fetch(
    name: str,
    digest: str,
    root: Path,
    mirrors: Sequence[str],
    progress: Progress | None,
    timeout: float,
) -> None:
    """Try each mirror for one file until one delivers it intact; DataError if none does."""
    failures: list[tuple[str, Exception]] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + name
        try:
            _download_from(url, name, digest, root, progress, timeout)
            return
        except (OSError, http.client.HTTPException, _BadDownloadError) as exc:
            failures.append((url, exc))
    raise DataError(_failure_message(name, root, failures))


def _download_from(
    url: str, name: str, digest: str, root: Path, progress: Progress | None, timeout: float
) -> None:
    """Stream ``url`` into a temporary file in ``root``, verify it, then rename it to ``name``."""
    with atomic_write(root / name, f".{name}.", ".part") as out:
        actual = _stream(url, name, out, progress, timeout)
        if actual != digest:  # raised inside: the file is not renamed into place
            raise _BadDownloadError(f"SHA-256 is {actual}, the official one is {digest}")


def _stream(
    url: str, name: str, out: BinaryIO, progress: Progress | None, timeout: float
) -> str:
    """Copy the body of ``url`` to ``out`` and return its hex SHA-256; raise if it is cut short."""
    request = urllib.request.Request(url, headers={"User-Agent": "digitnet"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length", "")
        total = int(length) if length.isdigit() else None
        received, h = 0, hashlib.sha256()
        if progress:
            progress(name, received, total)
        while chunk := response.read(CHUNK_BYTES):
            out.write(chunk)
            h.update(chunk)
            received += len(chunk)
            if progress:
                progress(name, received, total)
    # http.client returns b"" rather than raising when the peer closes early, so count the bytes.
    if total is not None and received != total:
        raise _BadDownloadError(f"connection dropped after {received} of {total} bytes")
    return h.hexdigest()


def _looks_offline(exc: Exception) -> bool:
    """True for a connection that never started: no DNS, refused, unreachable network."""
    return (
        isinstance(exc, urllib.error.URLError)
        and not isinstance(exc, urllib.error.HTTPError)
        and isinstance(exc.reason, OSError)
    )


def _failure_message(name: str, root: Path, failures: list[tuple[str, Exception]]) -> str:
    """What each mirror failed with, and what the user can do about it."""
    lines = [f"Could not download MNIST file {name} from any mirror:"]
    lines += [f"  {url}: {type(exc).__name__}: {exc}" for url, exc in failures]
    by_hand = f"copy the four MNIST files ({', '.join(mnist.FILES)}) by hand into {root}"
    if failures and all(_looks_offline(exc) for _, exc in failures):
        lines.append(
            f"This machine appears to be offline: no mirror could be reached. You can {by_hand}."
        )
    else:
        lines.append(f"Try again later, or {by_hand}.")
    return "\n".join(lines)
