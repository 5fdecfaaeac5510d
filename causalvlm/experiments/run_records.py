"""What an experiment records about each of its runs: the folder a (method, dataset, seed) run lives in, its
configuration (everything that changes its numbers, fingerprinted by :mod:`causalvlm.runs.run_identity` and
checked on resume) and the classifier record a finished run is rebuilt from (experiments/saved_run.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from causalvlm.data import DatasetSplits
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.method_specs import MethodSpec, train_config_for
from causalvlm.runs.run_dirs import classifier_record
from causalvlm.runs.run_identity import split_digest
from causalvlm.training.trainer import resolve_devices, resolve_precision


def slug(text: str) -> str:
    """``text`` as one safe path component."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")


def jsonable(value: Any) -> Any:
    """Plain JSON types (what a config.json and a checkpoint can hold); anything else as its str."""
    return json.loads(json.dumps(value, default=str))


def run_folder(cfg: ExperimentConfig, spec: MethodSpec, dataset: str, seed: int) -> Path | None:
    """``<runs_dir>/<method>/<dataset>/seed<N>``, or None when the experiment keeps no run folders."""
    if cfg.runs_dir is None:
        return None
    return Path(cfg.runs_dir) / slug(spec.label) / slug(dataset) / f"seed{seed}"


def run_record(
    cfg: ExperimentConfig,
    spec: MethodSpec,
    dataset: str,
    seed: int,
    train: DatasetSplits,
    evals: Mapping[str, DatasetSplits],
    root_of: Callable[[str], str],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything that changes this run's numbers, as plain JSON; ``root_of`` gives a dataset's root folder,
    ``context`` what the numbers depend on beyond the config (the backbone's identity, the world)."""
    tc = train_config_for(spec, cfg.train)
    options = {k: v for k, v in cfg.dataset_options.get(dataset, {}).items() if k != "root"}
    eval_roots = {
        name: root_of(name if name in [dataset, *cfg.resolved_targets()] else dataset) for name in evals
    }
    return {
        "protocol": cfg.protocol,
        "method": jsonable(spec.identity()),
        "dataset": dataset,
        "dataset_options": jsonable(options),
        "shots": cfg.shots,
        "seed": seed,
        "template": train.template,
        "scm": cfg.scm,
        "data": {
            "train": split_digest(train.train_x, root_of(dataset), with_sizes=True),
            **{f"eval_{name}": split_digest(s.test, eval_roots[name]) for name, s in evals.items()},
            # the per-epoch curve reads the validation splits
            **{f"val_{n}": split_digest(s.val, eval_roots[n]) for n, s in evals.items() if s.val},
        },
        "train": {
            "max_epochs": tc.max_epochs,
            "batch_size": tc.batch_size,
            "devices": resolve_devices(tc),
            "precision": resolve_precision(tc),
            "validate_every_epoch": tc.validate_every_epoch,
            "val_every_n_epochs": tc.val_every_n_epochs,
            "view_bank": tc.view_bank,
            "optim": tc.optim.settings(),
        },
        **context,
    }


def classifier_record_of(
    cfg: ExperimentConfig, dataset: str, train: DatasetSplits, root: str
) -> dict[str, Any]:
    """What rebuilding a run's classifier from its folder takes; a dataset's own ``root`` option is recorded
    as the run's data root, not among its options."""
    record = classifier_record(
        train.classnames,
        train.template,
        cfg.backbone,
        cfg.pretrained,
        root,
        {k: v for k, v in cfg.dataset_options.get(dataset, {}).items() if k != "root"},
        cfg.resolved_targets(),
        cfg.train.eval_batch_size,
    )
    return jsonable(record)


__all__ = ["classifier_record_of", "jsonable", "run_folder", "run_record", "slug"]
