"""One experiment from options or a YAML file: validate, load the backbone, run a protocol, write the report.

This is the library side of ``examples/cdc/run.py``: the driver only parses the command line into a dict of
overrides. Settings are layered: :class:`ExperimentConfig` defaults < YAML file < command-line options
(:func:`build_experiment`, in :mod:`causalvlm.experiments.config`).
With no options the experiment is the generated ShapeWorld task with the tiny CLIP pre-trained on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import torch

import causalvlm.worlds as worlds  # registers the "shapeworld" dataset
from causalvlm.backbones import FrozenCLIP, load_backbone
from causalvlm.classifier import resolve_scm
from causalvlm.config_model import ConfigError, SettingsModel
from causalvlm.data import DATASETS
from causalvlm.evaluation.headroom import task_headroom
from causalvlm.evaluation.probe import ProbeResult, probe_world_task
from causalvlm.evaluation.report import build_payload, write_report
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.layers import build_experiment, load_yaml, merge_settings
from causalvlm.experiments.method_parts import build_classifier
from causalvlm.experiments.method_specs import METHODS, MethodSpec
from causalvlm.experiments.preflight import check_backbone_options, preflight
from causalvlm.experiments.protocols import ProtocolRunner
from causalvlm.runs.output_lock import (
    OutputLock,
    check_output_folder,
    clean_output_folder,
    clear_previous_outputs,
    describe_holder,
    remove_report_files,
    sigterm_as_exit,
)
from causalvlm.runs.run_identity import backbone_identity
from causalvlm.templates import DEFAULT_TEMPLATE
from causalvlm.training.trainer import global_rank
from causalvlm.worlds.task import DATASET_DIRNAME as WORLD_DIRNAME
from causalvlm.worlds.task_files import read_task_json


def validate_experiment(config: ExperimentConfig) -> tuple[ExperimentConfig, list[MethodSpec]]:
    """Check what the config points at (folders, files, weights, devices) before anything is loaded.

    The config's own values were checked when it was built (:class:`ExperimentConfig`). Returns the config
    the protocol runs (with ``make_world``, the world's root is its keyed folder, :func:`keyed_world`) and
    the method specs.
    """
    preflight(config)
    protocol = keyed_world(config)
    return protocol, protocol.method_specs()


def keyed_world(config: ExperimentConfig) -> ExperimentConfig:
    """With ``make_world``, the config with the world read from (and written to) the folder keyed by its
    parameters under its root (``<data_root>/worlds/<key>``): runs with other world options never share
    its files. Without it, the world is read where it is (``<data_root>/shapeworld``)."""
    used = [*config.datasets, *(config.targets or [])]
    if not config.make_world or not any(name in worlds.WORLD_DATASETS for name in used):
        return config
    dataset_options = dict(config.dataset_options)
    for name in dict.fromkeys(n for n in used if n in worlds.WORLD_DATASETS):
        options = dict(config.dataset_options.get(name, {}))
        base = options.get("root", config.data_root)
        if name == "shapeworld":
            root = worlds.world_root(base, shots=config.shots, seed=1, **config.world)
        else:
            root = worlds.vocabulary_root(base, name, **vocabulary_task(config))
        dataset_options[name] = {**options, "root": str(root)}
    return config.replaced(dataset_options=dataset_options)


def vocabulary_task(config: ExperimentConfig) -> dict[str, Any]:
    """The arguments of ``make_world_dataset`` for a world dataset with its own vocabulary (colourworld,
    ...): its pool sizes are the ``world`` settings' (n_train/val/test_per_class); its drawing is its own
    (chosen on validation, vocabularies.py), and the other ``world`` settings are ShapeWorld's only."""
    world = dict(config.world)
    pools = {k: world[k] for k in VOCABULARY_POOLS if world.get(k) is not None}
    return {"shots": config.shots, "seed": 1, **pools}


VOCABULARY_POOLS = ("n_train_per_class", "n_val_per_class", "n_test_per_class")


def check_methods_build(specs: list[MethodSpec], backbone: FrozenCLIP) -> None:
    """Build every method's classifier once on ``backbone`` (placeholder classes, RNG state kept), so an
    option only the built mediator can judge (CoCoOp's ``n_ctx``, MaPLe's ``depth`` against the towers'
    layers) fails before the first run, not after earlier methods have trained and written theirs."""
    with torch.random.fork_rng(devices=[]):
        for index, spec in enumerate(specs):
            try:
                build_classifier(spec, backbone, PLACEHOLDER_CLASSES, DEFAULT_TEMPLATE)
            except (ValueError, TypeError, KeyError) as error:
                message = error.args[0] if error.args else str(error)
                raise ConfigError(f"methods[{index}]", f"{spec.label}: {message}") from None


PLACEHOLDER_CLASSES = ["first class", "second class"]


def prepare_world(config: ExperimentConfig, protocol: ExperimentConfig) -> dict[str, Any] | None:
    """Write the ShapeWorld task under data_root when the experiment uses it; return its ``task.json``.

    With ``make_world`` the task is (re)written unless one made with the same parameters is there, so a
    changed world option never meets a stale world; without it an existing task is read as it is.
    """
    used = [*protocol.datasets, *protocol.resolved_targets()]
    for name in dict.fromkeys(n for n in used if n in worlds.VOCABULARIES):
        root = world_root(protocol, name)
        if config.make_world:
            Path(root).mkdir(parents=True, exist_ok=True)
            worlds.make_world_dataset(name, root, **vocabulary_task(config))
        else:
            DATASETS.build(name, root=root, num_shots=protocol.shots, seed=1)
    if "shapeworld" not in used:
        return None
    root = world_root(protocol)
    if config.make_world:
        Path(root).mkdir(parents=True, exist_ok=True)
        worlds.make_task(root, shots=protocol.shots, seed=1, **config.world)
    else:
        DATASETS.build("shapeworld", root=root, num_shots=protocol.shots, seed=1)
    folder = Path(root) / WORLD_DIRNAME
    if not (folder / "task.json").exists():
        return None
    return {k: v for k, v in read_task_json(folder).items() if k != "classnames"}


def world_root(protocol: ExperimentConfig, name: str = "shapeworld") -> str:
    """The folder that holds (or will hold) world dataset ``name`` of this run (default: ShapeWorld)."""
    return os.path.expanduser(str(protocol.dataset_options.get(name, {}).get("root", protocol.data_root)))


def run_context(
    config: ExperimentConfig,
    protocol: ExperimentConfig,
    backbone: FrozenCLIP,
    world: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a run's numbers depend on beyond the protocol: the backbone (weights by hash) and the world.

    ``world`` is the task's ``task.json`` (world options and pool included) when there is one.
    """
    context: dict[str, Any] = {"backbone": backbone_identity(config.backbone, config.pretrained, backbone)}
    used = [*protocol.datasets, *protocol.resolved_targets()]
    if "shapeworld" in used:
        context["world"] = _jsonable(world if world is not None else config.world)
    vocabularies = [n for n in dict.fromkeys(used) if n in worlds.VOCABULARIES]
    if vocabularies:  # what their images were drawn with: a changed drawing or pool never resumes a run
        task = vocabulary_task(config)
        context["world_datasets"] = {n: worlds.vocabulary_parameters(n, **task) for n in vocabularies}
    return context


def run_experiment(config: ExperimentConfig, log: Callable[[str], None] = print) -> Path:
    """Validate, run the protocol and write the figures, ``results.md`` and ``results.json`` into ``out``.

    The main process holds ``out``'s lock throughout (see :mod:`causalvlm.runs.output_lock`): a second
    experiment into the same folder stops at once, naming this one. A SIGTERM ends it like an exception, so
    the lock and any half-written temp file are removed. DDP worker processes, which run this function too,
    neither lock nor write.
    """
    protocol, specs = validate_experiment(config)
    main_process = global_rank() == 0
    lock = OutputLock(config.out) if main_process else None
    with sigterm_as_exit() if main_process else nullcontext(), lock or nullcontext():
        if lock is not None:
            _take_over(lock, config, log)
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        backbone = load_backbone(config.backbone, config.pretrained)
        check_methods_build(specs, backbone)  # every method's options, before the world or a run is made
        world = prepare_world(config, protocol)
        context = run_context(config, protocol, backbone, world)
        runner = ProtocolRunner(protocol, backbone, log=log, run_context=context)
        runner.prepare()  # every data and run-directory check, before anything is deleted or trained
        # Fig. 1a on the world: its test images against their full / class-only / single-factor descriptions.
        # Computed before training (it needs none), so a task without recorded factors fails before any work;
        # after prepare(), whose image checks name a missing or damaged image file.
        on_world = "shapeworld" in protocol.datasets
        probe = probe_world_task(backbone, world_root(protocol)) if on_world else None
        if config.overwrite and main_process:
            for path in clear_previous_outputs(config.out):
                log(f"--overwrite: removed {path}")
        headroom = run_headroom(protocol, runner)
        output = runner.run()
        _write_report(config, protocol, specs, output, probe, world, headroom)
    return Path(config.out)


def run_headroom(protocol: ExperimentConfig, runner: ProtocolRunner) -> dict[str, dict[str, Any]]:
    """Base-to-new: per dataset, the frozen features' K-shot linear-probe and zero-shot accuracies on the
    run's test images (evaluation/headroom.py), the headroom a prompt learner has on the task."""
    if protocol.protocol != "base2new":
        return {}
    return {
        name: task_headroom(
            runner.backbone,
            partial(runner.splits, name),
            protocol.seeds,
            protocol.shots,
            runner.features,
        ).summary()
        for name in protocol.datasets
    }


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
    protocol: ExperimentConfig,
    specs: list[MethodSpec],
    output: Any,
    probe: ProbeResult | None,
    world: Mapping[str, Any] | None = None,
    headroom: Mapping[str, Any] | None = None,
) -> None:
    payload = build_payload(
        protocol.protocol,
        output.collector,
        output.compute,
        {spec.label: spec.to_dict() for spec in specs},
        config=_jsonable(config.current()),
        targets=protocol.resolved_targets(),
        delta_vs=config.delta_vs,
        probe=probe,
    )
    if world is not None:  # the generated world's task.json and folder: which world the numbers come from
        payload["world"] = _jsonable(world)
        payload["world_folder"] = str(Path(world_root(protocol)) / WORLD_DIRNAME)
    payload["headroom"] = _jsonable(headroom or {})
    if global_rank() == 0:  # under DDP every rank runs this function; one writes
        remove_report_files(config.out)  # a resumed experiment's report replaces the earlier one whole
        write_report(config.out, payload, output.evaluations, resolve_scm(config.scm), probe=probe)


def _jsonable(value: Any) -> Any:
    if isinstance(value, SettingsModel):
        value = value.settings()
    if isinstance(value, MethodSpec):
        value = asdict(value)
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
    "check_backbone_options",
    "load_yaml",
    "merge_settings",
    "run_experiment",
    "validate_experiment",
]
