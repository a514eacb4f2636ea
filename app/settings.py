"""Every setting of digitnet, read once at start from ``DIGITNET_*`` environment variables.

``Settings`` below is the one list of them: each field names its variable and its default; the
README's table of settings (what each one does) is pinned to it by a test. A missing or bad value
is one clear line at start (``SettingsError``), never a traceback later. Where the project's own
files are (the page's templates and scripts, the shipped weights) is fixed by the checkout, or by
``DIGITNET_ROOT`` where the package is installed apart from them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.state.versions import DEFAULT_VERSION, valid_version_id

MIN_TOKEN_LENGTH = 16
ROOT = Path(os.environ.get("DIGITNET_ROOT") or Path(__file__).resolve().parents[1])
STATIC = ROOT / "static"
TEMPLATES = ROOT / "templates"
SHIPPED_WEIGHTS = ROOT / "weights" / "digitnet.npz"


class SettingsError(ValueError):
    """A setting has a value digitnet cannot use; the message names the variable and the fix."""


def default_home() -> Path:
    """``$XDG_DATA_HOME/digitnet``, by default ``~/.local/share/digitnet``."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "digitnet"


def _setting(env: str, parse: Callable[[str], Any] = str, *, default: Any = None,
             default_factory: Callable[[], Any] | None = None) -> Any:
    """A dataclass field that knows its environment variable and how to read it."""
    meta = {"env": env, "parse": parse}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def _whole(text: str) -> int:
    return int(text.strip())


SWITCH = {**dict.fromkeys(("on", "true", "yes", "1"), True),
          **dict.fromkeys(("off", "false", "no", "0"), False)}


def _models(text: str) -> tuple[tuple[str, Path], ...]:
    """``name=path,name=path`` -> ((name, Path(path)), ...)."""
    pairs = []
    for item in text.split(","):
        name, sep, path = item.strip().partition("=")
        if not sep or not path.strip():
            raise ValueError(item)
        pairs.append((name.strip(), Path(path.strip())))
    return tuple(pairs)


def _switch(text: str) -> bool:
    try:
        return SWITCH[text.strip().lower()]
    except KeyError:
        raise ValueError(text) from None


@dataclass(frozen=True)
class Settings:
    """What the server needs to know from its operator. Construct directly (tests) or ``from_env``."""

    # what each one does is in the README's table of settings
    home: Path = _setting("DIGITNET_HOME", Path, default_factory=default_home)
    admin_token: str | None = _setting("DIGITNET_ADMIN_TOKEN")
    data_dir: str | None = _setting("DIGITNET_DATA")
    weights: Path = _setting("DIGITNET_WEIGHTS", Path, default=SHIPPED_WEIGHTS)
    extra_models: tuple[tuple[str, Path], ...] = _setting("DIGITNET_EXTRA_MODELS", _models, default=())
    max_in_flight: int = _setting("DIGITNET_MAX_IN_FLIGHT", _whole, default=64)
    request_timeout_s: float = _setting("DIGITNET_REQUEST_TIMEOUT", float, default=10.0)
    inference_threads: int = _setting("DIGITNET_INFERENCE_THREADS", _whole, default=1)
    max_costly_in_flight: int = _setting("DIGITNET_MAX_COSTLY_IN_FLIGHT", _whole, default=16)
    costly_threads: int = _setting("DIGITNET_COSTLY_THREADS", _whole, default=1)
    max_body_bytes: int = _setting("DIGITNET_MAX_BODY_BYTES", _whole, default=1 << 20)
    receive_timeout_s: float = _setting("DIGITNET_RECEIVE_TIMEOUT", float, default=5.0)
    max_request_pixels: int = _setting("DIGITNET_MAX_REQUEST_PIXELS", _whole, default=2 * 2048 * 2048)
    feedback: bool = _setting("DIGITNET_FEEDBACK", _switch, default=True)
    feedback_rate: int = _setting("DIGITNET_FEEDBACK_RATE", _whole, default=30)
    feedback_max_count: int = _setting("DIGITNET_FEEDBACK_MAX_COUNT", _whole, default=20_000)
    feedback_max_bytes: int = _setting("DIGITNET_FEEDBACK_MAX_BYTES", _whole, default=200 << 20)
    feedback_auto_accept: bool = _setting("DIGITNET_FEEDBACK_AUTO_ACCEPT", _switch, default=False)
    pendigits: str | None = _setting("DIGITNET_PENDIGITS")
    database_url: str | None = _setting("DIGITNET_DATABASE_URL")
    heartbeat_timeout_s: float = _setting("DIGITNET_HEARTBEAT_TIMEOUT", float, default=30.0)

    def __post_init__(self) -> None:
        checks = [
            (self.max_in_flight >= 1, "max_in_flight", "a whole number >= 1"),
            (0 < self.request_timeout_s <= 3600, "request_timeout_s", "a number of seconds in (0, 3600]"),
            (1 <= self.inference_threads <= 64, "inference_threads", "a whole number from 1 to 64"),
            (self.max_costly_in_flight >= 1, "max_costly_in_flight", "a whole number >= 1"),
            (1 <= self.costly_threads <= 64, "costly_threads", "a whole number from 1 to 64"),
            (1024 <= self.max_body_bytes <= 1 << 30, "max_body_bytes", "a number of bytes from 1024 to 2^30"),
            (0 < self.receive_timeout_s <= 600, "receive_timeout_s", "a number of seconds in (0, 600]"),
            (1 <= self.max_request_pixels, "max_request_pixels", "a whole number >= 1"),
            (1 <= self.feedback_rate <= 10_000, "feedback_rate", "a whole number from 1 to 10000"),
            (0 <= self.feedback_max_count, "feedback_max_count", "a whole number >= 0"),
            (0 <= self.feedback_max_bytes, "feedback_max_bytes", "a number of bytes >= 0"),
            (1 <= self.heartbeat_timeout_s <= 3600, "heartbeat_timeout_s",
             "a number of seconds in [1, 3600]"),
            (self.database_url is None or self.database_url.startswith(("postgresql://", "postgres://")),
             "database_url", "a PostgreSQL URL (postgresql://user:password@host:port/database)"),
        ]
        for name, _ in self.extra_models:
            if name == DEFAULT_VERSION or not valid_version_id(name):
                raise SettingsError(f"DIGITNET_EXTRA_MODELS must be name=path pairs whose names are letters, "
                                    f"digits, '-' and '_' (at most 64, not 'default'), got {name!r}")
        if self.admin_token is not None and len(self.admin_token) < MIN_TOKEN_LENGTH:
            raise SettingsError(f"DIGITNET_ADMIN_TOKEN must be at least {MIN_TOKEN_LENGTH} characters "
                                f"(it has {len(self.admin_token)}); or unset it to have one generated")
        for ok, name, wanted in checks:
            if not ok:
                value = "that" if name == "database_url" else repr(getattr(self, name))  # may hold a password
                raise SettingsError(f"{env_name(name)} must be {wanted}, got {value}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``environ`` (default: this process's environment); unset ones keep their
        defaults, an empty value counts as unset."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            text = environ.get(f.metadata["env"], "")
            if not text:
                continue
            try:
                values[f.name] = f.metadata["parse"](text)
            except ValueError:
                raise SettingsError(f"{f.metadata['env']} must be {_kind(f.type)}, got {text!r}") from None
        return cls(**values)


def env_name(field_name: str) -> str:
    """The environment variable behind a ``Settings`` field."""
    return next(f.metadata["env"] for f in dataclasses.fields(Settings) if f.name == field_name)


def _kind(annotation: Any) -> str:
    kinds = {"int": "a whole number", "float": "a number", "bool": "on or off",
             "tuple[tuple[str, Path], ...]": "name=path pairs separated by commas"}
    return kinds.get(str(annotation), "a value")
