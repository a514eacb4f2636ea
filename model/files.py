"""Small file-system helpers shared by the modules that write files atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable by flushing the directory entry itself.

    ``os.replace`` swaps the name atomically, but the new entry may still sit in the page cache;
    fsync on the directory writes it out. Not every platform can open or fsync a directory (Windows
    cannot, and some file systems refuse), and there the rename is as durable as it gets, so this
    then does nothing rather than fail a write that has already succeeded.
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(target: Path, prefix: str = ".tmp-", suffix: str = "") -> Iterator[BinaryIO]:
    """A file to write that becomes ``target`` whole or not at all.

    It is a temporary file beside ``target`` (named ``prefix...suffix``, so a clean-up can find
    leftovers of a crash), flushed to disk, then renamed over ``target`` and the rename flushed
    too (``fsync_directory``). An exception inside the block leaves ``target`` as it was and
    removes the temporary file. Readable by all (0644), like the files it replaces.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)
