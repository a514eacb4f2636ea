"""Settings: read once from DIGITNET_* variables, validated with one clear line, documented in one table."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import ROOT, SHIPPED_WEIGHTS, Settings, SettingsError, default_home


def test_unset_variables_keep_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.home == default_home() and settings.weights == SHIPPED_WEIGHTS
    assert (settings.max_in_flight, settings.request_timeout_s, settings.inference_threads) == (64, 10.0, 1)
    assert settings.admin_token is None and settings.data_dir is None


def test_every_variable_is_read() -> None:
    settings = Settings.from_env({
        "DIGITNET_HOME": "/srv/digitnet", "DIGITNET_ADMIN_TOKEN": "a-token-of-some-length",
        "DIGITNET_DATA": "/data/mnist", "DIGITNET_WEIGHTS": "/models/m.npz", "DIGITNET_MAX_IN_FLIGHT": "8",
        "DIGITNET_REQUEST_TIMEOUT": "2.5", "DIGITNET_INFERENCE_THREADS": "2",
        "DIGITNET_MAX_BODY_BYTES": "4096", "DIGITNET_MAX_COSTLY_IN_FLIGHT": "3",
        "DIGITNET_COSTLY_THREADS": "2", "DIGITNET_EXTRA_MODELS": "conv=weights/conv.npz, big=/m/b.npz",
    })
    assert settings == Settings(home=Path("/srv/digitnet"), admin_token="a-token-of-some-length",
                                data_dir="/data/mnist", weights=Path("/models/m.npz"), max_in_flight=8,
                                request_timeout_s=2.5, inference_threads=2, max_body_bytes=4096,
                                max_costly_in_flight=3, costly_threads=2,
                                extra_models=(("conv", Path("weights/conv.npz")), ("big", Path("/m/b.npz"))))


@pytest.mark.parametrize("variable, value", [
    ("DIGITNET_MAX_IN_FLIGHT", "many"), ("DIGITNET_MAX_IN_FLIGHT", "0"), ("DIGITNET_MAX_IN_FLIGHT", "1.5"),
    ("DIGITNET_REQUEST_TIMEOUT", "soon"), ("DIGITNET_REQUEST_TIMEOUT", "-1"),
    ("DIGITNET_INFERENCE_THREADS", "0"), ("DIGITNET_MAX_BODY_BYTES", "10"),
    ("DIGITNET_MAX_COSTLY_IN_FLIGHT", "0"), ("DIGITNET_COSTLY_THREADS", "65"),
    ("DIGITNET_ADMIN_TOKEN", "a"), ("DIGITNET_ADMIN_TOKEN", "fifteen-chars-x"),
    ("DIGITNET_FEEDBACK", "maybe"), ("DIGITNET_FEEDBACK_RATE", "0"),
    ("DIGITNET_EXTRA_MODELS", "weights/conv.npz"), ("DIGITNET_EXTRA_MODELS", "conv="),
    ("DIGITNET_EXTRA_MODELS", "default=weights/conv.npz"),
    ("DIGITNET_EXTRA_MODELS", "../up=weights/conv.npz"),
])
def test_a_bad_value_names_its_variable_and_what_it_must_be(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: value})
    message = str(info.value)
    assert variable in message and "must be" in message and "\n" not in message


def test_the_readme_table_lists_every_setting_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(DIGITNET_[A-Z_]+)` \| ([^|]+) \|", readme, flags=re.MULTILINE))
    fields = {f.metadata["env"]: f for f in dataclasses.fields(Settings)}
    assert set(rows) == set(fields)
    for variable, f in fields.items():
        if isinstance(f.default, bool):
            assert rows[variable] == ("on" if f.default else "off"), variable
        elif isinstance(f.default, int | float):
            assert float(rows[variable]) == f.default, variable


def test_serve_with_a_bad_setting_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DIGITNET_MAX_IN_FLIGHT": "lots"}
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "digitnet: error: DIGITNET_MAX_IN_FLIGHT must be a whole number, got 'lots'"]


def serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "0"], cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60)


def test_a_state_that_cannot_be_used_is_one_line_naming_it(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "digitnet.db").write_bytes(b"this is not a database" * 100)
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("x")
    cases = [
        ({"DIGITNET_HOME": str(corrupt)}, [str(corrupt / "digitnet.db"), "move it away"]),
        ({"DIGITNET_HOME": str(not_a_dir / "home")}, [str(not_a_dir / "home"), "DIGITNET_HOME"]),
        ({"DIGITNET_HOME": str(tmp_path / "ok"), "DIGITNET_WEIGHTS": str(tmp_path / "none.npz")},
         [str(tmp_path / "none.npz")]),
        ({"DIGITNET_HOME": str(tmp_path / "ok"), "DIGITNET_EXTRA_MODELS": f"conv={tmp_path / 'gone.npz'}"},
         [str(tmp_path / "gone.npz")]),
    ]
    for env, words in cases:
        done = serve({"HOME": str(tmp_path), "DIGITNET_ADMIN_TOKEN": "t" * 16, **env})
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1, done.stderr
        assert lines[0].startswith("digitnet: error: ") and all(w in lines[0] for w in words), lines[0]
    assert (corrupt / "digitnet.db").read_bytes().startswith(b"this is not a database")  # left as it was


@pytest.mark.parametrize("url, message", [
    ("postgresql://digitnet:s3cret@127.0.0.1:{port}/digitnet", "cannot reach the database"),
    ("mysql://digitnet:s3cret@127.0.0.1/digitnet", "DIGITNET_DATABASE_URL must be a PostgreSQL URL"),
])
def test_serve_with_a_database_it_cannot_use_is_one_line_without_the_password(
        tmp_path: Path, url: str, message: str) -> None:
    from tests.postgres import free_port

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DIGITNET_ADMIN_TOKEN": "t" * 16,
           "DIGITNET_DATABASE_URL": url.format(port=free_port())}  # nothing listens there
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "s3cret" not in lines[0], lines
