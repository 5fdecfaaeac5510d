"""Layered settings: world.yaml < a driver's defaults < YAML file < command line, merged key by key.

:func:`build_experiment` merges the layers as plain mappings first and builds the
:class:`~causalvlm.experiments.config.ExperimentConfig` once, so a value a later layer replaces is never
checked; an unknown key or a bad value is named with its source (the YAML file, or the command-line option).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from causalvlm.config_model import ConfigError, SettingsModel, shown
from causalvlm.experiments.config import WORLD_YAML, ExperimentConfig, world_yaml
from causalvlm.training.settings import OptimConfig, TrainConfig


def _sections() -> dict[str, type[SettingsModel]]:
    """The nested mappings merged key by key across layers (other values are replaced whole)."""
    return {"": ExperimentConfig, "train": TrainConfig, "train.optim": OptimConfig}


def merge_layers(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge ``(source, settings)`` layers, later over earlier → (settings, the source of each key path).

    Unknown keys are refused here, layer by layer, so the error names the file (or "command line") at fault.
    """
    sections = _sections()
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def merge(into: dict[str, Any], settings: Mapping[str, Any], section: str, source: str) -> None:
        known = list(sections[section].model_fields)
        unknown = sorted(str(k) for k in settings if k not in known)
        if unknown:
            raise ConfigError(section, f"unknown setting(s) {unknown}; valid: {', '.join(known)}", source)
        for key, value in settings.items():
            path = f"{section}.{key}" if section else key
            if path in sections and isinstance(value, Mapping):
                into[key] = dict(into[key]) if isinstance(into.get(key), Mapping) else {}
                merge(into[key], value, path, source)
            else:
                into[key] = value
                origin[path] = source

    for source, settings in layers:
        if not isinstance(settings, Mapping):
            raise ConfigError("", f"expected a mapping of settings, got {shown(settings)}", source)
        merge(merged, _plain(settings), "", source)
    return merged, origin


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Config objects (TrainConfig, OptimConfig) as mappings, so layers merge key by key."""
    return {k: (_plain(v.settings()) if isinstance(v, SettingsModel) else v) for k, v in settings.items()}


def config_from_layers(
    layers: Sequence[tuple[str, Mapping[str, Any]]], option_names: Mapping[str, str] | None = None
) -> ExperimentConfig:
    """Build the config from merged layers; an error names the key's source and, for options, the option."""
    # The world demo (causalvlm/configs/world.yaml) is the first layer: a layer that sets only some train
    # keys (``--epochs``) keeps the world recipe's other values.
    merged, origin = merge_layers([(WORLD_YAML, world_yaml()), *layers])
    try:
        return ExperimentConfig.from_settings(merged)
    except ConfigError as error:
        source = _source_of(error.key, origin)
        name = (option_names or {}).get(_base_key(error.key)) if source == COMMAND_LINE else None
        if name:
            return_key = name if _base_key(error.key) == error.key else f"{name} ({error.key})"
            raise error.named(return_key, source) from None
        raise error.named(source=source) from None


COMMAND_LINE = "command line"


def _base_key(key: str) -> str:
    """``seeds[0]`` → ``seeds``; dotted paths are kept (``train.max_epochs``)."""
    return key.split("[", 1)[0]


def _source_of(key: str, origin: Mapping[str, str]) -> str | None:
    path = _base_key(key)
    while path:
        if path in origin:
            return origin[path]
        path = path.rpartition(".")[0]
    return None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The settings mapping of a YAML file; a missing, non-file, binary or non-mapping file is named."""
    path = Path(path)
    key = f"config file {path}"
    if path.is_dir():
        raise ConfigError(key, "is a folder, not a YAML file")
    if not path.is_file():
        raise ConfigError(key, "does not exist" if not path.exists() else "is not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(key, "is not a text file (a YAML config is UTF-8 text)") from None
    except OSError as error:
        raise ConfigError(key, f"cannot be read ({error.strerror})") from None
    if "\x00" in text:
        raise ConfigError(key, "is not a text file (a YAML config is UTF-8 text)")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(key, f"is not valid YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(key, f"expected a mapping of settings at the top level, got {shown(loaded)}")
    return loaded


def build_experiment(
    config_path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    option_names: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """The world demo (world.yaml) < ``defaults`` (a driver's own) < YAML file < ``overrides`` (command line).

    ``option_names`` maps config keys to the command-line options that set them, for error messages.
    """
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if defaults:
        layers.append(("defaults", defaults))
    if config_path is not None:
        layers.append((str(config_path), load_yaml(config_path)))
    layers.append((COMMAND_LINE, dict(overrides or {})))
    return config_from_layers(layers, option_names)


def merge_settings(
    base: ExperimentConfig, settings: Mapping[str, Any], source: str = "options"
) -> ExperimentConfig:
    """A copy of ``base`` with ``settings`` applied (``train`` merged key by key)."""
    return config_from_layers([("", base.current()), (source, settings)])


__all__ = [
    "COMMAND_LINE",
    "build_experiment",
    "config_from_layers",
    "load_yaml",
    "merge_layers",
    "merge_settings",
]
