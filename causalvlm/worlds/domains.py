"""The world's cross-domain targets: the source shape task under four shifts that mirror the paper's Table 3.

The paper trains on ImageNet and tests on ImageNet-V2, -Sketch, -A and -R, the same 1000 classes seen
another way. Here the source is the ShapeWorld task an experiment names (its ``world:`` settings, the default
task when none), and each target is that task with one thing changed, so a silhouette source gets a
silhouette V2, and the target's class set and class names are the source's:

=====================  ===========================  ===================================================
dataset                mirrors                      what changes (the factor intervened on)
=====================  ===========================  ===================================================
``shapeworld-v2``      ImageNet-V2                  nothing but the draw: the same generator, another seed
``shapeworld-sketch``  ImageNet-Sketch              do(style = sketch): black contours on white, no colour
``shapeworld-r``       ImageNet-R                   do(style) ∈ the other styles, neither source nor sketch
``shapeworld-a``       ImageNet-A                   do(rotation) outside the training range: |θ| ∈ [90°, 180°]
=====================  ===========================  ===================================================

Sketch, R and A keep the source's seed, so their images have the source task's factors, image for image,
except the shifted one (:mod:`causalvlm.worlds.shifts`). A is made hard by a held-out nuisance, not by
filtering: no model's predictions choose its images, so no evaluated model's score is fixed by
construction.

Each target is written by :func:`~causalvlm.worlds.task.make_task` into its own keyed folder
(``<data_root>/worlds/<key>/shapeworld/``: the lock, the damage check and the reuse are make_task's) and read
through the same CoOp-layout machinery. :data:`WORLD_DATASETS` maps every dataset made from the experiment's
world settings (the source ``shapeworld`` and these targets) to how its task follows from the source's; a
world dataset with its own generator is one more :func:`register_world_dataset` call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from causalvlm.data.base import DATASETS, DatasetSplits
from causalvlm.worlds.shifts import SKETCH_STYLE
from causalvlm.worlds.task import build_shapeworld, make_task, world_root
from causalvlm.worlds.vocabularies import VOCABULARIES, make_world_dataset, vocabulary_root

V2_SEED_OFFSET = 1000  # V2's world seed: the source's + 1000 (the task seeds in use are 1..3)


@dataclass(frozen=True)
class WorldDataset:
    """A dataset made from the experiment's world settings: how its task follows from the source task.

    ``task(source)`` gives the keyword arguments of ``make`` (here :func:`make_task`) from the source
    task's; ``root(data_root, **task)`` the keyed folder it is written to (into ``dirname`` there);
    ``mirrors`` the paper's dataset it stands for and ``shifted`` the factor it intervenes on (docs/world.md,
    "Cross-domain targets").
    """

    name: str
    task: Callable[[Mapping[str, Any]], dict[str, Any]]
    mirrors: str = ""
    shifted: str = ""
    make: Callable[..., DatasetSplits] = make_task
    root: Callable[..., Path] = world_root
    dirname: str = "shapeworld"  # its folder under the root: <root>/<dirname>/task.json


WORLD_DATASETS: dict[str, WorldDataset] = {}


def register_world_dataset(entry: WorldDataset, builder: Callable[..., DatasetSplits] | None = None) -> None:
    """Add ``entry`` to :data:`WORLD_DATASETS` and, with ``builder``, register it in ``DATASETS``."""
    if entry.name in WORLD_DATASETS:
        raise ValueError(f"world dataset {entry.name!r} is already registered")
    WORLD_DATASETS[entry.name] = entry
    if builder is not None:
        DATASETS.register(entry.name)(builder)


def _task_reader(name: str) -> Callable[..., DatasetSplits]:
    """The ``DATASETS`` builder of a target: the task under ``root``, named ``name``."""

    def build(root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all") -> DatasetSplits:
        return replace(build_shapeworld(root, num_shots, seed, subsample), name=name)

    build.__name__ = f"build_{name.replace('-', '_')}"
    build.__doc__ = f"{name}: a cross-domain target of the world (causalvlm.worlds.domains)."
    return build


POOL_SETTINGS = ("shots", "seed", "n_train_per_class", "n_val_per_class", "n_test_per_class")


def shared_pool(source: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the source task a world dataset with its own generator shares: the seed and the split
    sizes. A cross-dataset target with its own vocabulary registers as
    ``WorldDataset(name, shared_pool, make=..., root=...)``."""
    return {k: source[k] for k in POOL_SETTINGS if source.get(k) is not None}


def _redrawn(source: Mapping[str, Any]) -> dict[str, Any]:
    return {**source, "seed": int(source.get("seed", 1)) + V2_SEED_OFFSET}


def _sketched(source: Mapping[str, Any]) -> dict[str, Any]:
    if source.get("style") == SKETCH_STYLE:
        raise ValueError(
            "target shapeworld-sketch: the source world is drawn as a sketch already (world.style: sketch); "
            "its Sketch target would be the source itself"
        )
    return {**source, "style": SKETCH_STYLE}


def _shifted(shift: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    return lambda source: {**source, "shift": shift}


CROSS_DOMAIN_WORLD = (
    WorldDataset("shapeworld-v2", _redrawn, "imagenetv2", "none (a re-drawn sample, seed + 1000)"),
    WorldDataset("shapeworld-sketch", _sketched, "imagenet_sketch", "style (sketch)"),
    WorldDataset("shapeworld-r", _shifted("renditions"), "imagenet_r", "style (the other styles)"),
    WorldDataset("shapeworld-a", _shifted("hard"), "imagenet_a", "rotation (|θ| in [90°, 180°])"),
)
WORLD_CROSS_DOMAIN_TARGETS = tuple(entry.name for entry in CROSS_DOMAIN_WORLD)


def _vocabulary_root(name: str) -> Callable[..., Path]:
    return lambda data_root, **task: vocabulary_root(data_root, name, **task)


def register_domains() -> None:
    """Register the source, its four cross-domain targets and the world datasets with their own vocabularies
    (vocabularies.py: their own generator and drawing, the source's seed and split sizes) in
    :data:`WORLD_DATASETS`; the targets also in ``DATASETS`` (once, from ``causalvlm/worlds/__init__.py``)."""
    register_world_dataset(WorldDataset("shapeworld", dict, "", "none (the source)"))
    for entry in CROSS_DOMAIN_WORLD:
        register_world_dataset(entry, _task_reader(entry.name))
    for name in VOCABULARIES:  # DATASETS has their builders already (vocabularies.dataset_builders)
        make = partial(make_world_dataset, name)
        root = _vocabulary_root(name)
        register_world_dataset(WorldDataset(name, shared_pool, "", "its own vocabulary", make, root, name))


def world_task(name: str, source: Mapping[str, Any]) -> dict[str, Any]:
    """The task arguments of world dataset ``name`` for the source task ``source`` (checked: ValueError)."""
    if name not in WORLD_DATASETS:
        raise ValueError(f"{name!r} is not a world dataset; world datasets: {', '.join(WORLD_DATASETS)}")
    entry = WORLD_DATASETS[name]
    task = entry.task(source)
    entry.root(".", **task)  # its key digests its checked parameters: a bad value raises, nothing is written
    return task


def root_from_world(name: str, data_root: str | os.PathLike, source: Mapping[str, Any]) -> Path:
    """The keyed folder under ``data_root`` that world dataset ``name`` of ``source`` is written to."""
    return WORLD_DATASETS[name].root(data_root, **world_task(name, source))


def make_from_world(name: str, root: str | os.PathLike, source: Mapping[str, Any]) -> DatasetSplits:
    """Write (or reuse) world dataset ``name`` under ``root`` for the source task ``source``; load it."""
    return WORLD_DATASETS[name].make(root, **world_task(name, source))


__all__ = [
    "CROSS_DOMAIN_WORLD",
    "V2_SEED_OFFSET",
    "WORLD_CROSS_DOMAIN_TARGETS",
    "WORLD_DATASETS",
    "WorldDataset",
    "make_from_world",
    "register_domains",
    "register_world_dataset",
    "shared_pool",
    "root_from_world",
    "world_task",
]
