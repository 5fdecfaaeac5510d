"""Downstream task of ShapeWorld: classify the shape, optionally with a spurious cue of strength ρ.

The task's images come from a harder world than the pre-training one (:data:`TASK_OPTIONS`: more pixel
noise), so zero-shot CLIP is mid-range on it and few-shot adaptation has something to do. The training pool
(``n_train_per_class`` images per class, more than ``shots``) and the validation images are drawn with the
``spurious_factor`` (object colour by default) agreeing with the class with strength ρ — the data
misalignment; the test images are drawn with ρ = 0, i.e. from the interventional distribution where that
factor is independent of the class. With ρ = 0 (the default, the paper's base-to-new protocol) training,
validation and test are drawn alike. Each seed's K-shot training set is drawn from the pool by
:mod:`causalvlm.data.fewshot`, as Dassl draws it from a dataset's training split.

:func:`make_task` materialises a task as a CoOp-layout dataset::

    <root>/shapeworld/
        images/{train,val,test}/<classname>/<index>.png
        split_zhou_ShapeWorld.json   {"train"|"val"|"test": [[relative path, label, classname], ...]}
        factors.json                 the generative factors of every image (keyed by relative path)
        task.json                    the parameters the task was made with, world options included
        split_fewshot/               the per-seed K-shot draws (written on first use)

and the dataset is registered as ``"shapeworld"`` in :data:`causalvlm.data.DATASETS`, read with the same
few-shot + base/new machinery as CoOp's datasets (base = the first ⌈C/2⌉ shapes by label).
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from causalvlm.cli import CheckedParser, integer, number, seed, text
from causalvlm.data.base import DatasetSplits, check_subsample, classnames_by_label
from causalvlm.data.checks import require_dir, require_file
from causalvlm.data.coop import assemble_splits
from causalvlm.data.splits import read_split_json
from causalvlm.templates import DEFAULT_TEMPLATE
from causalvlm.worlds.captions import DATASET_NAMES
from causalvlm.worlds.factors import (
    DRAWN_FACTORS,
    RENDER_STYLES,
    WORLD_OPTION_RANGES,
    Factors,
    WorldOptions,
    options_over,
    sample_factors,
)
from causalvlm.worlds.shapes import SHAPE_NAMES
from causalvlm.worlds.shifts import check_shift, shift_factors
from causalvlm.worlds.task_files import keyed_root, read_json_file, write_world

DATASET_DIRNAME = "shapeworld"
SPLIT_FILE = "split_zhou_ShapeWorld.json"
IMAGE_DIRNAME = "images"
TEMPLATE = DEFAULT_TEMPLATE  # the hand-crafted template t0 of the world: CLIP's generic prompt
# The downstream world: the objects drawn as gray silhouettes on light gray (pre-training: filled, in colour,
# on coloured textured backgrounds), everything else as in pre-training. Chosen on validation images only by
# the rule of examples/cdc/choose_task.py: of the tasks with zero-shot base accuracy in [45, 75], the one
# whose 16-shot linear probe gains most over zero-shot (docs/world.md).
TASK_OPTIONS = WorldOptions(style="silhouette")
# CDC's template starts on the world (VSD ctx_init, cycled over the M templates). The tiny CLIP ignores the
# openers ("a photo of" = "an image of": cosine 1.000) but not size and colour words; these are the greedy
# most-different starts among the caption prefixes "a photo of a [size] [colour]" that keep zero-shot
# validation accuracy within 1.5 points of "a photo of a" (examples/cdc/choose_templates.py, on the default
# silhouette world: colour words still move the text embedding though the images have no colour).
TEMPLATE_STARTS = (
    "a photo of a",
    "a photo of a medium cyan",
    "a photo of a green",
    "a photo of a medium pink",
    "a photo of a small",
    "a photo of a medium",
    "a photo of a cyan",
    "a photo of a medium green",
)
DEFAULT_SHOTS = 16  # CoOp's K
N_TRAIN_PER_CLASS = 64  # the training pool each seed's K-shot set is drawn from (4 × CoOp's 16 shots)


def world_options(**options: Any) -> WorldOptions:
    """:data:`TASK_OPTIONS` with ``options`` (WorldOptions fields) replaced; unknown names: ValueError."""
    valid = [f.name for f in fields(WorldOptions)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"unknown world option(s) {unknown}; valid world options: {', '.join(valid)}")
    return options_over(TASK_OPTIONS, **options)


# How the task labels its classes: by the word captions mostly use ("star"), or as a dataset would write
# them ("pentagram"; captions.DATASET_NAMES), names the pre-training captions use rarely.
CLASS_NAME_STYLES = ("caption", "dataset")


def _class_names(style: str = "caption") -> tuple[str, ...]:
    """The task's class names in label order for a :data:`CLASS_NAME_STYLES` style."""
    if style not in CLASS_NAME_STYLES:
        raise ValueError(f"class_names must be one of {', '.join(CLASS_NAME_STYLES)}, got {style!r}")
    return SHAPE_NAMES if style == "caption" else tuple(DATASET_NAMES[s] for s in SHAPE_NAMES)


TASK_PARAMETERS = (
    "class_names",
    "rho",
    "seed",
    "n_train_per_class",
    "n_val_per_class",
    "n_test_per_class",
    "spurious_factor",
    "shift",
)


def check_task_options(options: dict[str, Any]) -> None:
    """ValueError naming the first unknown or out-of-range :func:`make_task` option (``shots`` excluded)."""
    valid = [*TASK_PARAMETERS, *(f.name for f in fields(WorldOptions))]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"unknown world setting(s) {unknown}; valid world settings: {', '.join(valid)}")
    world_options(**{k: v for k, v in options.items() if k not in TASK_PARAMETERS})
    try:
        _class_names(options.get("class_names", "caption"))
        check_shift(options.get("shift"))
    except ValueError as error:
        raise ValueError(f"world setting {error}") from None
    if not 0.0 <= float(options.get("rho", 0.0)) <= 1.0:
        raise ValueError(f"world setting rho must be in [0, 1], got {options['rho']!r}")
    for name in ("n_train_per_class", "n_val_per_class", "n_test_per_class"):
        value = options.get(name)
        if value is not None and (int(value) != value or value < (1 if name == "n_test_per_class" else 0)):
            raise ValueError(f"world setting {name} must be a non-negative integer, got {value!r}")


def options_record(options: WorldOptions) -> dict[str, Any]:
    """The world options as ``task.json`` records them: ``style`` only when it is not the default "filled",
    so a task made before styles existed keeps its record (and its keyed folder)."""
    record = asdict(options)
    if record["style"] == "filled":
        del record["style"]
    return record


def _task_params(
    rho: float,
    seed: int,
    n_train_per_class: int,
    n_val_per_class: int,
    n_test_per_class: int,
    spurious_factor: str,
    options: WorldOptions,
    names: str = "caption",
    shift: str | None = None,
) -> dict:
    params = {
        "rho": float(rho),
        "seed": int(seed),
        "n_train_per_class": int(n_train_per_class),
        "n_val_per_class": int(n_val_per_class),
        "n_test_per_class": int(n_test_per_class),
        "spurious_factor": spurious_factor,
        "world_options": options_record(options),
        "classnames": list(_class_names(names)),
        **({"shift": shift} if shift is not None else {}),  # unshifted: the record (and key) as before
    }
    if names != "caption":  # a task made before the setting existed keeps its task.json
        params["class_names"] = names
    return params


def task_parameters(
    rho: float = 0.0,
    shots: int = DEFAULT_SHOTS,
    seed: int = 1,
    n_test_per_class: int = 50,
    n_val_per_class: int = 4,
    spurious_factor: str = "object_colour",
    n_train_per_class: int | None = None,
    noise_max: float | None = None,
    size_scale: float | None = None,
    rotation_range: float | None = None,
    class_names: str = "caption",
    style: str | None = None,
    shift: str | None = None,
) -> dict[str, Any]:
    """What ``task.json`` records for :func:`make_task` with these arguments (checked; ValueError if bad).

    ``shots`` is the K of the returned splits; it shapes the world only through the pool's default size.
    ``class_names`` (:data:`CLASS_NAME_STYLES`) says how the task names its classes; ``style``
    (:data:`~causalvlm.worlds.factors.RENDER_STYLES`) how its objects are drawn; ``shift`` sets one factor.
    """
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be in [0, 1], got {rho!r}")
    given = {
        "noise_max": noise_max,
        "size_scale": size_scale,
        "rotation_range": rotation_range,
        "style": style,
    }
    world = world_options(**{k: v for k, v in given.items() if v is not None})
    pool = max(N_TRAIN_PER_CLASS, shots) if n_train_per_class is None else n_train_per_class
    if shots < 1 or n_test_per_class < 1 or n_val_per_class < 0 or pool < shots:
        raise ValueError(
            f"need shots >= 1, n_train_per_class >= shots, n_test_per_class >= 1, n_val_per_class >= 0; got "
            f"shots={shots}, n_train_per_class={pool}, n_test_per_class={n_test_per_class}, "
            f"n_val_per_class={n_val_per_class}"
        )
    _class_names(class_names)  # ValueError naming the style if unknown
    check_shift(shift)
    if rho > 0 and spurious_factor not in DRAWN_FACTORS[world.style]:
        raise ValueError(
            f"spurious_factor {spurious_factor} is not drawn in style {world.style} (it shows "
            f"{', '.join(DRAWN_FACTORS[world.style])}): a cue the images do not show cannot mislead; set "
            f"spurious_factor to one of those or style to filled"
        )
    return _task_params(
        rho, seed, pool, n_val_per_class, n_test_per_class, spurious_factor, world, class_names, shift
    )


def world_root(data_root: str | os.PathLike, **task: Any) -> Path:
    """The folder under ``data_root`` for the task :func:`make_task` makes with ``task``: keyed by its
    parameters (``<data_root>/worlds/<key>``), so worlds with other options never share its files."""
    return keyed_root(data_root, task_parameters(**task))


def make_task(root: str | os.PathLike, **task: Any) -> DatasetSplits:
    """Write the shape task to ``<root>/shapeworld`` (reused if made with the same parameters); load it.

    ``task`` holds the keyword arguments of :func:`task_parameters` (rho, shots, seed, pool sizes, the
    spurious factor, world options). Training-pool and validation factors come from the world's structural
    equations with the spurious edge ``shape → spurious_factor`` of strength ρ; test factors with ρ = 0.
    ``seed`` fixes the world (its images); the returned splits hold the K-shot training set drawn from the
    pool with the same ``seed``.
    ``n_train_per_class`` (default ``max(N_TRAIN_PER_CLASS, shots)``) is the pool size; ``noise_max``,
    ``size_scale`` and ``rotation_range`` are :class:`WorldOptions` over :data:`TASK_OPTIONS` (None keeps
    the default), recorded in ``task.json``.

    The folder is checked and written under ``<root>/.shapeworld.lock``: a second process making the same
    task waits, then reuses it. A folder that is damaged (a missing, empty or truncated image, a truncated
    ``task.json``, ``factors.json`` or split file) or was made with other parameters is rebuilt, with a
    warning that says why. :func:`world_root` gives a ``root`` of its own to every set of parameters.
    """
    params = task_parameters(**task)
    world = WorldOptions(**params["world_options"])
    rho, spurious_factor = params["rho"], params["spurious_factor"]

    def draw() -> dict[str, list[Factors]]:
        rng = np.random.default_rng([params["seed"], 6])  # 6: the issue this world belongs to (its stream)
        classes = np.arange(len(SHAPE_NAMES))
        draws = {
            split: sample_factors(
                rng,
                np.repeat(classes, params[f"n_{split}_per_class"]),
                rho if split != "test" else 0.0,
                spurious_factor,
                world,
            )  # fmt: skip
            for split in ("train", "val", "test")
        }  # a shift (shifts.py) then sets one factor: every other is the unshifted task's
        return {split: shift_factors(params.get("shift"), f, world) for split, f in draws.items()}

    names = params["classnames"]
    write_world(Path(root), DATASET_DIRNAME, SPLIT_FILE, params, draw, lambda f: f.shape, names)
    return build_shapeworld(str(root), num_shots=task.get("shots", DEFAULT_SHOTS), seed=params["seed"])


def load_factors(root: str | os.PathLike, splits: DatasetSplits | None = None) -> dict[str, Factors]:
    """The generative factors of every image of the task at ``root``, keyed by absolute image path."""
    folder = Path(root) / DATASET_DIRNAME
    path = folder / "factors.json"
    rows = read_json_file(path, "ShapeWorld factor file")
    image_dir = folder / IMAGE_DIRNAME
    try:
        return {str(image_dir / rel): Factors(**row) for rel, row in rows.items()}
    except (AttributeError, TypeError) as error:
        raise ValueError(
            f"ShapeWorld factor file {path} is damaged (not factors by image: {error})"
        ) from None


def build_shapeworld(root: str, num_shots: int = 16, seed: int = 1, subsample: str = "all") -> DatasetSplits:
    """shapeworld: a task written by :func:`make_task` (or ``python -m causalvlm.worlds.task``) under root.

    Registered as ``"shapeworld"`` by ``causalvlm/worlds/__init__.py``, not here: run as a script
    (``python -m``) this module is executed a second time, and a second registration is an error.
    """
    check_subsample(subsample)
    folder = os.path.join(os.path.abspath(os.path.expanduser(str(root))), DATASET_DIRNAME)
    if not os.path.isfile(os.path.join(folder, SPLIT_FILE)):
        raise FileNotFoundError(
            f"no ShapeWorld task at {folder} (missing {SPLIT_FILE}); create it with "
            f"causalvlm.worlds.make_task({str(root)!r}, rho=...) or "
            f"python -m causalvlm.worlds.task --root {root}"
        )
    split_path = require_file(os.path.join(folder, SPLIT_FILE), "ShapeWorld split file")
    image_dir = require_dir(os.path.join(folder, IMAGE_DIRNAME), "ShapeWorld image folder")
    train, val, test = read_split_json(split_path, image_dir)
    classnames = classnames_by_label(train + val + test, split_path)
    return assemble_splits(
        "shapeworld",
        classnames,
        TEMPLATE,
        folder,
        lambda: train,
        lambda: val,
        test,
        num_shots,
        seed,
        subsample,
    )


def main(argv: list[str] | None = None) -> int:
    parser = CheckedParser(description="Write a ShapeWorld shape-classification task to disk.")
    parser.add_argument(
        "--root", type=text("a folder"), required=True, help="folder that will hold shapeworld/"
    )
    parser.add_argument(
        "--rho",
        type=number(0.0, 1.0),
        default=0.0,
        help="strength of the spurious cue in training, in [0, 1]",
    )
    parser.add_argument("--shots", type=integer(1), default=16)
    parser.add_argument("--seed", type=seed, default=1)
    parser.add_argument(
        "--n-train-per-class", type=integer(1), help=f"training pool (default {N_TRAIN_PER_CLASS})"
    )
    parser.add_argument("--n-test-per-class", type=integer(1), default=50)
    parser.add_argument("--spurious-factor", type=text("a factor name"), default="object_colour")
    parser.add_argument("--class-names", default="caption", choices=CLASS_NAME_STYLES)
    parser.add_argument("--style", choices=RENDER_STYLES, help="how objects are drawn (default filled)")
    for option in fields(WorldOptions):
        if option.name not in WORLD_OPTION_RANGES:
            continue
        low, high = WORLD_OPTION_RANGES[option.name]
        parser.add_argument(
            f"--{option.name.replace('_', '-')}",
            type=number(low, high),
            help=f"world option in [{low:g}, {high:g}] (default {getattr(TASK_OPTIONS, option.name)})",
        )
    args = parser.parse_checked(argv, folders=("root",))
    options = {
        f.name: getattr(args, f.name) for f in fields(WorldOptions) if getattr(args, f.name) is not None
    }
    task = dict(
        rho=args.rho, shots=args.shots, seed=args.seed, n_test_per_class=args.n_test_per_class,
        spurious_factor=args.spurious_factor, n_train_per_class=args.n_train_per_class,
        class_names=args.class_names, **options,
    )  # fmt: skip
    try:
        task_parameters(**task)  # every value checked before the folder is made
        sample_factors(np.random.default_rng(0), np.zeros(0, int), 0.0, args.spurious_factor)
    except ValueError as error:
        parser.error(str(error))
    Path(args.root).mkdir(parents=True, exist_ok=True)
    splits = make_task(args.root, **task)
    print(
        f"{Path(args.root) / DATASET_DIRNAME}: {splits.num_classes} classes, {len(splits.train_x)} train, "
        f"{len(splits.val)} val, {len(splits.test)} test"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
