"""One run's directory, ``runs/<method>/<dataset>/seed<k>/``, and the decision: resume, or start from scratch.

    config.json              the run's resolved configuration and its fingerprint (written at the start),
                             plus the record that rebuilds its classifier (experiments/saved_run.py)
    checkpoints/last.ckpt    replaced after every epoch; records the same configuration
    logs/<name>/version_<n>/ the log of each fit, CSV by default (a resumed fit adds a version)

A directory belongs to one configuration. :meth:`RunDirectory.plan` is called for every run before any
training: an existing directory is refused unless ``resume`` (then its configuration must match, key by key,
and its checkpoint must be readable and not ahead of ``max_epochs``) or ``overwrite`` (then it is deleted
when the run starts).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causalvlm.evaluation.atomic import atomic_write_json, remove_stale_temp_files
from causalvlm.runs.checkpoints import (
    CHECKPOINT_NAME,
    RESTART_HINT,
    ResumeError,
    check_resume,
    read_checkpoint,
    refuse_other_settings,
)
from causalvlm.runs.run_identity import fingerprint

CONFIG_NAME = "config.json"
CLASSIFIER_KEY = "classifier"  # config.json's record that rebuilds the classifier (not fingerprinted)


class RunExistsError(ValueError):
    """A run directory from an earlier run, met without ``resume`` or ``overwrite``."""


@dataclass(frozen=True)
class RunDirectory:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint_dir / CHECKPOINT_NAME

    @property
    def log_dir(self) -> Path:
        return self.path / "logs"

    def exists(self) -> bool:
        return self.path.is_dir() and any(self.path.iterdir())

    def stored_config(self) -> dict[str, Any] | None:
        """The ``{"fingerprint", "config"}`` of config.json, None without one; a damaged file is named."""
        if not self.config_path.is_file():
            return None
        try:
            stored = json.loads(self.config_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(
                f"{self.config_path} is damaged and cannot be read ({error}); {RESTART_HINT}"
            ) from error
        if not isinstance(stored, dict) or not isinstance(stored.get("config"), dict):
            raise ValueError(f"{self.config_path} holds no run configuration; {RESTART_HINT}")
        return stored

    def plan(
        self, run_config: Mapping[str, Any], max_epochs: int, resume: bool, overwrite: bool
    ) -> Path | None:
        """The checkpoint to resume from, or None to train from the start; raises when neither is allowed."""
        if not self.exists() or overwrite:
            return None
        if not resume:
            raise RunExistsError(
                f"{self.path} holds an earlier run; add --resume to continue it (its settings must be the "
                f"same) or {RESTART_HINT}"
            )
        if self.checkpoint_path.is_file():  # first: a bad file or too many epochs give their own message
            check_resume(read_checkpoint(self.checkpoint_path), self.checkpoint_path, max_epochs, run_config)
        stored = self.stored_config()
        if stored is None:
            raise ResumeError(
                f"cannot resume {self.path}: it has no {CONFIG_NAME} (made by an older causalvlm?), so its "
                f"settings are unknown; {RESTART_HINT}"
            )
        refuse_other_settings(stored, run_config, f"cannot resume {self.path}: it was started", "then")
        return self.checkpoint_path if self.checkpoint_path.is_file() else None

    def start(
        self,
        run_config: Mapping[str, Any],
        resume_from: Path | None,
        classifier: Mapping[str, Any] | None = None,
    ) -> None:
        """Make the directory ready (main process only): a fresh run starts empty; config.json is written,
        with ``classifier`` (:func:`classifier_record`) when given."""
        if resume_from is None and self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files([self.path, self.checkpoint_dir])
        stored: dict[str, Any] = {"fingerprint": fingerprint(run_config), "config": dict(run_config)}
        if classifier is not None:
            stored[CLASSIFIER_KEY] = dict(classifier)
        atomic_write_json(self.config_path, stored)


def classifier_record(
    classnames: Sequence[str],
    template: str,
    backbone: str,
    pretrained: str | None,
    data_root: str,
    dataset_options: Mapping[str, Any],
    targets: Sequence[str],
    eval_batch_size: int,
) -> dict[str, Any]:
    """What rebuilding a run's classifier takes beyond its fingerprinted configuration: the training class
    names and template, the backbone's arguments (files as absolute paths), where its data was read and the
    evaluation batch size (see :func:`causalvlm.experiments.saved_run.open_run`)."""
    return {
        "classnames": list(classnames),
        "template": template,
        "backbone": _absolute_if_file(backbone),
        "pretrained": None if pretrained is None else _absolute_if_file(pretrained),
        "data_root": str(Path(data_root).expanduser().absolute()),
        "dataset_options": dict(dataset_options),
        "targets": list(targets),
        "eval_batch_size": int(eval_batch_size),
    }


def _absolute_if_file(value: str) -> str:
    path = Path(value).expanduser()
    return str(path.absolute()) if path.is_file() else value


__all__ = [
    "CHECKPOINT_NAME",
    "CLASSIFIER_KEY",
    "CONFIG_NAME",
    "RunDirectory",
    "RunExistsError",
    "classifier_record",
]
