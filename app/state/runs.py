"""A training run as the store keeps it: its statuses, and the record ``Store.get_run`` gives.

A run is starting or running (``ACTIVE``), then ends in exactly one of the ``FINAL`` statuses; the
database lets at most one run be active at a time (app.state.migrations).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ACTIVE = ("starting", "running")
FINAL = ("finished", "diverged", "cancelled", "failed", "interrupted")
RUN_STATUSES = ACTIVE + FINAL


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``. ``params`` is what the run was started with (its config, where its data
    is, the drawings it trains on); ``pid`` and ``host`` say where its process runs, ``heartbeat_at``
    when it last said it is alive (the database's clock)."""

    id: str
    status: str
    params: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    pid: int | None
    cancel_requested: bool
    reason: str | None
    version_id: str | None
    test_accuracy: float | None
    host: str | None
    heartbeat_at: float | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        return cls(id=row["id"], status=row["status"], params=json.loads(row["params"]),
                   created_at=row["created_at"], started_at=row["started_at"],
                   finished_at=row["finished_at"], pid=row["pid"],
                   cancel_requested=bool(row["cancel_requested"]), reason=row["reason"],
                   version_id=row["version_id"], test_accuracy=row["test_accuracy"], host=row["host"],
                   heartbeat_at=row["heartbeat_at"])
