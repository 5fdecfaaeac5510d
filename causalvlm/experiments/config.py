"""The one configuration of an experiment, with one set of defaults, checked when it is built.

:class:`ExperimentConfig` holds every setting of a run (the YAML keys; with ``-`` for ``_`` most are also
options of ``causalvlm run``); its ``train`` part is a :class:`~causalvlm.training.settings.TrainConfig`.

Settings are layered — defaults < YAML file < command line — by
:func:`~causalvlm.experiments.layers.build_experiment`. ExperimentConfig is a strict pydantic model
(:mod:`causalvlm.config_model`): building it checks types, ranges, choices and unknown keys; nothing is
coerced silently. Checks of the world outside the config (files, folders, weights)
are in :mod:`causalvlm.experiments.preflight`; both run before any data is written or any model is built.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from annotated_types import Ge, Le
from pydantic import BeforeValidator, Field, field_validator, model_validator

import causalvlm.worlds as worlds  # registers the "shapeworld" dataset; the tiny CLIP is the default backbone
from causalvlm.backbones.loading import has_vision_transformer
from causalvlm.cli import SEED_MAX
from causalvlm.config_model import ConfigError, Distinct, SettingsModel, check_arguments, check_value, shown
from causalvlm.data import DATASETS
from causalvlm.evaluation.delta import check_delta_vs
from causalvlm.experiments.method_specs import (
    MethodSpec,
    for_backbone,
    method_spec,
    needs_backbone_check,
)
from causalvlm.runs.output_lock import RUNS_NAME
from causalvlm.training.settings import TrainConfig

PROTOCOLS = ("base2new", "cross-dataset", "cross-domain")
CROSS_DATASET_TARGETS = (
    "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101",
    "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
)  # fmt: skip
CROSS_DOMAIN_TARGETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
# dataset builder arguments the experiment sets itself (dataset_options.<name>.root is checked on its own)
DATASET_SET_BY_RUN = ("root", "num_shots", "seed", "subsample")
WORLD_FIXED = ("shots", "seed")  # task arguments the experiment sets itself (worlds.task_parameters)
WORLD_OPTION_RANGES = worlds.WORLD_OPTION_RANGES
WORLD_YAML = "configs/world.yaml"  # the world demo, inside the package: the one home of its settings


def world_recipe() -> TrainConfig:
    """The world demo's training: the ``train`` section of the packaged ``causalvlm/configs/world.yaml``
    over CoOp's recipe (TrainConfig's defaults); a bad section is named with the file."""
    try:
        return TrainConfig.from_settings(world_yaml().get("train", {}), "train")
    except ConfigError as error:
        raise error.named(source=WORLD_YAML) from None


@functools.cache
def _world_yaml_text() -> str:
    return (resources.files("causalvlm") / WORLD_YAML).read_text(encoding="utf-8")


def world_yaml() -> dict[str, Any]:
    """The settings of the packaged world demo, ``causalvlm/configs/world.yaml`` (read from the installed
    package, so a wheel has it too); a fresh copy each call, so a caller may change it."""
    return dict(yaml.safe_load(_world_yaml_text()) or {})


def _one_or_list(kind: type) -> BeforeValidator:
    """One item where a list is wanted (``seeds: 1``, ``datasets: dtd``) is that one-item list; a tuple
    (from Python) is that list."""

    def listed(value: Any) -> Any:
        if isinstance(value, tuple):
            return list(value)
        return [value] if isinstance(value, kind) and not isinstance(value, bool) else value

    return BeforeValidator(listed)


Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
Names = Annotated[list[str], _one_or_list(str), Distinct]


class ExperimentConfig(SettingsModel):
    """Every setting of a run; the YAML keys and (with ``-`` for ``_``) the command-line options.

    ``methods`` entries may be given as a method name, a mapping of :func:`method_spec` arguments
    (``{method: cdc, templates: 8}``) or a :class:`MethodSpec`; they are stored as MethodSpecs. ``targets``
    ``None`` becomes the paper's target list of a cross-* protocol; ``data_root`` has ``$VAR`` and ``~``
    expanded. With no settings the experiment is the generated ShapeWorld task with the tiny CLIP: a setting
    not given is the world demo's, read from ``causalvlm/configs/world.yaml``, the one home of those settings
    (the fields without a default below; tests/experiments/test_config.py checks none is written here too).
    """

    protocol: Literal["base2new", "cross-dataset", "cross-domain"]
    datasets: Names  # trained on (cross-*: the source)
    targets: Names | None = None  # cross-*: evaluated after training; None → the paper's list
    data_root: str  # CoOp's $DATA; "${VAR}" and "~" are expanded; the world is written here
    backbone: str = str(worlds.TINY_CLIP_CONFIG)  # open_clip arch name or model-config JSON
    # checkpoint file, open_clip tag, or None; not given, a shipped tiny CLIP backbone (causalvlm-tiny,
    # causalvlm-tiny-vit, or their config files) gets its own checkpoint (worlds.shipped_checkpoint)
    pretrained: str | None = str(worlds.TINY_CLIP_CHECKPOINT)
    methods: list[MethodSpec]
    seeds: Annotated[list[Seed], _one_or_list(int), Distinct]
    shots: Annotated[int, Field(ge=1)]  # training images per class (CoOp's K)
    out: str  # results, figures and runs/ go here
    resume: bool = False  # continue each run from out/runs/.../last.ckpt (its settings must be the same)
    overwrite: bool = False  # delete out/runs and the earlier results first (after every check has passed)
    make_world: bool = True  # write the ShapeWorld task under data_root when it is missing
    # task options (worlds.task_parameters): rho, n_test_per_class, n_train_per_class, ..., and the world
    # options noise_max, size_scale, rotation_range, style (over worlds.TASK_OPTIONS); one not given takes
    # the world's own default; all are recorded in task.json and results.json
    world: dict[str, Any]
    scm: str | None = None  # graph name or .gml path the classifier is checked against; None → cdc_frontdoor
    # extra builder kwargs per dataset, e.g. {"imagefolder": {"root": ..., "template": ...}}
    dataset_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # M values timed for CDC
    compute_templates: Annotated[list[Annotated[int, Field(ge=1)]], _one_or_list(int)] = Field(
        default_factory=lambda: [1, 2, 4, 8]
    )
    compute_batch: Annotated[int, Field(ge=1)] = 8  # images per timed batch of the compute report
    max_image_checks: Annotated[int, Field(ge=0)] | None = 2000  # images decoded per dataset (None = all)
    delta_vs: str | None = None  # Δ column baseline, a method label of the run; None → strongest other
    train: TrainConfig  # over CoOp's recipe (TrainConfig's defaults)
    # torch CPU threads; None keeps torch's default (the paper configs, whose large backbones use every core)
    threads: Annotated[int, Field(ge=1)] | None

    @model_validator(mode="before")
    @classmethod
    def _world_demo(cls, settings: Any) -> Any:
        """A setting not given is the world demo's, from ``causalvlm/configs/world.yaml``."""
        return {**world_yaml(), **settings} if isinstance(settings, Mapping) else settings

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, entries: Any) -> list[MethodSpec]:
        return _method_specs(entries)

    @model_validator(mode="after")
    def _check_together(self) -> ExperimentConfig:
        """The rules across settings, and the checks of names against the registries."""
        self._check_datasets()
        if not self.seeds:
            raise ConfigError("seeds", "give at least one seed")
        self._settle_methods()
        labels = [spec.label for spec in self.methods]
        if len(set(labels)) != len(labels):
            raise ConfigError("methods", f"two entries make the same table row: {labels}")
        if self.delta_vs is not None:
            try:
                check_delta_vs(self.delta_vs, labels)
            except ValueError as error:
                raise ConfigError("delta_vs", str(error)) from None
        for name in ("data_root", "out", "backbone"):
            if not getattr(self, name).strip():
                raise ConfigError(name, "must not be empty")
        if self.pretrained is not None and not self.pretrained.strip():
            raise ConfigError("pretrained", "must not be empty (use null, or 'none' on the command line)")
        if "pretrained" not in self.model_fields_set:
            shipped = worlds.shipped_checkpoint(self.backbone)
            self.pretrained = str(shipped) if shipped is not None else self.pretrained
        if self.resume and self.overwrite:
            raise ConfigError(
                "overwrite", "resume and overwrite exclude each other: continue the runs, or delete them"
            )
        self.data_root = expand_path(self.data_root, "data_root")
        self._check_world()
        self._check_world_datasets()
        run_folders = {"checkpoint_dir": "checkpoints", "log_dir": "logs"}
        for name, folder in run_folders.items():  # accepted and never read would be silently ignored
            if getattr(self.train, name) is not None:
                raise ConfigError(
                    f"train.{name}",
                    "is set by the experiment for each run (<out>/runs/<method>/<dataset>/seed<N>/"
                    f"{folder}); choose where runs go with out",
                )
        return self

    def current(self) -> dict[str, Any]:
        """Every setting by name, as built (MethodSpecs, the TrainConfig)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def replaced(self, **changes: Any) -> ExperimentConfig:
        """A copy with ``changes`` applied, checked like any other config."""
        return type(self)(**{**self.current(), **changes})

    @property
    def runs_dir(self) -> str:
        """Where each (method, dataset, seed) run keeps its checkpoints and logs."""
        return str(Path(self.out) / RUNS_NAME)

    def method_specs(self) -> list[MethodSpec]:
        return list(self.methods)

    def resolved_targets(self) -> list[str]:
        return list(self.targets or [])

    def _settle_methods(self) -> None:
        """What the backbone decides about a method (vision prompts on a ResNet tower: text side only)."""
        if not any(needs_backbone_check(spec) for spec in self.methods):
            return
        worlds.register_tiny_clip()  # so the tiny CLIP's architecture name is known
        vit = has_vision_transformer(self.backbone)
        for index, spec in enumerate(self.methods):
            try:
                self.methods[index] = for_backbone(spec, vit)
            except ValueError as error:
                raise ConfigError(f"methods[{index}]", str(error)) from None

    def _check_datasets(self) -> None:
        if not self.datasets:
            raise ConfigError("datasets", "give at least one dataset")
        if self.protocol != "base2new" and len(self.datasets) != 1:
            raise ConfigError(
                "datasets", f"{self.protocol} trains on one source dataset, got {self.datasets}"
            )
        if self.protocol == "base2new":
            if self.targets:
                raise ConfigError(
                    "targets", "apply to the cross-dataset / cross-domain protocols, not base2new"
                )
            self.targets = []
        elif self.targets is None:
            self.targets = list(
                CROSS_DATASET_TARGETS if self.protocol == "cross-dataset" else CROSS_DOMAIN_TARGETS
            )
        for key, names in (("datasets", self.datasets), ("targets", self.targets)):
            unknown = [name for name in names if name not in DATASETS]
            if unknown:
                raise ConfigError(
                    key, f"unknown dataset(s) {unknown}; valid names: {', '.join(DATASETS.names())}"
                )
        for name, options in self.dataset_options.items():
            if name not in DATASETS:
                raise ConfigError(
                    f"dataset_options.{name}", f"unknown dataset; valid names: {', '.join(DATASETS.names())}"
                )
            # the builder's own keyword arguments (template, check_num_classes, ...): unknown keys and wrong
            # types are named here, not met as a TypeError when the dataset is built
            if isinstance(options, Mapping):  # (not a mapping: refused when the field was read)
                builder_options = {k: v for k, v in options.items() if k != "root"}
                check_arguments(
                    DATASETS.get(name), builder_options, f"dataset_options.{name}", exclude=DATASET_SET_BY_RUN
                )
            if "root" in options:
                if not isinstance(options["root"], str) or not options["root"].strip():
                    raise ConfigError(
                        f"dataset_options.{name}.root", f"expected a folder, got {shown(options['root'])}"
                    )
                options["root"] = expand_path(options["root"], f"dataset_options.{name}.root")

    def world_source(self) -> dict[str, Any]:
        """The source world task's :func:`~causalvlm.worlds.make_task` arguments: ``world`` over
        the world's defaults (seed 1: the world's images; each run's K-shot draw has its own seed)."""
        return {"shots": self.shots, "seed": 1, **self.world}

    def _check_world_datasets(self) -> None:
        """Each world dataset made from the source world (a cross-domain target) can be made from it."""
        for key, names in (("datasets", self.datasets), ("targets", self.targets or [])):
            for name in names:
                if name in worlds.WORLD_DATASETS:
                    try:
                        worlds.world_task(name, self.world_source())
                    except ValueError as error:
                        raise ConfigError(key, str(error)) from None

    def _check_world(self) -> None:
        """``world`` holds task options (rho, n_test_per_class, ...); check them as make_task would."""
        options = check_arguments(worlds.task_parameters, self.world, "world", exclude=WORLD_FIXED)
        ranges: dict[str, Any] = {  # pydantic types of the options whose range task_parameters' hints omit
            "rho": Annotated[float, Ge(0), Le(1)],
            "n_test_per_class": Annotated[int, Ge(1)],
            "n_val_per_class": Annotated[int, Ge(0)],
            "n_train_per_class": Annotated[int, Ge(self.shots)],
            "class_names": Literal[worlds.CLASS_NAME_STYLES],
            "style": Literal[worlds.RENDER_STYLES],
            "shift": Literal[tuple(worlds.FACTOR_SHIFTS)],  # a factor intervened on (worlds/shifts.py)
        }
        for name, (low, high) in WORLD_OPTION_RANGES.items():  # the world's difficulty (WorldOptions)
            ranges[name] = Annotated[float, Ge(low), Le(high)]
        for name, kind in ranges.items():
            if options.get(name) is not None:
                check_value(options[name], kind, f"world.{name}")
        if "spurious_factor" in options:
            try:  # the world's own check of the factor name, on an empty sample
                worlds.sample_factors(
                    np.random.default_rng(0), np.zeros(0, int), 0.0, options["spurious_factor"]
                )
            except ValueError as error:
                raise ConfigError("world.spurious_factor", str(error)) from None
        if options.get("rho"):  # a cue the world's style does not draw (worlds.DRAWN_FACTORS)
            try:
                worlds.task_parameters(**{k: v for k, v in options.items() if k != "shift"})
            except ValueError as error:
                raise ConfigError("world.spurious_factor", str(error)) from None
        self.world = options


def _method_specs(entries: Any) -> list[MethodSpec]:
    """Method entries (names, method_spec argument mappings or MethodSpecs) as MethodSpecs."""
    if isinstance(entries, (str, Mapping, MethodSpec)):
        entries = [entries]
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(
            "",
            f"expected a list of methods (names or {{method: ..., ...}} mappings), got {shown(entries)}",
        )
    if not entries:
        raise ConfigError("", "give at least one method")
    specs = []
    for index, entry in enumerate(entries):
        key = f"[{index}]"  # (named under "methods" by the model)
        if isinstance(entry, MethodSpec):
            specs.append(entry)
            continue
        if isinstance(entry, str):
            entry = {"method": entry}
        if not isinstance(entry, Mapping):
            raise ConfigError(key, f"expected a method name or a mapping with 'method', got {shown(entry)}")
        arguments = check_arguments(method_spec, entry, key)
        for weight in ("beta", "gamma"):  # loss weights: finite and non-negative (inf would train on NaN)
            if arguments.get(weight) is not None:
                check_value(arguments[weight], Annotated[float, Ge(0)], f"{key}.{weight}")
        try:
            specs.append(method_spec(**arguments))
        except (ValueError, KeyError, TypeError) as error:
            message = error.args[0] if error.args else str(error)
            raise ConfigError(key, str(message)) from None
    return specs


def expand_path(path: str, key: str) -> str:
    """``~`` and ``$VAR`` / ``${VAR}`` expanded; an unset variable is an error naming ``key``."""
    expanded = os.path.expanduser(os.path.expandvars(path))
    if "$" in expanded:
        raise ConfigError(key, f"{path!r} names an unset environment variable")
    return expanded


__all__ = [
    "CROSS_DATASET_TARGETS",
    "CROSS_DOMAIN_TARGETS",
    "PROTOCOLS",
    "WORLD_YAML",
    "ConfigError",
    "ExperimentConfig",
    "expand_path",
    "world_recipe",
    "world_yaml",
]
