"""/explain: an answer as /predict gives it, and why the network gave it (app/reading/explain.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.web.schemas.predict import PredictResponse


class LayerActivations(BaseModel):
    size: int = Field(description="how many units the hidden layer has")
    activations: list[float] = Field(description="each unit's activation a = f(z) for this input, "
                                                 "rounded to 4 decimals")


class SaliencyMap(BaseModel):
    digit: int = Field(description="the digit explained: the one read, or the one asked for with ?class")
    gradient: list[float] = Field(description=(
        "784 numbers, row by row: d log p_digit / dx for each of the network's inputs x (for 'pixels', "
        "the numbers as sent; for an image, the 28x28 input in 'input'). Positive: more ink on that "
        "pixel would make the digit more likely; negative: less likely"))
    image: str = Field(description="the gradient as a 28x28 PNG data URL: blue where it is positive, red "
                                   "where negative, white at 0, scaled by its largest magnitude")


class UnitContribution(BaseModel):
    index: int = Field(description="the unit's place in the first hidden layer, from 0")
    activation: float = Field(description="its activation a_j for this input, rounded to 4 decimals")
    contribution: float = Field(description=(
        "a_j * d log p_digit / d a_j: to first order, how much log p_digit would fall if this unit "
        "fell silent (a_j = 0); the units are listed largest first"))
    weights: str = Field(description="its incoming weights W[:, j] as a 28x28 PNG data URL: blue where ink "
                                     "excites the unit, red where it inhibits it, scaled by the largest")


class FeatureMapPicture(BaseModel):
    channel: int = Field(description="the channel of the first convolution, from 0")
    peak: float = Field(description="the largest magnitude of its activations for this input, rounded "
                                    "to 4 decimals: the picture is scaled by it")
    image: str = Field(description="its activations a[:, :, channel] as a PNG data URL as large as the "
                                   "layer's output (28x28 with 'same' padding): blue where the kernel "
                                   "finds what it looks for, white where it finds nothing")


class ExplainResponse(PredictResponse):
    """An answer as /predict gives it, and why; the explanation is null for a blank drawing."""

    model_config = ConfigDict(json_schema_extra=None)

    logits: list[float] | None = Field(description="the ten output pre-activations z (before softmax)")
    layers: list[LayerActivations] | None = Field(description="every hidden dense layer, first to last "
                                                              "(a convolution's are in feature_maps)")
    saliency: SaliencyMap | None = Field(description="which input pixels push towards the digit, which away")
    units: list[UnitContribution] | None = Field(
        description="the first hidden layer's units that contribute most to the digit (none without one, "
                    "nor for a convolutional network, whose first layer reads patches, not the 784 pixels)")
    feature_maps: list[FeatureMapPicture] | None = Field(
        description="a convolutional network's first convolution, one picture per channel (an empty "
                    "list for a dense network)")
