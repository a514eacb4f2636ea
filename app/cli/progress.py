"""A one-line progress bar for training on a terminal: epoch, batch, loss, accuracy, speed, time left."""

from __future__ import annotations

import time
from typing import TextIO

from model.train import BatchEnd, EpochEnd

WIDTH = 24
REFRESH_S = 0.1


class ProgressBar:
    """Redraws one line (with carriage returns) at most every 0.1 s; prints a full line per epoch."""

    def __init__(self, epochs: int, stream: TextIO) -> None:
        self.epochs, self.stream = epochs, stream
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.last_accuracy: float | None = None
        self.steps_done = 0

    def batch(self, event: BatchEnd) -> None:
        self.steps_done += 1
        now = time.perf_counter()
        if now - self.last_draw < REFRESH_S and event.batch != event.n_batches:
            return
        self.last_draw = now
        elapsed = now - self.start
        total_steps = self.epochs * event.n_batches
        done = self.steps_done / total_steps
        filled = int(WIDTH * event.batch / event.n_batches)
        left = elapsed / done * (1 - done) if done else 0.0
        acc = f" test acc {self.last_accuracy:.4f}" if self.last_accuracy is not None else ""
        line = (f"\repoch {event.epoch}/{self.epochs} [{'#' * filled}{'.' * (WIDTH - filled)}] "
                f"loss {event.loss:.4f}{acc} {self.steps_done / elapsed:.0f} batch/s "
                f"{_clock(elapsed)} elapsed, {_clock(left)} left ")
        self.stream.write(line)
        self.stream.flush()

    def epoch(self, event: EpochEnd) -> None:
        self.last_accuracy = event.test_accuracy
        val = f" val acc {event.validation_accuracy:.4f}" if event.validation_accuracy is not None else ""
        self.stream.write(
            f"\repoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f} "
            f"acc {event.train_accuracy:.4f}{val} | test loss {event.test_loss:.4f} "
            f"acc {event.test_accuracy:.4f} | {event.seconds:.1f} s, {event.samples_per_s:,.0f} digits/s"
            + " " * 12 + "\n"
        )
        self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"
