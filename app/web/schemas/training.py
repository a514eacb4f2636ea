"""The admin's training: a run's hyperparameters, the run as the API shows it, a promotion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from app.runs.training import MAX_RUN_EPOCHS
from app.state.runs import RUN_STATUSES
from app.web.schemas.common import RequestBody
from model.names import (
    COSTS,
    DEFAULT_PRESET,
    HIDDEN_ACTIVATIONS,
    LAYER_FORMS,
    LAYER_PRESETS,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
)

# each from the registry that defines it (Literal[("a", "b")] is Literal["a", "b"];
# app/web/schemas/__init__.py)
if TYPE_CHECKING:
    PresetName: TypeAlias = str
    ActivationName: TypeAlias = str
    CostName: TypeAlias = str
    OptimizerName: TypeAlias = str
    ScheduleName: TypeAlias = str
    RunStatus: TypeAlias = str
else:
    PresetName = Literal[tuple(PRESETS)]
    ActivationName = Literal[tuple(HIDDEN_ACTIVATIONS)]
    CostName = Literal[tuple(COSTS)]
    OptimizerName = Literal[tuple(OPTIMIZERS)]
    ScheduleName = Literal[tuple(SCHEDULES)]
    RunStatus = Literal[tuple(RUN_STATUSES)]


class TrainRequest(RequestBody):
    """Hyperparameters of a run: a preset, and any of its values to change."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"preset": "seed", "epochs": 2, "limit": 5000},
        {"preset": "default", "hidden": [256, 128], "optimizer": "adam", "lr": 0.001, "augment": True},
        {"preset": "conv", "layers": "conv5x5x8, pool, dense64, dense10", "epochs": 3},
    ]})

    preset: PresetName = DEFAULT_PRESET
    hidden: list[Annotated[int, Field(ge=1, le=4096)]] | None = Field(None, min_length=1, max_length=4)
    layers: str | None = Field(None, max_length=200, description=(
        f"the whole network instead of 'hidden': a layer preset ({', '.join(LAYER_PRESETS)}) or a list "
        f"of {LAYER_FORMS}, e.g. 'conv5x5x16, pool, dense128, dense10' (the last: ten digits)"))
    activation: ActivationName | None = None
    cost: CostName | None = None
    optimizer: OptimizerName | None = None
    lr: float | None = Field(None, gt=0, le=10)
    schedule: ScheduleName | None = None
    epochs: int | None = Field(None, ge=1, le=MAX_RUN_EPOCHS)
    batch_size: int | None = Field(None, ge=1, le=4096)
    l2: float | None = Field(None, ge=0, lt=1)
    augment: bool | None = None
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    limit: int | None = Field(None, ge=0, le=60000, description="train on the first N digits (0: all)")
    feedback: bool | None = Field(None, description="also train on the accepted drawings people sent back "
                                                    "(all but the held-out share)")


class RunResponse(BaseModel):
    id: str
    status: RunStatus
    params: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    reason: str | None = None
    version_id: str | None = None
    test_accuracy: float | None = None
    cancel_requested: bool = False
    pid: int | None = Field(None, description="the training process, while it runs")
    host: str | None = Field(None, description="the host it trains on (several hosts share one database)")
    heartbeat_at: float | None = Field(None, description="the last sign of life from its process "
                                                         "(seconds since 1970, the database's clock)")


class PromoteResponse(BaseModel):
    promoted: str
    previous: str
