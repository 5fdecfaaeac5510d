"""The fit's callbacks: Lightning's own checkpoint and throughput monitor, and the record of the run.

* :func:`epoch_checkpoint` — Lightning's ``ModelCheckpoint``, set to replace one ``last.ckpt`` at the end of
  every training epoch (after that epoch's validation, so its history row is in it). The checkpoint keeps the
  prompts only: ``PromptTuningModule.on_save_checkpoint`` drops the frozen CLIP. The file is written by
  :class:`~causalvlm.runs.checkpoints.DurableCheckpointIO`, the Trainer's checkpoint plugin (why: its
  docstring).
* :class:`RunRecord` — puts the run's configuration, its fingerprint and the finished epochs into every
  checkpoint, under ``RUN_KEY``, for the resume check (:func:`~causalvlm.runs.checkpoints.check_resume`).
* :func:`throughput_monitor` — Lightning's ``ThroughputMonitor``; :func:`fit_images_per_second` reads the
  whole-fit rate from what it logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint, ThroughputMonitor

from causalvlm.runs.checkpoints import CHECKPOINT_NAME, RUN_KEY
from causalvlm.runs.run_identity import fingerprint

# What ThroughputMonitor logs for the training stage: samples seen and seconds spent since the fit started
# (validation time taken out), both cumulative. Throughput's rolling rates (train/samples_per_sec) need a
# full window of 100 batches, more than a few-shot fit often has; the cumulative pair gives the whole fit.
TRAIN_SAMPLES, TRAIN_SECONDS = "train/samples", "train/time"


def epoch_checkpoint(folder: str | Path) -> ModelCheckpoint:
    """``<folder>/last.ckpt``, replaced after every training epoch; one file per run, never ``last-v1``."""
    return ModelCheckpoint(
        dirpath=folder,
        filename=Path(CHECKPOINT_NAME).stem,
        save_top_k=1,  # the one file; with no monitor, the newest epoch's
        save_on_train_epoch_end=True,  # after the epoch's validation, so the history row is in it
        enable_version_counter=False,  # a rerun replaces it instead of adding last-v1.ckpt
        auto_insert_metric_name=False,
    )


class RunRecord(pl.Callback):
    """Records, under ``RUN_KEY`` in each checkpoint, ``run_config`` (with its fingerprint) and the epochs
    finished; a checkpoint saved at an epoch's end counts that epoch."""

    def __init__(self, run_config: Mapping[str, Any] | None = None) -> None:
        self.run_config = dict(run_config) if run_config is not None else None

    def on_save_checkpoint(
        self, trainer: pl.Trainer, module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        # Epochs whose training and validation are done: the one this epoch-end save closes counts. (Typed as
        # the base tracker; at run time the fit loop's epoch tracker counts processed epochs.)
        epochs = cast(Any, trainer.fit_loop.epoch_progress.current).processed
        run: dict[str, Any] = {"epochs_done": int(epochs)}
        if self.run_config is not None:
            run.update(config=self.run_config, fingerprint=fingerprint(self.run_config))
        checkpoint[RUN_KEY] = run


def batch_size(batch: Mapping[str, Any]) -> int:
    """Images in a training batch (a function, not a lambda: DDP spawn pickles the callbacks)."""
    return int(batch["labels"].shape[0])


def throughput_monitor() -> ThroughputMonitor:
    return ThroughputMonitor(batch_size_fn=batch_size)


def fit_images_per_second(trainer: pl.Trainer) -> float | None:
    """Training images/s of the fit, from ThroughputMonitor's last logged counts (data loading and the
    optimiser included, validation excluded; per device under DDP).

    ThroughputMonitor logs every ``log_every_n_steps`` steps through the Trainer's logger, so a fit without
    a logger, or with fewer steps than that, has no figure (None).
    """
    logged = trainer.logged_metrics
    if TRAIN_SAMPLES not in logged or TRAIN_SECONDS not in logged:
        return None
    seconds = float(logged[TRAIN_SECONDS])
    return float(logged[TRAIN_SAMPLES]) / seconds if seconds > 0 else None


__all__ = [
    "RunRecord",
    "batch_size",
    "epoch_checkpoint",
    "fit_images_per_second",
    "throughput_monitor",
]
