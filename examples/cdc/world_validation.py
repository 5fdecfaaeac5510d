"""Validation data of the world, for choosing settings: never the test split.

The studies in this folder (``choose_world.py``, ``choose_templates.py``, ``fusion_views.py``) choose the
default run's settings. They write a ShapeWorld task whose validation split is large (50 images per class
instead of the 4 a few-shot run keeps) and read that split as it is on disk, so every number they print
comes from validation images; the task's test split is one image per class and never read.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from causalvlm.cli import CheckedParser, seed, text
from causalvlm.data import DATASETS, DatasetSplits
from causalvlm.data.splits import read_split_json, subsample_classes
from causalvlm.evaluation.headroom import linear_probe_accuracy, zero_shot_accuracy
from causalvlm.experiments.experiment import validate_experiment
from causalvlm.experiments.layers import build_experiment
from causalvlm.experiments.protocols import ProtocolRunner, load_backbone
from causalvlm.worlds import make_task
from causalvlm.worlds.task import DATASET_DIRNAME, IMAGE_DIRNAME, SPLIT_FILE
from causalvlm.worlds.vocabularies import vocabulary

VAL_PER_CLASS = 50


# ---------------------------------------------------------------------------------------------- options
def study_parser(description: str, root: str) -> CheckedParser:
    """The checked parser of a study: each option once, values typed and in range, ``--root`` and
    ``--seeds`` as every study takes them."""
    parser = CheckedParser(description=description)
    parser.add_argument("--root", type=text("a folder"), default=root, help="folder of the validation worlds")
    parser.add_argument("--seeds", nargs="+", type=seed, default=[1, 2, 3], help="integers in [0, 2^32)")
    return parser


def quiet() -> None:
    for name in ("pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)


def default_world() -> dict[str, Any]:
    """The default run's world settings (``world:`` of causalvlm/configs/world.yaml, less the pool sizes); the
    drawing and noise not named there are the world's own defaults (``worlds.TASK_OPTIONS``)."""
    world = build_experiment(None, {}).world
    return {k: v for k, v in world.items() if k not in ("n_test_per_class", "n_val_per_class")}


def validation_world(root: str | os.PathLike, **world: Any) -> None:
    """Write (or reuse) a task under ``root`` with ``VAL_PER_CLASS`` validation images per class: the
    default run's world (:func:`default_world`) with ``world`` laid over it."""
    Path(root).mkdir(parents=True, exist_ok=True)
    options = {**default_world(), "n_test_per_class": 1, "n_val_per_class": VAL_PER_CLASS, **world}
    make_task(root, shots=16, seed=1, **options)


def validation_splits(
    root: str | os.PathLike, seed: int, dataset: str = "shapeworld"
) -> dict[str, DatasetSplits]:
    """Base and new splits of the world dataset at ``root`` whose ``test`` is the whole validation split.

    The few-shot training set is the seed's draw, as in the default run; evaluating on ``test`` then means
    evaluating on validation images.
    """
    dirname, split_file = (
        (DATASET_DIRNAME, SPLIT_FILE)
        if dataset == "shapeworld"
        else (dataset, vocabulary(dataset).split_file)
    )
    folder = Path(root) / dirname
    _, val, _ = read_split_json(str(folder / split_file), str(folder / IMAGE_DIRNAME))
    out = {}
    for subsample in ("base", "new"):
        splits = DATASETS.build(dataset, root=str(root), num_shots=16, seed=seed)
        whole = replace(splits, val=val, test=val)
        out[subsample] = subsample_classes(whole, subsample)
    return out


def headroom_on_validation(
    runner: ProtocolRunner, root: Path, seeds: list[int], dataset: str = "shapeworld"
) -> dict[str, tuple[float, float]]:
    """Per half: (zero-shot, mean 16-shot probe) on the validation images of ``dataset`` at ``root``.

    Each seed's probe is fit on that seed's own 16-shot draw, its L2 weight chosen on the draw's few
    validation images (evaluation/headroom.py); zero-shot uses the dataset's template.
    """
    out = {}
    for half in ("base", "new"):
        probes, zero = [], None
        for draw_seed in seeds:
            # the evaluation split's test is the validation images
            evaluation = validation_splits(root, draw_seed, dataset)[half]
            draw = DATASETS.build(dataset, root=str(root), num_shots=16, seed=draw_seed, subsample=half)
            test = runner.features.get(evaluation.test)
            val = runner.features.get(draw.val)
            probes.append(
                linear_probe_accuracy(runner.features.get(draw.train_x), test, draw.num_classes, val)[0]
            )
            if zero is None:
                zero = zero_shot_accuracy(runner.backbone, evaluation, *test)
        out[half] = (zero, float(np.mean(probes)))
    return out


def runner_for(settings: dict[str, Any]) -> tuple[ProtocolRunner, list]:
    """A protocol runner of the default experiment with ``settings`` applied; it keeps no run folders."""
    config = build_experiment(None, {"out": tempfile.mkdtemp(prefix="study-"), **settings})
    config, specs = validate_experiment(config)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    runner = ProtocolRunner(config, load_backbone(config.backbone, config.pretrained), log=lambda m: None)
    runner._run_dir = lambda *args: None  # a study compares settings under one label: no checkpoints
    return runner, specs


def train_on_validation(runner: ProtocolRunner, spec, root: str | os.PathLike, seed: int):
    """Train ``spec`` on the seed's few-shot draw; evaluate on the base and new validation images."""
    splits = validation_splits(root, seed)
    results, _ = runner.train_and_evaluate(
        spec, splits["base"], {"base": splits["base"], "new": splits["new"]}, seed, "shapeworld"
    )
    return results
