"""A finished run, loaded back: its :class:`FrontDoorClassifier` with the trained prompts, and its data.

    from causalvlm import load_run
    classifier = load_run("outputs/cdc/runs/cdc/shapeworld/seed1")           # backbone from the record
    classifier = load_run(run_dir, backbone=load_backbone("ViT-B-16", "openai"))  # or one you loaded

A run directory (:mod:`causalvlm.runs.run_dirs`) holds ``config.json`` — the run's fingerprinted
configuration (method, dataset, seed, backbone identity, ...) plus a ``classifier`` record of what rebuilding
it takes and the fingerprint leaves out (training class names, template, backbone arguments, data root) — and
``checkpoints/last.ckpt``, whose state dict keeps the prompts only (the frozen CLIP is stripped). Loading
builds the method's classifier over the backbone and puts the prompts back; a backbone loaded from the
record must have the identity the run recorded (the weights' content hash), so prompts never meet other
weights silently. :func:`evaluate_saved` scores a loaded run on a labelled set the way the run's own test
did (same test views, same batching), so it reproduces the run's reported predictions exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from causalvlm.backbones import FrozenCLIP, load_backbone
from causalvlm.classifier import FrontDoorClassifier
from causalvlm.data import Datum
from causalvlm.evaluation.features import FeatureCache
from causalvlm.evaluation.metrics import EvalResult, evaluate_batches, evaluate_features
from causalvlm.experiments.method_parts import (
    TEST_VIEW_SEED,
    build_classifier,
    build_test_transform,
    frozen_test_features,
)
from causalvlm.experiments.method_specs import MethodSpec
from causalvlm.runs.checkpoints import read_checkpoint
from causalvlm.runs.run_dirs import CLASSIFIER_KEY, CONFIG_NAME, RunDirectory
from causalvlm.runs.run_identity import backbone_identity, differences
from causalvlm.training.datamodule import SeededViewsDataset

STATE_PREFIX = "classifier."  # the PromptTuningModule's name for the classifier in its state dict


@dataclass
class SavedRun:
    """A loaded run: the classifier (prompts restored, eval mode), its method and the run's records."""

    path: Path
    classifier: FrontDoorClassifier
    spec: MethodSpec
    config: dict[str, Any]  # config.json's fingerprinted run configuration
    record: dict[str, Any]  # config.json's classifier record (classnames, template, backbone, data root, ...)

    @property
    def backbone(self) -> FrozenCLIP:
        return self.classifier.backbone


def read_run_records(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(run configuration, classifier record) of a run directory; a folder that is not one is named."""
    directory = RunDirectory(Path(run_dir).expanduser())
    if not directory.path.is_dir():
        raise FileNotFoundError(f"run directory not found: {directory.path}")
    stored = directory.stored_config()
    if stored is None:
        raise ValueError(
            f"{directory.path} is not a run directory: it has no {CONFIG_NAME} (a run directory is "
            "<out>/runs/<method>/<dataset>/seed<k>)"
        )
    record = stored.get(CLASSIFIER_KEY)
    if not isinstance(record, dict) or "classnames" not in record:
        raise ValueError(
            f"{directory.config_path} has no classifier record (written by an older causalvlm), so its "
            "classifier cannot be rebuilt; train the run again with this version"
        )
    if not directory.checkpoint_path.is_file():
        raise FileNotFoundError(
            f"{directory.path} has no trained prompts: {directory.checkpoint_path} is missing (the run "
            "stopped before its first epoch ended)"
        )
    return stored["config"], record


# (arch, pretrained) → the loaded backbone and its identity, shared by the runs that record the same one
LoadedBackbones = dict[tuple[str, str | None], tuple[FrozenCLIP, dict[str, Any]]]


def open_run(
    run_dir: str | Path, backbone: FrozenCLIP | None = None, loaded: LoadedBackbones | None = None
) -> SavedRun:
    """Rebuild a finished run's classifier with its trained prompts; see the module docstring.

    ``backbone`` None loads the recorded one and checks it is the one the run trained on; a given backbone is
    used as it is (the caller vouches for it: the same architecture and weights). ``loaded`` keeps each
    recorded backbone once loaded, for the next run that records the same (arch, pretrained): opening many
    runs loads each backbone once, and each run is still checked against it.
    """
    path = Path(run_dir).expanduser()
    config, record = read_run_records(path)
    spec = spec_from_dict(config["method"])
    if backbone is None:
        backbone = _recorded_backbone(path, config, record, {} if loaded is None else loaded)
    classifier = build_classifier(spec, backbone, record["classnames"], record["template"], scm=config["scm"])
    state = read_checkpoint(RunDirectory(path).checkpoint_path)["state_dict"]
    prompts = {k.removeprefix(STATE_PREFIX): v for k, v in state.items() if k.startswith(STATE_PREFIX)}
    missing, unexpected = classifier.load_state_dict(prompts, strict=False)
    missing = [key for key in missing if not key.startswith("backbone.")]
    if missing or unexpected:
        raise ValueError(
            f"the checkpoint of {path} does not fit its method {spec.label!r}: missing {missing}, "
            f"unexpected {unexpected}"
        )
    classifier.eval()
    return SavedRun(path, classifier, spec, config, record)


def _recorded_backbone(
    path: Path, config: Mapping[str, Any], record: Mapping[str, Any], loaded: LoadedBackbones
) -> FrozenCLIP:
    """The backbone the run recorded (from ``loaded`` when there), checked to be the one it trained on."""
    key = (record["backbone"], record["pretrained"])
    if key not in loaded:
        fresh = load_backbone(*key)
        loaded[key] = (fresh, backbone_identity(*key, fresh))
    backbone, found = loaded[key]
    if found != config.get("backbone", found):
        raise ValueError(
            f"the backbone of {path} is not the one it was trained with (then → now):\n  "
            + "\n  ".join(differences(config["backbone"], found))
            + "\npass the right one as backbone=..."
        )
    return backbone


def load_run(run_dir: str | Path, backbone: FrozenCLIP | None = None) -> FrontDoorClassifier:
    """The trained :class:`FrontDoorClassifier` of a run directory (prompts restored, eval mode)."""
    return open_run(run_dir, backbone).classifier


def spec_from_dict(entry: Mapping[str, Any]) -> MethodSpec:
    """The MethodSpec a run recorded (``MethodSpec.identity``); keys this version lacks are refused."""
    return MethodSpec.from_identity(entry)


def evaluate_saved(
    saved: SavedRun,
    data: Sequence[Datum],
    classnames: Sequence[str],
    cache: FeatureCache | None = None,
    num_workers: int = 0,
) -> EvalResult:
    """Score a loaded run on ``data`` (labelled by ``classnames``) with the run's test views and batching.

    Frozen features are encoded once (``cache``) when the classifier may use them, as the run's test did;
    otherwise the images go through the classifier, views drawn with the run's fixed test-view seed.
    """
    spec, classifier, backbone = saved.spec, saved.classifier, saved.backbone
    batch_size = int(saved.record.get("eval_batch_size", 256))
    if classifier.caches_image_features:
        cache = cache or FeatureCache(backbone, batch_size=batch_size, num_workers=num_workers)
        features, labels = frozen_test_features(spec, cache, data)
        return evaluate_features(classifier, features, labels, classnames)
    views = SeededViewsDataset(data, build_test_transform(spec, backbone), seed=TEST_VIEW_SEED)
    loader = DataLoader(views, batch_size=batch_size, num_workers=num_workers)
    return evaluate_batches(classifier, ((b["images"], b["labels"]) for b in loader), classnames)


__all__ = [
    "LoadedBackbones",
    "SavedRun",
    "evaluate_saved",
    "load_run",
    "open_run",
    "read_run_records",
    "spec_from_dict",
]
