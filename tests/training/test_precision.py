"""What a run records is what it ran: the precision Lightning uses here, and no setting that nothing reads."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from causalvlm.config_model import ConfigError
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.runs.checkpoints import DurableCheckpointIO
from causalvlm.training.settings import PRECISIONS, TrainConfig
from causalvlm.training.trainer import build_trainer, resolve_devices, resolve_precision


def _lightning_precision(precision: str, accelerator: str) -> str:
    """The precision Lightning's own Trainer settles on for what was asked (it may replace it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = pl.Trainer(
            accelerator=accelerator, precision=precision, logger=False, enable_progress_bar=False,
            enable_model_summary=False, enable_checkpointing=False,
        )  # fmt: skip
    return trainer.precision


@pytest.mark.parametrize("precision", [p for p in PRECISIONS if p != "auto"])
@pytest.mark.parametrize("accelerator", ["cpu", "auto"])
def test_the_recorded_precision_is_the_one_lightning_runs(precision, accelerator):
    if accelerator == "auto" and torch.cuda.is_available():
        pytest.skip("'auto' lands on CPU only on a machine without CUDA")
    config = TrainConfig(precision=precision, accelerator=accelerator)
    assert resolve_precision(config) == _lightning_precision(precision, "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert build_trainer(config).precision == resolve_precision(config)


@pytest.mark.parametrize("devices", ["auto", 1, 2])
@pytest.mark.parametrize("accelerator", ["cpu", "auto"])
def test_the_recorded_device_count_is_the_one_lightning_uses(devices, accelerator):
    if accelerator == "auto" and torch.cuda.is_available():
        pytest.skip("'auto' lands on CPU only on a machine without CUDA")
    config = TrainConfig(devices=devices, accelerator=accelerator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert build_trainer(config).num_devices == resolve_devices(config)


def test_fp16_mixed_on_cpu_is_recorded_as_the_bf16_it_runs():
    """Lightning replaces 16-mixed by bf16-mixed on CPU; the run once recorded '16-mixed' all the same."""
    assert resolve_precision(TrainConfig(precision="16-mixed", accelerator="cpu")) == "bf16-mixed"


def test_float64_is_refused_up_front_with_the_reason():
    with pytest.raises(ConfigError, match=r"precision: '64-true' is not supported: the frozen CLIP"):
        TrainConfig(precision="64-true")


@pytest.mark.parametrize("name", ["checkpoint_dir", "log_dir"])
def test_an_experiment_refuses_run_folders_it_would_not_read(name, tmp_path):
    """An experiment puts each run's checkpoints and logs under out/runs/...; a setting for them was
    accepted and ignored."""
    with pytest.raises(ConfigError, match=rf"train.{name}: is set by the experiment for each run"):
        ExperimentConfig(train={name: str(tmp_path / "elsewhere")})


def test_a_single_fit_still_reads_its_folders(tmp_path):
    config = TrainConfig(checkpoint_dir=str(tmp_path / "ckpt"), log_dir=str(tmp_path / "logs"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = build_trainer(config)
    assert trainer.logger is not None and str(tmp_path / "logs") in trainer.logger.root_dir
    saver = trainer.checkpoint_callback  # Lightning's ModelCheckpoint, set to replace one last.ckpt
    assert saver is not None and Path(saver.dirpath) == (tmp_path / "ckpt").resolve()
    assert isinstance(trainer.strategy.checkpoint_io, DurableCheckpointIO)
