"""A version's report and two versions compared: per digit, the confusion matrix, the misread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

from pydantic import BaseModel, Field

from app.reports.eval_sets import SET_NAMES

if TYPE_CHECKING:
    SetName: TypeAlias = str
else:
    SetName = Literal[SET_NAMES]  # the registry of sets (app/reports/eval_sets.py)

Item = int | str
DIGIT28 = "the 28x28 the network read, 784 bytes (0 background, 255 ink) in base64; only for the first few"


class DigitScore(BaseModel):
    digit: int
    count: int = Field(description="examples of this digit in the set")
    accuracy: float | None = Field(description="the share of them read right; null: none in the set")


class Misread(BaseModel):
    item: Item = Field(description="the drawing's id (held-out drawings), else its index in the set")
    label: int = Field(description="the digit it is")
    read: int = Field(description="the digit the network read")
    sure: float = Field(description="the network's probability for what it read")
    digit28: str | None = Field(None, description=DIGIT28)


class SetReport(BaseModel):
    name: SetName
    count: int
    accuracy: float | None
    per_digit: list[DigitScore]
    confusion: list[list[int]] = Field(description="10x10 counts: row = true digit, column = digit read")
    misread: list[Misread] = Field(description="every misread example, the surest mistakes first")


class VersionReport(BaseModel):
    version: str
    sets: list[SetReport]


class DigitChange(BaseModel):
    digit: int
    count: int
    a: float | None = Field(description="version a's accuracy on this digit")
    b: float | None = Field(description="version b's accuracy on this digit")
    difference: float | None = Field(description="b - a")


class Changed(BaseModel):
    item: Item
    label: int
    read_a: int = Field(description="what version a read")
    read_b: int = Field(description="what version b read")
    digit28: str | None = Field(None, description=DIGIT28)


class SetComparison(BaseModel):
    name: SetName
    count: int
    accuracy_a: float | None
    accuracy_b: float | None
    per_digit: list[DigitChange]
    gained: list[Changed] = Field(description="what b reads right and a wrong")
    lost: list[Changed] = Field(description="what a reads right and b wrong")
    summary: str = Field(description="the comparison in one line")


class VersionComparison(BaseModel):
    a: str
    b: str
    sets: list[SetComparison] = Field(description="the sets both are judged on, as they are now")
    summary: str = Field(description="one line: on the held-out drawings if there are any, else MNIST's")
