"""Where an experiment's world datasets live and how they are made: the source task and every dataset made
from it (the cross-domain targets, :data:`causalvlm.worlds.WORLD_DATASETS`).

The experiment's ``world:`` settings (each not given takes the world's own default) describe the
source task (:func:`world_source`); each world dataset the experiment names, as a dataset or a target,
follows from it (:func:`causalvlm.worlds.domains.world_task`) and is written to the folder keyed by its own
parameters under its root (:func:`keyed_world`), so two experiments share a world's files exactly when they
share its parameters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import causalvlm.worlds as worlds
from causalvlm.data import DATASETS
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.worlds.task_files import read_task_json

SOURCE = "shapeworld"  # the world dataset the experiment's world settings describe


def world_source(config: ExperimentConfig) -> dict[str, Any]:
    """The source task's :func:`~causalvlm.worlds.make_task` arguments (``config.world_source()``)."""
    return config.world_source()


def world_names(config: ExperimentConfig) -> list[str]:
    """The world datasets the experiment trains or tests on, in the config's order."""
    return [name for name in [*config.datasets, *config.resolved_targets()] if name in worlds.WORLD_DATASETS]


def keyed_world(config: ExperimentConfig) -> ExperimentConfig:
    """The config with each world dataset read from (and written to) the folder keyed by its parameters under
    its root (``<data_root>/worlds/<key>``). Without ``make_world`` the source is read where it is
    (``<data_root>/shapeworld``) and every other world dataset from its keyed folder, where a run with
    ``make_world`` wrote it."""
    names = [n for n in world_names(config) if config.make_world or n != SOURCE]
    if not names:
        return config
    options = dict(config.dataset_options)
    source = world_source(config)
    for name in names:
        own = dict(options.get(name, {}))
        own["root"] = str(worlds.root_from_world(name, own.get("root", config.data_root), source))
        options[name] = own
    return config.replaced(dataset_options=options)


def world_root(protocol: ExperimentConfig, name: str = SOURCE) -> str:
    """The folder that holds (or will hold) world dataset ``name`` of this run (the source by default)."""
    return os.path.expanduser(str(protocol.dataset_options.get(name, {}).get("root", protocol.data_root)))


def prepare_world(config: ExperimentConfig, protocol: ExperimentConfig) -> dict[str, Any] | None:
    """Write every world dataset the experiment uses; return the source task's ``task.json`` (None: no
    source, or none recorded).

    With ``make_world`` each is (re)written unless one made with the same parameters is there, so a changed
    world option never meets a stale world; without it an existing task is read as it is.
    """
    source = world_source(config)
    for name in world_names(protocol):
        root = world_root(protocol, name)
        if config.make_world:
            Path(root).mkdir(parents=True, exist_ok=True)
            worlds.make_from_world(name, root, source)
        else:
            DATASETS.build(name, root=root, num_shots=protocol.shots, seed=1)
    return world_records(protocol).get(SOURCE)


def world_records(protocol: ExperimentConfig) -> dict[str, dict[str, Any]]:
    """Each world dataset's ``task.json`` (class names left out) by name, for those that have one."""
    records = {}
    for name in world_names(protocol):
        folder = Path(world_root(protocol, name)) / worlds.WORLD_DATASETS[name].dirname
        if (folder / "task.json").exists():
            records[name] = {k: v for k, v in read_task_json(folder).items() if k != "classnames"}
    return records


__all__ = [
    "SOURCE",
    "keyed_world",
    "prepare_world",
    "world_names",
    "world_records",
    "world_root",
    "world_source",
]
