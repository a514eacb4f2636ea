import os
from pathlib import Path

import pytest

from model import files
from model.files import atomic_write, fsync_directory


def test_fsync_directory_flushes_the_directory_itself(tmp_path: Path, monkeypatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    fsync_directory(tmp_path)
    assert len(synced) == 1


def test_fsync_directory_does_nothing_where_a_directory_cannot_be_opened(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    fsync_directory(missing)  # os.open fails: no exception may escape
    assert not missing.exists()


def test_fsync_directory_closes_the_directory_when_fsync_is_refused(tmp_path: Path, monkeypatch) -> None:
    closed: list[int] = []
    real_close = os.close

    def refuse(fd: int) -> None:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(files.os, "fsync", refuse)
    monkeypatch.setattr(files.os, "close", lambda fd: (closed.append(fd), real_close(fd)))
    fsync_directory(tmp_path)
    assert len(closed) == 1


def test_the_writers_share_one_atomic_write() -> None:
    from app.state import versions as version_store
    from model import serialize
    from model.data import download

    assert download.atomic_write is serialize.atomic_write is version_store.atomic_write is atomic_write


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "m.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target, ".tmp-", ".npz") as f:
        f.write(b"half of the new")
        raise RuntimeError("stopped mid-write")
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    with atomic_write(target, ".tmp-", ".npz") as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    assert target.stat().st_mode & 0o777 == 0o644
