"""Small file-system helpers shared by the modules that write files atomically."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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
