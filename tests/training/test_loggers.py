"""train.logger / --logger: CSV by default; TensorBoard and W&B when installed, refused clearly when not."""

from __future__ import annotations

import importlib.util

import pytest
from pytorch_lightning.loggers import CSVLogger

from causalvlm.config_model import ConfigError
from causalvlm.experiments.layers import build_experiment
from causalvlm.training import loggers
from causalvlm.training.loggers import LOGGERS, build_logger, check_logger
from causalvlm.training.settings import TrainConfig


def test_csv_is_the_default_and_needs_nothing(tmp_path):
    assert TrainConfig().logger == "csv"
    logger = build_logger("csv", str(tmp_path), "run")
    assert isinstance(logger, CSVLogger) and logger.name == "run"


@pytest.mark.parametrize("name, package", [("tensorboard", "tensorboard"), ("wandb", "wandb")])
def test_a_logger_whose_package_is_missing_is_refused_naming_both(name, package, monkeypatch):
    monkeypatch.setattr(loggers.importlib.util, "find_spec", lambda module: None)
    with pytest.raises(ConfigError, match=rf"train.logger: '{name}' needs the {package} package"):
        build_experiment(None, {"train": {"logger": name}})


def test_an_unknown_logger_is_refused():
    with pytest.raises(ConfigError, match="must be one of 'csv', 'tensorboard', 'wandb'; got 'mlflow'"):
        check_logger("mlflow")


@pytest.mark.parametrize("name", [n for n in LOGGERS if n != "csv"])
def test_an_installed_logger_is_built(name, tmp_path):
    if not any(importlib.util.find_spec(p) for p in loggers.LOGGER_PACKAGES[name]):
        pytest.skip(f"{name} is not installed here (refusal tested above)")
    assert build_logger(name, str(tmp_path), "run") is not None
