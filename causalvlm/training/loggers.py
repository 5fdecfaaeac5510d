"""Where a fit logs its metrics: ``train.logger`` (``--logger``) = csv | tensorboard | wandb.

``csv`` (the default) is Lightning's CSVLogger and needs nothing beyond Lightning. ``tensorboard`` is
Lightning's TensorBoardLogger and needs the ``tensorboard`` (or ``tensorboardX``) package; ``wandb`` is
Lightning's WandbLogger and needs ``wandb`` (its account, project and offline mode come from wandb's own
settings and ``WANDB_*`` variables). Neither is a dependency of causalvlm: a logger whose package is missing
is refused when the configuration is checked, naming the option and the package, before any work.
Every logger writes under the run's ``logs/`` folder, one name per (method, dataset, seed).
"""

from __future__ import annotations

import importlib.util

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

from causalvlm.config_model import ConfigError

# logger name → the packages that provide it (any one of them will do)
LOGGER_PACKAGES: dict[str, tuple[str, ...]] = {
    "csv": (),
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
}
LOGGERS = tuple(LOGGER_PACKAGES)


def check_logger(name: str, key: str = "logger") -> str:
    """``name`` when it is a logger whose package is installed; otherwise a ConfigError naming ``key``."""
    if name not in LOGGER_PACKAGES:
        raise ConfigError(key, f"must be one of {', '.join(map(repr, LOGGERS))}; got {name!r}")
    packages = LOGGER_PACKAGES[name]
    if packages and not any(importlib.util.find_spec(package) for package in packages):
        raise ConfigError(
            key,
            f"{name!r} needs the {packages[0]} package, which is not installed (pip install {packages[0]}); "
            "or use the default 'csv'",
        )
    return name


def build_logger(name: str, log_dir: str, run_name: str) -> Logger:
    """The Lightning logger ``name`` writing under ``log_dir``/``run_name``."""
    check_logger(name)
    if name == "tensorboard":
        return TensorBoardLogger(log_dir, name=run_name)
    if name == "wandb":
        return WandbLogger(name=run_name, save_dir=log_dir)
    return CSVLogger(log_dir, name=run_name)


__all__ = ["LOGGERS", "LOGGER_PACKAGES", "build_logger", "check_logger"]
