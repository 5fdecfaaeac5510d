"""Build the Lightning Trainer for prompt tuning and run ``fit`` (with resume from a checkpoint).

Checkpoints: ``<checkpoint_dir>/last.ckpt``, replaced after every epoch by Lightning's ``ModelCheckpoint``
(:func:`~causalvlm.training.callbacks.epoch_checkpoint`) through a durable writer
(:class:`~causalvlm.runs.checkpoints.DurableCheckpointIO`); ``fit(..., ckpt_path=...)`` resumes from one
(model, optimiser, scheduler, epoch and the per-epoch history all come back) after checking that it is
readable, has not trained more epochs than ``max_epochs`` and, given ``run_config``, was trained with the same
configuration. Logs: ``config.logger`` (CSV by default; training/loggers.py) under ``log_dir``, with
Lightning's ``ThroughputMonitor`` counts (``train/samples``, ``train/time``). On CUDA the
default precision is bf16 autocast; on CPU fp32. ``devices > 1`` trains with DDP.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from causalvlm.classifier import FrontDoorClassifier
from causalvlm.runs.checkpoints import DurableCheckpointIO, check_resume, read_checkpoint
from causalvlm.training.callbacks import (
    RunRecord,
    epoch_checkpoint,
    fit_images_per_second,
    throughput_monitor,
)
from causalvlm.training.datamodule import PromptDataModule
from causalvlm.training.loggers import build_logger
from causalvlm.training.module import PromptTuningModule
from causalvlm.training.settings import TrainConfig

EXPECTED_WARNINGS = (
    r".*module\(s\) in eval mode at the start of training.*",
    r".*number of training batches .* is smaller than the logging interval.*",
    r".*isinstance\(treespec, LeafSpec\).*",
    # ThroughputMonitor computes FLOP/s only when told the FLOPs of a batch; the compute report measures them
    r".*you need to define a `flops_per_batch` attribute.*",
    # a resumed run's checkpoint folder holds the last.ckpt it resumes from, which ModelCheckpoint replaces
    r".*Checkpoint directory .* exists and is not empty.*",
    # a run folder moved or copied before --resume: ModelCheckpoint's remembered paths are of no use here
    r".*The dirpath has changed from .*",
)


def global_rank() -> int:
    """This process's global rank (0 without DDP); Lightning sets it on ``rank_zero_only`` at start-up."""
    return int(getattr(rank_zero_only, "rank", 0))


def resolve_precision(config: TrainConfig) -> str:
    """The precision the Trainer will run with, which is what a run records.

    "auto" → bf16 autocast when training on CUDA (the paper's mixed precision), fp32 otherwise. On CPU
    Lightning replaces "16-mixed" (fp16 AMP needs CUDA) with "bf16-mixed"; so does this function, so a run
    records what it ran, not what was asked (tests/training/test_precision.py compares it with Lightning).
    """
    on_gpu = config.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    if config.precision == "auto":
        return "bf16-mixed" if on_gpu else "32-true"
    if config.precision == "16-mixed" and not on_gpu:
        return "bf16-mixed"
    return config.precision


def resolve_devices(config: TrainConfig) -> int:
    """The number of devices the Trainer will use, which is what a run records ("auto": every visible GPU
    when training on CUDA, else one CPU process, as Lightning decides)."""
    if config.devices != "auto":
        return int(config.devices)
    on_gpu = config.accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return torch.cuda.device_count() if on_gpu else 1


def build_trainer(
    config: TrainConfig,
    callbacks: Sequence[pl.Callback] = (),
    run_name: str = "run",
    has_val: bool = True,
    run_config: Mapping[str, Any] | None = None,
) -> pl.Trainer:
    """A Trainer configured from ``config``; the datamodule's own sampler shards data across DDP ranks.

    With ``config.checkpoint_dir`` set, ``last.ckpt`` there is replaced after every epoch and records
    ``run_config``. Lightning's ``ThroughputMonitor`` logs the training throughput.
    """
    all_callbacks = [*callbacks, throughput_monitor(), RunRecord(run_config)]
    if config.checkpoint_dir:
        all_callbacks.append(epoch_checkpoint(config.checkpoint_dir))
    logger = build_logger(config.logger, config.log_dir, run_name) if config.log_dir else False
    validate = has_val and config.validate_every_epoch
    return pl.Trainer(
        max_epochs=config.max_epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        precision=cast(Any, resolve_precision(config)),  # one of PRECISIONS, checked by TrainConfig
        callbacks=all_callbacks,
        logger=logger,
        # without a checkpoint folder no checkpoint at all (Lightning's default would write one)
        enable_checkpointing=bool(config.checkpoint_dir),
        plugins=[DurableCheckpointIO()],
        enable_progress_bar=config.enable_progress_bar,
        enable_model_summary=False,
        log_every_n_steps=config.log_every_n_steps,
        num_sanity_val_steps=0,
        limit_val_batches=None if validate else 0,
        # a run shorter than the validation interval still gets its curve's end point
        check_val_every_n_epoch=min(config.val_every_n_epochs, config.max_epochs),
        use_distributed_sampler=False,
        default_root_dir=config.log_dir or config.checkpoint_dir,
    )


def fit(
    classifier: FrontDoorClassifier,
    datamodule: PromptDataModule,
    config: TrainConfig,
    eval_classnames: Mapping[str, Sequence[str]] | None = None,
    ckpt_path: str | Path | None = None,
    callbacks: Sequence[pl.Callback] = (),
    run_name: str = "run",
    run_config: Mapping[str, Any] | None = None,
) -> tuple[PromptTuningModule, pl.Trainer]:
    """Tune the classifier's prompts; returns the module (with ``history``) and the trainer.

    ``eval_classnames`` gives the class names of each of the datamodule's evaluation sets, by name.
    ``run_config`` is the run's resolved configuration: stored in every checkpoint and, when resuming from
    ``ckpt_path``, compared with the one stored there (a difference raises ``ResumeError`` listing it).
    """
    eval_classnames = dict(eval_classnames or {})
    missing = [name for name in datamodule.val_names if name not in eval_classnames]
    if missing:
        raise ValueError(f"evaluation set(s) {missing} have no class names in eval_classnames")
    if ckpt_path is not None:  # a bad checkpoint fails here, named, before the Trainer exists
        check_resume(read_checkpoint(ckpt_path), ckpt_path, config.max_epochs, run_config)
    ordered = {name: eval_classnames[name] for name in datamodule.val_names}
    module = PromptTuningModule(classifier, config.optim, config.max_epochs, ordered)
    trainer = build_trainer(
        config, callbacks, run_name=run_name, has_val=bool(ordered), run_config=run_config
    )
    with warnings.catch_warnings():
        # Expected here: CLIP is frozen in eval mode on purpose, and few-shot epochs are short.
        for pattern in EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        trainer.fit(module, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
    module.train_images_per_s = fit_images_per_second(trainer)
    return module, trainer
