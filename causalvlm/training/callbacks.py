"""Callbacks: a checkpoint after every epoch, training throughput.

Why not Lightning's own: ``ModelCheckpoint`` keeps the whole state dict (the frozen CLIP's hundreds of MB
each epoch; ours keeps the prompts, see ``PromptTuningModule.on_save_checkpoint``) and records no run
fingerprint. ``ThroughputMonitor`` logs rates over a sliding window of (by default) 100 batches to the
logger, and only once that window is full — a few-shot epoch has a handful of batches — and keeps no
whole-fit figure a program can read; :class:`TrainThroughput` gives the compute report one number per fit
(images over the time spent inside training steps). Lightning's checkpoint save writes to a temp file in the
system temp folder and then moves it, which is a copy, not an atomic rename, when that folder is on another
file system, and does not fsync; hence :func:`~causalvlm.runs.checkpoints.save_checkpoint_atomically`
(temp file beside the target, fsync, ``os.replace``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from causalvlm.runs.checkpoints import RUN_KEY, save_checkpoint_atomically
from causalvlm.runs.run_identity import fingerprint


class EpochCheckpoint(pl.Callback):
    """Writes ``path`` (``last.ckpt``) after every training epoch, atomically replacing the previous one.

    The save happens in ``on_train_epoch_end``, after that epoch's validation, so the per-epoch history row
    is in it; Lightning resumes such a checkpoint at the next epoch exactly (tested against an uninterrupted
    run). One file per run, overwritten in place: a rerun never piles up ``last-v1.ckpt`` files. Each
    checkpoint records ``run_config`` (with its fingerprint) and the finished epochs under ``RUN_KEY``.
    """

    def __init__(self, path: str | Path, run_config: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.run_config = dict(run_config) if run_config is not None else None

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if trainer.is_global_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._epochs_done = trainer.current_epoch + 1
        save_checkpoint_atomically(trainer, self.path)

    def on_save_checkpoint(
        self, trainer: pl.Trainer, module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        run: dict[str, Any] = {"epochs_done": getattr(self, "_epochs_done", trainer.current_epoch)}
        if self.run_config is not None:
            run.update(config=self.run_config, fingerprint=fingerprint(self.run_config))
        checkpoint[RUN_KEY] = run


class TrainThroughput(pl.Callback):
    """Measures training images/s over the whole fit (optimiser steps included, validation excluded)."""

    def __init__(self) -> None:
        self.images = 0
        self.seconds = 0.0
        self._start: float | None = None

    def on_train_batch_start(
        self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, idx: int
    ) -> None:
        self._start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, idx: int
    ) -> None:
        if self._start is not None:
            self.seconds += time.perf_counter() - self._start
            self.images += int(batch["labels"].shape[0])
            self._start = None

    @property
    def images_per_second(self) -> float | None:
        return self.images / self.seconds if self.seconds > 0 else None
