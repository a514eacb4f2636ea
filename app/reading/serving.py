"""Which model answers: the promoted version, swapped in atomically, the same in every worker.

Each worker holds one immutable ``Predictor``. A request takes the reference once, so it is answered
wholly by one model; a swap replaces the reference (a single assignment), so no request sees half of
one model and half of another. Every worker polls the store's promoted version and swaps when it
changes; a file that fails its checks (SHA-256 against the record, shape, finite values) is refused
and the serving model stays, tried again every few seconds; meanwhile /readyz says the worker is
degraded (it serves another version than the promoted one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from app.reading.predictor import Predictor
from app.state.db import NotFoundError, UnavailableError
from app.state.store import Store
from app.state.versions import DEFAULT_VERSION, NothingToRollBackError, VersionFileError, valid_version_id
from model.serialize import ModelFileError, load_model

log = logging.getLogger("digitnet")
POLL_S = 0.5
RETRY_S = 2.0  # a promoted version that could not serve is tried again this often


class VersionError(Exception):
    """The version cannot serve: unknown id, or a file that fails its checks."""


class UnknownVersionError(VersionError):
    """There is no version by that id."""


class ModelHolder:
    """The Predictor this worker serves (``current``), and why it is not the promoted version when
    it cannot be (``problem``: None while it is). A version that could not serve is tried again
    every ``retry_s`` seconds: its file may be restored, or the database may answer again."""

    def __init__(self, store: Store, default_weights: Path, retry_s: float = RETRY_S) -> None:
        self.store = store
        self.default_weights = default_weights
        self.retry_s = retry_s
        self.problem: str | None = None
        self.refused: str | None = None  # the promoted version that could not serve, last we tried
        self.refused_at = 0.0
        wanted = store.versions.promoted()
        try:
            self.current = self.load(wanted)
        except VersionError as exc:  # the promoted file went bad while we were down: serve the default
            self.current = self.load(DEFAULT_VERSION)
            self._refuse(wanted, exc)

    def load(self, version_id: str) -> Predictor:
        """Read and check a version's file; VersionError if it cannot serve."""
        if version_id == DEFAULT_VERSION:
            return Predictor.from_file(self.default_weights, DEFAULT_VERSION)
        if not valid_version_id(version_id):
            raise VersionError(f"invalid version id {version_id!r}")
        try:
            path = self.store.versions.file(version_id)
        except NotFoundError as exc:
            raise UnknownVersionError(str(exc)) from exc
        except (VersionFileError, UnavailableError) as exc:
            raise VersionError(str(exc)) from exc
        try:
            return Predictor(load_model(path), version_id)
        except ModelFileError as exc:
            raise VersionError(f"version {version_id}: {exc}") from exc

    def promote(self, version_id: str, predictor: Predictor | None = None) -> str:
        """Check the version here first (or take it loaded), then record it as promoted and serve it;
        returns the previous."""
        predictor = predictor or self.load(version_id)
        previous = self.store.versions.promote(version_id)
        self.current = predictor
        return previous

    def roll_back(self) -> tuple[str, str]:
        """Check the version that served before the promoted one, then serve it again and take it
        off the history (Versions.roll_back); returns (now serving, replaced). NothingToRollBackError
        when no earlier version is left."""
        target = self.store.versions.previous()
        if target is None:
            raise NothingToRollBackError()
        predictor = self.load(target)
        replaced = self.store.versions.roll_back(expected=target)
        self.current = predictor
        return target, replaced

    def sync(self) -> None:
        """Serve what the store says is promoted, if it is not already served and can serve."""
        wanted = self.store.versions.promoted()
        if wanted == self.current.version:
            self.problem = self.refused = None
            return
        if wanted == self.refused and time.monotonic() - self.refused_at < self.retry_s:
            return
        try:
            self.current = self.load(wanted)
        except VersionError as exc:
            self._refuse(wanted, exc)
            return
        self.problem = self.refused = None
        log.info("now serving version %s", wanted)

    def _refuse(self, wanted: str, exc: VersionError) -> None:
        if wanted != self.refused:  # said once per version, not at every retry
            log.error("cannot serve the promoted version %s (%s); serving %s", wanted, exc,
                      self.current.version)
        self.refused, self.refused_at = wanted, time.monotonic()
        self.problem = f"serving {self.current.version}, not the promoted version {wanted}: {exc}"

    async def watch(self) -> None:
        """Follow promotions made by any worker, for as long as the app runs."""
        away = False
        while True:
            await asyncio.sleep(POLL_S)
            try:
                await asyncio.to_thread(self.sync)
            except UnavailableError as exc:  # said once an outage, not twice a second
                if not away:
                    log.warning("cannot check the promoted version, serving %s meanwhile: %s",
                                self.current.version, exc)
                away = True
                continue
            except Exception:  # a locked or vanished database must not stop serving
                log.exception("could not check the promoted version")
            if away:
                log.info("the database answers again")
            away = False
