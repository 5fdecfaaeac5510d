"""The one configuration of an experiment, with one set of defaults, checked when it is built.

:class:`ExperimentConfig` holds every setting of a run (the YAML keys; with ``-`` for ``_`` most are also
command-line options of ``examples/cdc/run.py``); :class:`TrainConfig` and :class:`OptimConfig` are its
``train`` and ``train.optim`` parts. Optimiser defaults follow CoOp's recipe (SGD, cosine, one warm-up epoch).

Settings are layered — defaults < YAML file < command line — by :func:`build_experiment`, which merges the
layers as plain mappings first and builds the config once, so a value a later layer replaces is never
checked. Building checks types, ranges, choices and unknown keys (:mod:`causalvlm.validation`); nothing is
coerced silently. Checks of the world outside the config (files, folders, weights) are in
:mod:`causalvlm.training.preflight`; both run before any data is written or any model is built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import causalvlm.worlds as worlds  # registers the "shapeworld" dataset; the tiny CLIP is the default backbone
from causalvlm.backbones.loading import has_vision_transformer
from causalvlm.data import DATASETS
from causalvlm.evaluation.delta import check_delta_vs
from causalvlm.training.methods import MethodSpec, for_backbone, method_spec
from causalvlm.training.output_lock import RUNS_NAME
from causalvlm.validation import (
    ConfigError,
    check_arguments,
    check_fields,
    from_mapping,
    require_choice,
    require_distinct,
    require_int,
    require_number,
    shown,
)

PROTOCOLS = ("base2new", "cross-dataset", "cross-domain")
CROSS_DATASET_TARGETS = (
    "caltech101", "oxford_pets", "stanford_cars", "oxford_flowers", "food101",
    "fgvc_aircraft", "sun397", "dtd", "eurosat", "ucf101",
)  # fmt: skip
CROSS_DOMAIN_TARGETS = ("imagenetv2", "imagenet_sketch", "imagenet_a", "imagenet_r")
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "64-true")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
SEED_MAX = 2**32 - 1  # numpy and Lightning seeds are unsigned 32-bit
# The world demo: 24 shapes (12 base, 12 new), 50 test images per shape; training, validation and test drawn
# alike (ρ = 0, the paper's base-to-new protocol). The world's difficulty is worlds.TASK_OPTIONS; the ρ sweep
# (training/rho_sweep.py) is the experiment about the spurious cue.
WORLD_TASK = {"rho": 0.0, "n_test_per_class": 50}
WORLD_FIXED = ("root", "shots", "seed")  # make_task arguments the experiment sets itself
# Training epochs when not given: CoOp's recipe for 16-shot base-to-new (the world demo runs as many).
DEFAULT_MAX_EPOCHS = 10
WORLD_OPTION_RANGES = worlds.WORLD_OPTION_RANGES


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule."""

    lr: float = 0.002  # CoOp's SGD learning rate for the prompt context
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: int = 1  # epochs held at the constant warm-up rate before the cosine schedule takes over
    warmup_lr: float = 1e-5  # CoOp's constant warm-up learning rate

    def __post_init__(self) -> None:
        check_fields(self)
        require_number(self.lr, "lr", above=0)
        require_number(self.momentum, "momentum", minimum=0, below=1)
        require_number(self.weight_decay, "weight_decay", minimum=0)
        require_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        require_number(self.warmup_lr, "warmup_lr", above=0)


@dataclass
class TrainConfig:
    """One training run: epochs, batches, hardware, checkpoints and logs."""

    max_epochs: int = DEFAULT_MAX_EPOCHS  # see DEFAULT_MAX_EPOCHS
    batch_size: int = 32  # CoOp's training batch
    eval_batch_size: int = 256  # evaluation runs on cached features, so large batches are cheap
    num_workers: int = 0  # dataloader worker processes (0 = load in the main process)
    accelerator: str = "auto"  # Lightning accelerator: "cpu", "gpu", "auto"
    devices: int | str = 1  # number of devices (>1 trains with DDP), or "auto"
    strategy: str = "auto"  # Lightning strategy; "ddp" / "ddp_spawn" across devices
    precision: str = "auto"  # "auto" = bf16 autocast on CUDA, fp32 on CPU
    validate_every_epoch: bool = True  # base/new validation accuracy during training (the paper's Fig. 1b)
    val_every_n_epochs: int = 1  # how often that validation runs (the history gets one row each time)
    # K augmentation draws per training image, encoded once by the frozen image tower and read one per epoch
    # (training/view_bank.py); 0 augments and encodes afresh every epoch.
    view_bank: int = 0
    enable_progress_bar: bool = False
    log_every_n_steps: int = 10
    checkpoint_dir: str | None = None  # where last.ckpt goes; None disables checkpoints
    log_dir: str | None = None  # CSVLogger directory; None disables logging to disk
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        positive = ("max_epochs", "batch_size", "eval_batch_size", "log_every_n_steps", "val_every_n_epochs")
        for name in positive:
            require_int(getattr(self, name), name, minimum=1)
        require_int(self.num_workers, "num_workers", minimum=0)
        require_int(self.view_bank, "view_bank", minimum=0)
        require_choice(self.accelerator, "accelerator", ACCELERATORS)
        if self.devices != "auto" and not (isinstance(self.devices, int) and self.devices >= 1):
            raise ConfigError("devices", f"must be an integer >= 1 or 'auto', got {shown(self.devices)}")
        if self.strategy not in strategies():
            raise ConfigError(
                "strategy",
                "must be 'auto' or a Lightning strategy name (ddp, ddp_spawn, fsdp, ...), "
                f"got {self.strategy!r}",
            )
        require_choice(self.precision, "precision", PRECISIONS)


def strategies() -> tuple[str, ...]:
    """Lightning's registered strategy names, plus "auto"."""
    from pytorch_lightning.strategies import StrategyRegistry

    return ("auto", *StrategyRegistry.available_strategies())


def world_recipe() -> TrainConfig:
    """The default run's training: CoOp's 16-shot recipe, 200 epochs of SGD at lr 0.002 in batches of 32.

    At CoOp's base-to-new 10 epochs (60 steps here) the context hardly moves; its 16-shot configs train 200.
    One full-batch step per epoch (lr scaled to 0.012) would cost a fifth of the time and gave CoOp the same
    validation accuracy, but cost CDC 1.3 base points on validation, so the default keeps CoOp's steps
    (docs/results.md). Augmented views come from a bank of 32 draws per image encoded once
    (training/view_bank.py); validation runs every 10 epochs for the per-epoch curve.
    """
    return TrainConfig(max_epochs=200, batch_size=32, view_bank=32, val_every_n_epochs=10)


def world_methods() -> list[MethodSpec]:
    """The default run's methods. On the world, CoOp trains without crops (they cut off its off-centre
    shapes); CDC's templates start from caption words the tiny CLIP tells apart (worlds.TEMPLATE_STARTS) and
    see views that keep colour (``aug1-colour``: aug1 with autocontrast in place of greyscale). All three were
    chosen on validation images (examples/cdc/choose_world.py, choose_templates.py, fusion_views.py)."""
    return [
        method_spec("zeroshot"),
        method_spec("coop", aug="none"),
        method_spec("cdc", aug="aug1-colour", mediator_options={"ctx_init": list(worlds.TEMPLATE_STARTS)}),
    ]


@dataclass
class ExperimentConfig:
    """Every setting of a run; the YAML keys and (with ``-`` for ``_``) the command-line options.

    ``methods`` entries may be given as a method name, a mapping of :func:`method_spec` arguments
    (``{method: cdc, templates: 8}``) or a :class:`MethodSpec`; they are stored as MethodSpecs. ``targets``
    ``None`` becomes the paper's target list of a cross-* protocol; ``data_root`` has ``$VAR`` and ``~``
    expanded. With no settings the experiment is the generated ShapeWorld task with the tiny CLIP.
    """

    protocol: str = "base2new"  # base2new | cross-dataset | cross-domain
    datasets: list[str] = field(default_factory=lambda: ["shapeworld"])  # trained on (cross-*: the source)
    targets: list[str] | None = None  # cross-*: evaluated after training; None → the paper's list
    data_root: str = "outputs/data"  # CoOp's $DATA; "${VAR}" and "~" are expanded; the world is written here
    backbone: str = str(worlds.TINY_CLIP_CONFIG)  # open_clip arch name or model-config JSON
    pretrained: str | None = str(worlds.TINY_CLIP_CHECKPOINT)  # checkpoint file, open_clip tag, or None
    methods: list[MethodSpec] = field(default_factory=world_methods)
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    shots: int = 16  # training images per class (CoOp's K)
    out: str = "outputs/cdc"  # results, figures and runs/ go here
    resume: bool = False  # continue each run from out/runs/.../last.ckpt (its settings must be the same)
    overwrite: bool = False  # delete out/runs and the earlier results first (after every check has passed)
    make_world: bool = True  # write the ShapeWorld task under data_root when it is missing
    # make_task options over WORLD_TASK: rho, n_train_per_class, ..., and the world options noise_max,
    # size_scale, rotation_range (over worlds.TASK_OPTIONS); all recorded in task.json and results.json
    world: dict[str, Any] = field(default_factory=dict)
    scm: str | None = None  # graph name or .gml path the classifier is checked against; None → cdc_frontdoor
    # extra builder kwargs per dataset, e.g. {"imagefolder": {"root": ..., "template": ...}}
    dataset_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    compute_templates: list[int] = field(default_factory=lambda: [1, 2, 4, 8])  # M values timed for CDC
    compute_batch: int = 8  # images per timed batch of the compute report
    max_image_checks: int | None = 2000  # images decoded per dataset before training (None = all)
    delta_vs: str | None = None  # Δ column baseline, a method label of the run; None → strongest other
    train: TrainConfig = field(default_factory=world_recipe)
    # torch CPU threads; the world's tiny model runs fastest on one (benchmarks/bench_default_run.py).
    # None keeps torch's default (the paper configs, whose large backbones use every core).
    threads: int | None = 1

    def __post_init__(self) -> None:
        self.methods = _method_specs(self.methods)
        check_fields(self, skip=("methods",))
        require_choice(self.protocol, "protocol", PROTOCOLS)
        self._check_datasets()
        require_int(self.shots, "shots", minimum=1)
        if not self.seeds:
            raise ConfigError("seeds", "give at least one seed")
        for index, seed in enumerate(self.seeds):
            require_int(seed, f"seeds[{index}]", minimum=0, maximum=SEED_MAX)
        require_distinct(self.seeds, "seeds")
        self._settle_methods()
        labels = [spec.label for spec in self.methods]
        if len(set(labels)) != len(labels):
            raise ConfigError("methods", f"two entries make the same table row: {labels}")
        if self.delta_vs is not None:
            try:
                check_delta_vs(self.delta_vs, labels)
            except ValueError as error:
                raise ConfigError("delta_vs", str(error)) from None
        for index, m in enumerate(self.compute_templates):
            require_int(m, f"compute_templates[{index}]", minimum=1)
        require_int(self.compute_batch, "compute_batch", minimum=1)
        if self.max_image_checks is not None:
            require_int(self.max_image_checks, "max_image_checks", minimum=0)
        for name in ("data_root", "out", "backbone"):
            if not getattr(self, name).strip():
                raise ConfigError(name, "must not be empty")
        if self.pretrained is not None and not self.pretrained.strip():
            raise ConfigError("pretrained", "must not be empty (use null, or 'none' on the command line)")
        if self.resume and self.overwrite:
            raise ConfigError(
                "overwrite", "resume and overwrite exclude each other: continue the runs, or delete them"
            )
        if self.threads is not None:
            require_int(self.threads, "threads", minimum=1)
        self.data_root = expand_path(self.data_root, "data_root")
        self._check_world()

    @property
    def runs_dir(self) -> str:
        """Where each (method, dataset, seed) run keeps its checkpoints and logs."""
        return str(Path(self.out) / RUNS_NAME)

    def method_specs(self) -> list[MethodSpec]:
        return list(self.methods)

    def resolved_targets(self) -> list[str]:
        return list(self.targets or [])

    def _settle_methods(self) -> None:
        """What the backbone decides about a method (MaPLe on a ResNet image tower: text side only)."""
        if not any(spec.mediator == "maple" for spec in self.methods):
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
        require_distinct(self.datasets, "datasets")
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
        require_distinct(self.targets, "targets")
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
            if "root" in options:
                if not isinstance(options["root"], str) or not options["root"].strip():
                    raise ConfigError(
                        f"dataset_options.{name}.root", f"expected a folder, got {shown(options['root'])}"
                    )
                options["root"] = expand_path(options["root"], f"dataset_options.{name}.root")

    def _check_world(self) -> None:
        """``world`` holds make_task options (rho, n_test_per_class, ...); check them as make_task would."""
        options = check_arguments(worlds.make_task, self.world, "world", exclude=WORLD_FIXED)
        if "rho" in options:
            require_number(options["rho"], "world.rho", minimum=0, maximum=1)
        if "n_test_per_class" in options:
            require_int(options["n_test_per_class"], "world.n_test_per_class", minimum=1)
        if "n_val_per_class" in options:
            require_int(options["n_val_per_class"], "world.n_val_per_class", minimum=0)
        if options.get("n_train_per_class") is not None:
            require_int(options["n_train_per_class"], "world.n_train_per_class", minimum=self.shots)
        for name, (low, high) in WORLD_OPTION_RANGES.items():  # the world's difficulty (WorldOptions)
            if options.get(name) is not None:
                require_number(options[name], f"world.{name}", minimum=low, maximum=high)
        if "class_names" in options:
            require_choice(options["class_names"], "world.class_names", worlds.CLASS_NAME_STYLES)
        if "spurious_factor" in options:
            try:  # the world's own check of the factor name, on an empty sample
                worlds.sample_factors(
                    np.random.default_rng(0), np.zeros(0, int), 0.0, options["spurious_factor"]
                )
            except ValueError as error:
                raise ConfigError("world.spurious_factor", str(error)) from None
        self.world = options


def _method_specs(entries: Any) -> list[MethodSpec]:
    """Method entries (names, method_spec argument mappings or MethodSpecs) as MethodSpecs."""
    if isinstance(entries, (str, Mapping, MethodSpec)):
        entries = [entries]
    if not isinstance(entries, (list, tuple)):
        raise ConfigError(
            "methods",
            f"expected a list of methods (names or {{method: ..., ...}} mappings), got {shown(entries)}",
        )
    if not entries:
        raise ConfigError("methods", "give at least one method")
    specs = []
    for index, entry in enumerate(entries):
        key = f"methods[{index}]"
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
                require_number(arguments[weight], f"{key}.{weight}", minimum=0)
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


# ---------------------------------------------------------------------------------------------- layers
def _sections() -> dict[str, type]:
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
        known = [f.name for f in fields(sections[section]) if f.init]
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
    return {
        k: (_plain(asdict(v)) if isinstance(v, (TrainConfig, OptimConfig)) else v)
        for k, v in settings.items()
    }


def config_from_layers(
    layers: Sequence[tuple[str, Mapping[str, Any]]], option_names: Mapping[str, str] | None = None
) -> ExperimentConfig:
    """Build the config from merged layers; an error names the key's source and, for options, the option."""
    # The default run's training recipe is ExperimentConfig's default ``train``, not TrainConfig's class
    # defaults: a layer that sets only some train keys (``--epochs``) keeps the recipe's other values.
    train_default = next(f for f in fields(ExperimentConfig) if f.name == "train").default_factory()
    merged, origin = merge_layers([("defaults", {"train": train_default}), *layers])
    try:
        return from_mapping(ExperimentConfig, merged)
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
    """ExperimentConfig defaults < ``defaults`` (a driver's own) < YAML file < ``overrides`` (command line).

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
    current = {f.name: getattr(base, f.name) for f in fields(ExperimentConfig)}
    return config_from_layers([("", current), (source, settings)])


__all__ = [
    "ACCELERATORS",
    "CROSS_DATASET_TARGETS",
    "CROSS_DOMAIN_TARGETS",
    "PRECISIONS",
    "PROTOCOLS",
    "WORLD_TASK",
    "ConfigError",
    "ExperimentConfig",
    "OptimConfig",
    "TrainConfig",
    "build_experiment",
    "config_from_layers",
    "expand_path",
    "load_yaml",
    "merge_layers",
    "merge_settings",
]
