"""One experiment from options or a YAML file: validate, load the backbone, run a protocol, write the report.

This is the library side of ``examples/cdc/run.py``: the driver only parses the command line into a dict of
overrides. Settings are layered: :class:`ExperimentConfig` defaults < YAML file < command-line options.
With no options the experiment is the generated ShapeWorld task with the tiny CLIP pre-trained on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml
from pytorch_lightning.utilities.rank_zero import rank_zero_only

import causalvlm.backbones as backbones
import causalvlm.worlds as worlds
from causalvlm.backbones import FrozenCLIP
from causalvlm.classifier import resolve_scm
from causalvlm.data import DATASETS
from causalvlm.evaluation.delta import check_delta_vs
from causalvlm.evaluation.probe import ProbeResult, probe_world_task
from causalvlm.evaluation.report import build_payload, write_report
from causalvlm.training.config import OptimConfig, TrainConfig
from causalvlm.training.methods import METHODS, MethodSpec, method_spec
from causalvlm.training.output_lock import (
    RUNS_NAME,
    OutputLock,
    check_output_folder,
    clean_output_folder,
    clear_previous_outputs,
    describe_holder,
    sigterm_as_exit,
)
from causalvlm.training.protocols import (
    CROSS_DATASET_TARGETS,
    CROSS_DOMAIN_TARGETS,
    PROTOCOLS,
    ProtocolConfig,
    ProtocolRunner,
)
from causalvlm.training.run_identity import backbone_identity

METHOD_KEYS = (
    "method", "templates", "aggregator", "no_vsd", "aug", "beta", "gamma", "aggregator_options", "test_views",
)  # fmt: skip
# The world demo: 24 shapes (12 base, 12 new), 50 test images per shape, colour spuriously tied to shape.
WORLD_TASK = {"rho": 0.9, "n_test_per_class": 50}


@dataclass
class ExperimentConfig:
    """Every setting of a run; the YAML keys and (with ``-`` for ``_``) the command-line options."""

    protocol: str = "base2new"  # base2new | cross-dataset | cross-domain
    datasets: list[str] = field(default_factory=lambda: ["shapeworld"])  # trained on (cross-*: the source)
    targets: list[str] | None = None  # cross-*: None → the paper's target list for the protocol
    data_root: str = "outputs/data"  # CoOp's $DATA; "${VAR}" and "~" are expanded; the world is written here
    backbone: str = str(worlds.TINY_CLIP_CONFIG)  # open_clip arch name or model-config JSON
    pretrained: str | None = str(worlds.TINY_CLIP_CHECKPOINT)  # open_clip tag, checkpoint path, or None
    methods: list[dict[str, Any]] = field(
        default_factory=lambda: [{"method": "zeroshot"}, {"method": "coop"}, {"method": "cdc"}]
    )
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3])
    shots: int = 16
    out: str = "outputs/cdc"
    resume: bool = False  # continue each run from out/runs/.../last.ckpt (its settings must be the same)
    overwrite: bool = False  # delete out/runs and the earlier results first (after every check has passed)
    make_world: bool = True  # write the ShapeWorld task under data_root when it is missing
    world: dict[str, Any] = field(default_factory=dict)  # make_task options over WORLD_TASK (rho, ...)
    scm: str | None = None  # graph name or .gml path; None → cdc_frontdoor
    dataset_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    compute_templates: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    delta_vs: str | None = (
        None  # Δ column baseline (a method label of the run); None → strongest other method
    )
    train: TrainConfig = field(default_factory=TrainConfig)

    def method_specs(self) -> list[MethodSpec]:
        specs = []
        for index, entry in enumerate(self.methods):
            entry = {"method": entry} if isinstance(entry, str) else dict(entry)
            unknown = sorted(set(entry) - set(METHOD_KEYS))
            if unknown or "method" not in entry:
                raise ValueError(
                    f"methods[{index}] = {entry}: each method needs 'method' and may set {METHOD_KEYS[1:]}; "
                    f"unknown key(s): {unknown}"
                )
            specs.append(method_spec(**entry))
        return specs

    def resolved_targets(self) -> list[str]:
        if self.protocol == "base2new":
            if self.targets:
                raise ValueError("targets apply to cross-dataset / cross-domain, not base2new")
            return []
        if self.targets is not None:
            return list(self.targets)
        return list(CROSS_DATASET_TARGETS if self.protocol == "cross-dataset" else CROSS_DOMAIN_TARGETS)


def _typed(name: str, value: Any, source: str) -> Any:
    if name == "train":
        if isinstance(value, TrainConfig):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{source}: 'train' must be a mapping of TrainConfig fields, got {value!r}")
        known = {f.name for f in fields(TrainConfig)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"{source}: unknown train option(s) {unknown}; valid: {sorted(known)}")
        options = dict(value)
        if isinstance(options.get("optim"), Mapping):
            optim_known = {f.name for f in fields(OptimConfig)}
            bad = sorted(set(options["optim"]) - optim_known)
            if bad:
                raise ValueError(
                    f"{source}: unknown train.optim option(s) {bad}; valid: {sorted(optim_known)}"
                )
            options["optim"] = OptimConfig(**options["optim"])
        return TrainConfig(**options)
    if name in ("datasets", "targets", "seeds", "compute_templates") and isinstance(value, (str, int)):
        return [value]
    return value


def merge_settings(
    base: ExperimentConfig, settings: Mapping[str, Any], source: str = "options"
) -> ExperimentConfig:
    """A copy of ``base`` with ``settings`` applied; unknown keys raise ValueError naming ``source``."""
    known = {f.name: f for f in fields(ExperimentConfig)}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"{source}: unknown setting(s) {unknown}; valid settings: {sorted(known)}")
    values = {f: getattr(base, f) for f in known}
    for name, value in settings.items():
        if name == "train" and isinstance(value, Mapping) and not isinstance(value, TrainConfig):
            merged = {**asdict(values["train"]), **value}
            if isinstance(value.get("optim"), Mapping):
                merged["optim"] = {**asdict(values["train"].optim), **value["optim"]}
            value = merged
        values[name] = _typed(name, value, source)
    return ExperimentConfig(**values)


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(loaded, dict):
        raise ValueError(
            f"{path}: expected a mapping of settings at the top level, got {type(loaded).__name__}"
        )
    return loaded


def build_experiment(
    config_path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> ExperimentConfig:
    """Defaults < YAML file < overrides."""
    config = ExperimentConfig()
    if config_path is not None:
        config = merge_settings(config, load_yaml(config_path), source=str(config_path))
    return merge_settings(config, dict(overrides or {}), source="command line")


def validate_experiment(config: ExperimentConfig) -> tuple[ProtocolConfig, list[MethodSpec]]:
    """Check every option (and that files exist) before anything is loaded or trained."""
    if config.protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {config.protocol!r}; valid protocols: {', '.join(PROTOCOLS)}")
    specs = config.method_specs()
    check_delta_vs(config.delta_vs, [spec.label for spec in specs])
    check_backbone_options(config.backbone, config.pretrained)
    resolve_scm(config.scm)  # an unknown graph name or a missing .gml fails here
    data_root = os.path.expanduser(os.path.expandvars(config.data_root))
    if "$" in data_root:
        raise ValueError(f"data_root {config.data_root!r} names an unset environment variable")
    protocol = ProtocolConfig(
        protocol=config.protocol,
        datasets=list(config.datasets),
        targets=config.resolved_targets(),
        data_root=data_root,
        shots=config.shots,
        seeds=[int(s) for s in config.seeds],
        methods=specs,
        train=config.train,
        dataset_options=dict(config.dataset_options),
        scm=config.scm,
        runs_dir=str(Path(config.out) / RUNS_NAME),
        resume=config.resume,
        overwrite=config.overwrite,
        compute_templates=list(config.compute_templates),
    )
    return protocol, specs


def check_backbone_options(backbone: str, pretrained: str | None) -> None:
    """``backbone`` must be a model-config JSON file or an open_clip architecture; a checkpoint must exist."""
    worlds.register_tiny_clip()  # so "causalvlm-tiny" is a known architecture name
    backbones.check_backbone_options(backbone, pretrained)


def prepare_world(config: ExperimentConfig, protocol: ProtocolConfig) -> None:
    """Write the ShapeWorld task under data_root when the experiment uses it and it is not there yet."""
    if "shapeworld" not in [*protocol.datasets, *protocol.targets]:
        return
    root = world_root(protocol)
    try:
        DATASETS.build("shapeworld", root=root, num_shots=protocol.shots, seed=1)
    except FileNotFoundError:
        if not config.make_world:
            raise
        Path(root).mkdir(parents=True, exist_ok=True)
        worlds.make_task(root, shots=protocol.shots, seed=1, **{**WORLD_TASK, **config.world})


def world_root(protocol: ProtocolConfig) -> str:
    """The folder that holds (or will hold) the ShapeWorld task of this run."""
    return os.path.expanduser(
        str(protocol.dataset_options.get("shapeworld", {}).get("root", protocol.data_root))
    )


def run_context(config: ExperimentConfig, protocol: ProtocolConfig, backbone: FrozenCLIP) -> dict[str, Any]:
    """What a run's numbers depend on beyond the protocol: the backbone (weights by hash) and the world."""
    context: dict[str, Any] = {"backbone": backbone_identity(config.backbone, config.pretrained, backbone)}
    if "shapeworld" in [*protocol.datasets, *protocol.targets]:
        context["world"] = _jsonable({**WORLD_TASK, **config.world})
    return context


def run_experiment(config: ExperimentConfig, log: Callable[[str], None] = print) -> Path:
    """Validate, run the protocol and write the figures, ``results.md`` and ``results.json`` into ``out``.

    The main process holds ``out``'s lock throughout (see :mod:`causalvlm.training.output_lock`): a second
    experiment into the same folder stops at once, naming this one. A SIGTERM ends it like an exception, so
    the lock and any half-written temp file are removed. DDP worker processes, which run this function too,
    neither lock nor write.
    """
    protocol, specs = validate_experiment(config)
    main_process = rank_zero_only.rank == 0
    lock = OutputLock(config.out) if main_process else nullcontext()
    with sigterm_as_exit() if main_process else nullcontext(), lock:
        if main_process:
            _take_over(lock, config, log)
        prepare_world(config, protocol)
        backbone = backbones.load_backbone(config.backbone, config.pretrained)
        # Fig. 1a on the world: its test images against their full / class-only / single-factor descriptions.
        # Computed before training (it needs none), so a task without recorded factors fails before any work.
        on_world = "shapeworld" in protocol.datasets
        probe = probe_world_task(backbone, world_root(protocol)) if on_world else None
        protocol = replace(protocol, run_context=run_context(config, protocol, backbone))
        runner = ProtocolRunner(protocol, backbone, log=log)
        runner.prepare()  # every data and run-directory check, before anything is deleted or trained
        if config.overwrite and main_process:
            for path in clear_previous_outputs(config.out):
                log(f"--overwrite: removed {path}")
        output = runner.run()
        _write_report(config, protocol, specs, output, probe)
    return Path(config.out)


def _take_over(lock: OutputLock, config: ExperimentConfig, log: Callable[[str], None]) -> None:
    """Under the lock: refuse an earlier experiment's runs without resume/overwrite; drop stale temp files."""
    if lock.previous:
        log(
            f"note: {config.out} was left locked by {describe_holder(lock.previous)}, "
            "which is no longer running"
        )
    check_output_folder(config.out, config.resume, config.overwrite)
    for path in clean_output_folder(config.out):
        log(f"removed {path}, left by an interrupted write")


def _write_report(
    config: ExperimentConfig,
    protocol: ProtocolConfig,
    specs: list[MethodSpec],
    output: Any,
    probe: ProbeResult | None,
) -> None:
    payload = build_payload(
        protocol.protocol,
        output.collector,
        output.compute,
        {spec.label: spec.to_dict() for spec in specs},
        config=_jsonable(asdict(config)),
        targets=protocol.targets,
        delta_vs=config.delta_vs,
        probe=probe,
    )
    if rank_zero_only.rank == 0:  # under DDP every rank runs this function; one writes
        write_report(config.out, payload, output.evaluations, resolve_scm(config.scm), probe=probe)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


__all__ = [
    "METHODS",
    "ExperimentConfig",
    "build_experiment",
    "merge_settings",
    "run_experiment",
    "validate_experiment",
]
