import logging
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.web.auth import load_or_create_token


def test_generated_token_is_private_stable_and_shared(tmp_path) -> None:
    with ThreadPoolExecutor(8) as pool:  # several workers starting at once
        tokens = set(pool.map(lambda _: load_or_create_token(tmp_path), range(8)))
    assert len(tokens) == 1 and len(tokens.pop()) >= 32
    mode = stat.S_IMODE((tmp_path / "admin-token").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_token(tmp_path) == (tmp_path / "admin-token").read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["admin-token"]


def test_configured_token_wins_and_a_truncated_file_is_refused(tmp_path) -> None:
    assert load_or_create_token(tmp_path, "from-the-settings-123") == "from-the-settings-123"
    assert not (tmp_path / "admin-token").exists()
    (tmp_path / "admin-token").write_text("")
    with pytest.raises(RuntimeError, match="too short"):
        load_or_create_token(tmp_path)


def test_a_generated_token_is_never_written_to_the_log(tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="digitnet"):
        token = load_or_create_token(tmp_path)
    assert caplog.records, "the log says a token was generated, and where"
    assert str(tmp_path / "admin-token") in caplog.text and token not in caplog.text
