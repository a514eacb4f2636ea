"""The accepted drawings as arrays, read without the store's caps, and their export file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.feedback.accepted import AcceptedDrawings, export_file, held_out, read_export
from app.feedback.reader import STATUSES, FeedbackReader
from app.feedback.store import FeedbackStore, Submission
from app.state.store import Store


def kept_drawings(tmp_path: Path, n: int = 30) -> tuple[Store, list[str]]:
    """``n`` drawings, labels 0..9 in turn, the first two thirds accepted, one of those rejected."""
    store = Store(tmp_path)
    feedback = FeedbackStore(store, max_count=100, max_bytes=1 << 20)
    ids = [feedback.add(Submission(i % 10, 1, "default", bytes([i]), bytes([i]) * 784,
                                   [[[i, i], [i + 1, i]]] if i % 3 else None, "c"))[0] for i in range(n)]
    for feedback_id in ids[: 2 * n // 3]:
        feedback.review(feedback_id, "accepted", None)
    feedback.review(ids[0], "rejected", None)
    return store, ids


def test_a_reader_needs_no_caps_and_asks_for_every_status_by_name(tmp_path: Path) -> None:
    store, ids = kept_drawings(tmp_path)
    reader = FeedbackReader(store)
    everything = reader.page(STATUSES, limit=100, offset=0)
    assert sorted(d.id for d in everything) == sorted(ids)
    assert [d.id for d in reader.page(("rejected",), limit=100, offset=0)] == [ids[0]]
    assert {d.status for d in reader.page(("pending", "rejected"), 100, 0)} == {"pending", "rejected"}
    with pytest.raises(ValueError, match="statuses"):
        reader.page(("maybe",), 100, 0)
    with pytest.raises(ValueError, match="statuses"):
        reader.page((), 100, 0)


def test_accepted_drawings_are_arrays_with_named_fields(tmp_path: Path) -> None:
    store, ids = kept_drawings(tmp_path)
    accepted = FeedbackReader(store).accepted()
    assert accepted.ids == sorted(ids[1:20]) and len(accepted) == 19
    assert accepted.digits.shape == (19, 784) and accepted.digits.dtype == np.uint8
    assert accepted.labels.dtype == np.uint8
    assert accepted.held_out.tolist() == [held_out(i) for i in accepted.ids]
    first = ids.index(accepted.ids[0])
    assert accepted.labels[0] == first % 10 and accepted.digits[0, 0] == first
    assert accepted.strokes[0] == ([[[first, first], [first + 1, first]]] if first % 3 else None)
    trained, scored = accepted.training_part(), accepted.held_out_part()
    assert sorted(trained.ids + scored.ids) == accepted.ids
    assert not trained.held_out.any() and scored.held_out.all()
    assert FeedbackReader(store).accepted(strokes=False).strokes == [None] * 19


def test_the_export_file_reads_back_as_it_was_written(tmp_path: Path) -> None:
    store, _ = kept_drawings(tmp_path)
    accepted = FeedbackReader(store).accepted()
    path = tmp_path / "feedback.npz"
    path.write_bytes(export_file(accepted))
    read = read_export(str(path))
    assert read.ids == accepted.ids and read.strokes == accepted.strokes
    assert np.array_equal(read.digits, accepted.digits) and np.array_equal(read.labels, accepted.labels)
    assert np.array_equal(read.held_out, accepted.held_out)
    with np.load(path) as f:  # the format people's scripts read: 28x28 digits, as MNIST
        assert f["digits"].shape == (19, 28, 28)
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a feedback export"):
        read_export(str(path))


def test_drawings_of_unequal_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="one of each a drawing"):
        AcceptedDrawings(["a", "b"], np.zeros((1, 784), np.uint8), np.zeros(2, np.uint8), [None, None],
                         np.zeros(2, bool))
