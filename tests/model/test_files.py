import os
from pathlib import Path

from model import files
from model.files import fsync_directory


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


def test_the_writers_share_one_fsync_directory() -> None:
    from model import download, serialize

    assert download.fsync_directory is serialize.fsync_directory is fsync_directory
