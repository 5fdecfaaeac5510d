"""The paper's evaluation protocols as loops over methods × datasets × seeds.

* ``base2new`` — train on the base half of each dataset's classes (few-shot), test on base and on the unseen
  new half (the mediator switches class names); report Base, New, HM (Table 1).
* ``cross-dataset`` — train on the source dataset (all classes), test on each target dataset (Table 2).
* ``cross-domain`` — train on ImageNet, test on its shifted versions with the same classes (Table 3).

Everything is prepared and validated first (options, dataset roots, split files, images, and every run
directory with its checkpoint when ``runs_dir`` is set), so a bad input or a resume under other settings fails
before any training. Test-set image features are encoded once per test-view
policy and shared by all methods and seeds that use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from causalvlm.backbones import FrozenCLIP, load_backbone
from causalvlm.classifier import FrontDoorClassifier
from causalvlm.data import DATASETS, DatasetSplits, validate_images
from causalvlm.evaluation.features import FeatureCache, encode_images
from causalvlm.evaluation.metrics import EvalResult, base2new_row, evaluate_batches, evaluate_features
from causalvlm.evaluation.results import ResultsCollector
from causalvlm.experiments.compute_report import compute_report
from causalvlm.experiments.config import (
    CROSS_DATASET_TARGETS,
    CROSS_DOMAIN_TARGETS,
    PROTOCOLS,
    ExperimentConfig,
)
from causalvlm.experiments.method_parts import (
    TEST_VIEW_SEED,
    build_classifier,
    build_test_transform,
    build_view_transform,
    callbacks_for,
    frozen_test_features,
    uses_cached_features,
)
from causalvlm.experiments.method_specs import MethodSpec, train_config_for
from causalvlm.experiments.run_records import classifier_record_of, jsonable, run_folder, run_record, slug
from causalvlm.runs.run_dirs import RunDirectory
from causalvlm.runs.run_identity import weights_sha256
from causalvlm.training.datamodule import FeatureDataset, PromptDataModule, SeededViewsDataset
from causalvlm.training.settings import TrainConfig
from causalvlm.training.trainer import fit, global_rank
from causalvlm.training.view_bank import ViewBank, ViewBankDataset


@dataclass
class ProtocolOutput:
    """The collected results plus what the plots need (kept in memory, first seed only)."""

    collector: ResultsCollector
    evaluations: dict[str, dict[str, EvalResult]]  # label → "<dataset>/<set>" → first-seed EvalResult
    compute: list[dict[str, Any]]


class ProtocolRunner:
    """Runs an :class:`ExperimentConfig` on a backbone; ``prepare()`` checks, ``run()`` trains and tests.

    ``run_context`` holds what a run's numbers depend on beyond the config (the backbone's identity, the
    world's parameters); it is recorded with each run and checked on resume.
    """

    def __init__(
        self,
        config: ExperimentConfig,
        backbone: FrozenCLIP,
        log: Callable[[str], None] = print,
        run_context: Mapping[str, Any] | None = None,
    ) -> None:
        self.config, self.backbone, self.log = config, backbone, log
        self._given_context = dict(run_context or {})
        self.features = FeatureCache(backbone, batch_size=config.train.eval_batch_size)
        draws = config.train.view_bank
        self.view_bank = ViewBank(backbone, draws, config.train.eval_batch_size) if draws else None
        self._splits: dict[tuple[str, str, int], DatasetSplits] = {}
        self._fit_rates: dict[str, float | None] = {}  # images/s of the first real fit of each method
        self._prepared = False
        # (label, dataset, seed) → (run config, checkpoint to resume from or None), decided in prepare()
        self._plans: dict[tuple[str, str, int], tuple[dict[str, Any], Path | None]] = {}
        self._context: dict[str, Any] | None = None

    # ------------------------------------------------------------------ data
    def _root(self, name: str) -> str:
        """The root a dataset is read from: its own ``root`` option, else ``data_root``."""
        return os.path.expanduser(
            str(self.config.dataset_options.get(name, {}).get("root", self.config.data_root))
        )

    def splits(self, name: str, subsample: str, seed: int) -> DatasetSplits:
        """The splits a run of ``seed`` on dataset ``name`` trains and tests on (built once, then cached)."""
        return self._build(name, subsample, seed)

    def _build(self, name: str, subsample: str, seed: int) -> DatasetSplits:
        key = (name, subsample, seed)
        if key not in self._splits:
            options = dict(self.config.dataset_options.get(name, {}))
            options.pop("root", None)
            root = self._root(name)
            self._splits[key] = DATASETS.build(
                name,
                root=root,
                num_shots=self.config.shots,
                seed=seed,
                subsample=subsample,
                **options,
            )
        return self._splits[key]

    def _run_sets(self, dataset: str, seed: int) -> tuple[DatasetSplits, dict[str, DatasetSplits]]:
        """The training splits of one run and its named evaluation sets."""
        if self.config.protocol == "base2new":
            base, new = self._build(dataset, "base", seed), self._build(dataset, "new", seed)
            return base, {"base": base, "new": new}
        source = self._build(dataset, "all", seed)
        targets = {t: self._build(t, "all", self.config.seeds[0]) for t in self.config.resolved_targets()}
        return source, {dataset: source, **targets}

    def prepare(self) -> None:
        """Build every split for every seed, decode a spread of images and decide every run's start (fresh or
        resumed, after checking its directory and checkpoint); raise before any training. Runs once."""
        if self._prepared:
            return
        self._check_data()
        self._plan_runs()
        self._prepared = True

    def _check_data(self) -> None:
        cfg = self.config
        subsamples = ("base", "new") if cfg.protocol == "base2new" else ("all",)
        for name in cfg.datasets:
            for seed in cfg.seeds:
                for subsample in subsamples:
                    splits = self._build(name, subsample, seed)
                    if subsample != "new":  # few-shot training sets differ per seed: check each
                        if not splits.train_x:
                            raise ValueError(f"dataset {name!r} has no training images under {cfg.data_root}")
                        validate_images(splits.train_x, max_check=cfg.max_image_checks)
                    if not splits.test:
                        raise ValueError(
                            f"dataset {name!r} ({subsample}) has no test images under {cfg.data_root}"
                        )
                    if seed == cfg.seeds[0]:  # test sets do not depend on the seed
                        validate_images(splits.test, max_check=cfg.max_image_checks)
        for name in cfg.resolved_targets():
            target = self._build(name, "all", cfg.seeds[0])
            if not target.test:
                raise ValueError(f"target dataset {name!r} has no test images under {cfg.data_root}")
            validate_images(target.test, max_check=cfg.max_image_checks)

    # ------------------------------------------------------------------ run directories and resume
    def _run_dir(self, spec: MethodSpec, dataset: str, seed: int) -> Path | None:
        return run_folder(self.config, spec, dataset, seed)

    def run_context(self) -> dict[str, Any]:
        """The given ``run_context``, with the loaded weights' hash as the backbone when it names none."""
        if self._context is None:
            context = jsonable(self._given_context)
            if "backbone" not in context:
                context["backbone"] = {"weights_sha256": weights_sha256(self.backbone)}
            self._context = context
        return self._context

    def run_config(
        self, spec: MethodSpec, dataset: str, seed: int, train: DatasetSplits, evals: dict[str, DatasetSplits]
    ) -> dict[str, Any]:
        """Everything that changes this run's numbers, as plain JSON (experiments/run_records.py)."""
        return run_record(self.config, spec, dataset, seed, train, evals, self._root, self.run_context())

    def _plan_runs(self) -> None:
        """Check every training run's directory against its configuration now, before the first fit."""
        cfg = self.config
        if cfg.runs_dir is None:
            return
        for spec in cfg.methods:
            if not spec.trains:
                continue
            for dataset in cfg.datasets:
                for seed in cfg.seeds:
                    self._plan(spec, dataset, seed, *self._run_sets(dataset, seed))

    def _plan(
        self, spec: MethodSpec, dataset: str, seed: int, train: DatasetSplits, evals: dict[str, DatasetSplits]
    ) -> tuple[dict[str, Any], Path | None]:
        """(run config, checkpoint to resume from or None) of one run; raises if its directory forbids it."""
        key = (spec.label, dataset, seed)
        if key not in self._plans:
            cfg = self.config
            run_config = self.run_config(spec, dataset, seed, train, evals)
            folder = self._run_dir(spec, dataset, seed)
            assert folder is not None  # planned only when the experiment keeps run folders
            directory = RunDirectory(folder)
            if global_rank() == 0:
                start = directory.plan(
                    run_config, train_config_for(spec, cfg.train).max_epochs, cfg.resume, cfg.overwrite
                )
            else:  # DDP workers follow the main process, which has checked (and may be writing) the folder
                last = directory.checkpoint_path
                start = last if cfg.resume and last.is_file() else None
            self._plans[key] = (run_config, start)
        return self._plans[key]

    # ------------------------------------------------------------------ one (method, dataset, seed)

    def _train_config(self, spec: MethodSpec, run_dir: Path | None) -> TrainConfig:
        """The run's training settings with the method's own recipe, and this run's folders."""
        train = train_config_for(spec, self.config.train)
        if run_dir is None:
            return train
        return TrainConfig(
            **{
                **train.__dict__,
                "checkpoint_dir": str(run_dir / "checkpoints"),
                "log_dir": str(run_dir / "logs"),
            }
        )

    def _classifier_record(self, dataset: str, train: DatasetSplits) -> dict[str, Any]:
        """What rebuilding this run's classifier from its folder takes (experiments/saved_run.py)."""
        return classifier_record_of(self.config, dataset, train, self._root(dataset))

    def _test_features(self, spec: MethodSpec, data: Sequence) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen features of test images under the spec's test-view policy (methods.TEST_VIEW_POLICIES)."""
        return frozen_test_features(spec, self.features, data)

    def _eval_set(self, spec: MethodSpec, classifier: FrontDoorClassifier, data: Sequence) -> Dataset:
        """Test images under the spec's view policy: cached frozen features when the classifier may use them,
        else the images themselves (a mediator with a trainable image side encodes them on every pass)."""
        if classifier.caches_image_features:
            return FeatureDataset(*self._test_features(spec, data))
        return SeededViewsDataset(data, build_test_transform(spec, self.backbone), seed=TEST_VIEW_SEED)

    def _evaluate_on(
        self, classifier: FrontDoorClassifier, dataset: Dataset, classnames: Sequence[str]
    ) -> EvalResult:
        if isinstance(dataset, FeatureDataset):
            return evaluate_features(classifier, dataset.features, dataset.labels, classnames)
        train = self.config.train
        loader = DataLoader(dataset, batch_size=train.eval_batch_size, num_workers=train.num_workers)
        return evaluate_batches(classifier, ((b["images"], b["labels"]) for b in loader), classnames)

    def _train_set(
        self, spec: MethodSpec, classifier: FrontDoorClassifier, splits: DatasetSplits, seed: int
    ) -> Dataset:
        if uses_cached_features(spec) and classifier.caches_image_features:
            features, labels = self.features.get(splits.train_x)
            return FeatureDataset(features, labels)
        transform = build_view_transform(spec, self.backbone)
        # A bank of encoded views needs image features that no learned parameter touches.
        if self.view_bank is not None and not getattr(classifier.mediator, "image_side_trainable", False):
            views = 1 if spec.shared_view else spec.templates
            features = self.view_bank.get(splits.train_x, transform, key=(spec.augmentation, views))
            labels = torch.tensor([d.label for d in splits.train_x])
            return ViewBankDataset(features, labels, seed=seed)
        return SeededViewsDataset(splits.train_x, transform, seed=seed)

    def train_and_evaluate(
        self,
        spec: MethodSpec,
        train_splits: DatasetSplits,
        eval_sets: dict[str, DatasetSplits],
        seed: int,
        dataset: str,
    ) -> tuple[dict[str, EvalResult], list[dict[str, float]]]:
        """Seed, build, (train,) evaluate on each named set; returns the results and per-epoch history."""
        pl.seed_everything(seed, workers=True, verbose=False)
        classifier = build_classifier(
            spec, self.backbone, train_splits.classnames, train_splits.template, scm=self.config.scm
        )
        # The per-epoch history (the paper's Fig. 1b) reads each set's validation split, never its test split;
        # a set without validation images has no curve.
        val_data = {name: self._eval_set(spec, classifier, s.val) for name, s in eval_sets.items() if s.val}
        initial = {
            f"{name}_acc": self._evaluate_on(classifier, val_data[name], eval_sets[name].classnames).accuracy
            for name in val_data
        }
        history = [{"epoch": 0.0, **initial}] if initial else []
        if spec.trains:
            run_dir = self._run_dir(spec, dataset, seed)
            train_cfg = self._train_config(spec, run_dir)
            datamodule = PromptDataModule(
                self._train_set(spec, classifier, train_splits, seed),
                val_data,
                batch_size=train_cfg.batch_size,
                eval_batch_size=train_cfg.eval_batch_size,
                num_workers=train_cfg.num_workers,
                seed=seed,
            )
            run_config, ckpt = None, None
            if run_dir is not None:
                run_config, ckpt = self._plan(spec, dataset, seed, train_splits, eval_sets)
                if global_rank() == 0:
                    record = self._classifier_record(dataset, train_splits)
                    RunDirectory(run_dir).start(run_config, ckpt, record)
            if ckpt is not None:
                self.log(f"  resuming from {ckpt}")
            module, trainer = fit(
                classifier,
                datamodule,
                train_cfg,
                eval_classnames={name: eval_sets[name].classnames for name in val_data},
                callbacks=callbacks_for(spec),
                ckpt_path=ckpt,
                run_name=f"{slug(spec.label)}-{slug(dataset)}-seed{seed}",
                run_config=run_config,
            )
            classifier = module.classifier
            history += module.history
            self._fit_rates.setdefault(spec.label, module.train_images_per_s)
        # The test splits are read once, by the final model.
        eval_data = {name: self._eval_set(spec, classifier, s.test) for name, s in eval_sets.items()}
        results = {
            name: self._evaluate(spec, classifier, train_splits, eval_sets[name], eval_data[name])
            for name in eval_sets
        }
        return results, history

    def _evaluate(
        self,
        spec: MethodSpec,
        classifier: Any,
        train_splits: DatasetSplits,
        eval_splits: DatasetSplits,
        data: Dataset,
    ) -> EvalResult:
        # Zero-shot CLIP reads each dataset with that dataset's own hand-crafted template.
        if not spec.trains and eval_splits.template != train_splits.template:
            classifier = build_classifier(
                spec, self.backbone, eval_splits.classnames, eval_splits.template, scm=self.config.scm
            )
        return self._evaluate_on(classifier, data, eval_splits.classnames)

    # ------------------------------------------------------------------ protocols
    def run(self) -> ProtocolOutput:
        cfg = self.config
        self.prepare()
        collector = ResultsCollector(cfg.protocol)
        evaluations: dict[str, dict[str, EvalResult]] = {}
        for spec in cfg.methods:
            for dataset in cfg.datasets:
                for seed in cfg.seeds:
                    self.log(f"[{cfg.protocol}] {spec.label} on {dataset}, seed {seed}")
                    train, evals = self._run_sets(dataset, seed)
                    results, history = self.train_and_evaluate(spec, train, evals, seed, dataset)
                    if cfg.protocol == "base2new":
                        rows = {dataset: base2new_row(results["base"], results["new"])}
                        sets = {f"{dataset}/base": results["base"], f"{dataset}/new": results["new"]}
                    else:
                        rows = {name: result.summary() for name, result in results.items()}
                        sets = dict(results)
                    for name, metrics in rows.items():
                        collector.add(spec.label, name, seed, metrics)
                    collector.add_history(spec.label, dataset, history)
                    for name, result in sets.items():
                        evaluations.setdefault(spec.label, {}).setdefault(name, result)
        return ProtocolOutput(collector, evaluations, self.compute_report())

    # ------------------------------------------------------------------ compute report
    def compute_report(self) -> list[dict[str, Any]]:
        """Trainable parameters and images/s of each method (experiments/compute_report.py)."""
        cfg = self.config
        splits = self._build(cfg.datasets[0], "base" if cfg.protocol == "base2new" else "all", cfg.seeds[0])
        return compute_report(cfg, self.backbone, splits, self._fit_rates)


__all__ = [
    "CROSS_DATASET_TARGETS",
    "CROSS_DOMAIN_TARGETS",
    "PROTOCOLS",
    "ProtocolOutput",
    "ProtocolRunner",
    "encode_images",
    "load_backbone",
]
