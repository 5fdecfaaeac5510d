"""World datasets with their own class vocabularies: deterministic, the right classes, nuisances independent
of the class at test, registered in DATASETS, written under the keyed world folder and run end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from causalvlm.data import DATASETS
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.experiment import keyed_world, prepare_world, run_experiment, world_root
from causalvlm.worlds import VOCABULARIES, WORLD_CROSS_DOMAIN_TARGETS, WORLD_DATASETS, make_world_dataset
from causalvlm.worlds.factors import RENDER_STYLES, WorldOptions
from causalvlm.worlds.vocabularies import (
    CATEGORICAL,
    label_styles,
    sample_vocabulary_factors,
    vocabulary,
    vocabulary_parameters,
)

NAMES = list(VOCABULARIES)
SMALL = {"shots": 1, "n_train_per_class": 2, "n_val_per_class": 1, "n_test_per_class": 2}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_writes_the_same_files_and_another_seed_other_ones(name, tmp_path):
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    make_world_dataset(name, tmp_path / "a", seed=5, **SMALL)
    make_world_dataset(name, tmp_path / "b", seed=5, **SMALL)
    make_world_dataset(name, tmp_path / "c", seed=6, **SMALL)
    first, second = (_files(tmp_path / f / name) for f in ("a", "b"))
    assert first == second and any(k.endswith(".png") for k in first)
    other = json.loads((tmp_path / "c" / name / "factors.json").read_text())
    assert other != json.loads(first["factors.json"])


@pytest.mark.parametrize("name", NAMES)
def test_the_label_factors_make_the_class_and_every_class_is_there(name, tmp_path):
    vocab = vocabulary(name)
    assert (
        len(set(vocab.classes)) == len(vocab.classes) == len(vocab.classnames) == len(set(vocab.classnames))
    )
    splits = make_world_dataset(name, tmp_path, **SMALL)
    assert splits.num_classes == len(vocab.classes) and splits.classnames == list(vocab.classnames)
    assert splits.template == vocab.template and "{}" in vocab.template
    rows = json.loads((tmp_path / name / "factors.json").read_text())
    split = json.loads((tmp_path / name / vocab.split_file).read_text())
    for rel, label, classname in split["test"]:
        values = tuple(rows[rel][f] for f in vocab.label_factors)
        assert vocab.classes[label] == values and vocab.classnames[label] == classname
    assert Counter(label for _, label, _ in split["test"]) == {c: 2 for c in range(len(vocab.classes))}
    base = DATASETS.build(name, root=str(tmp_path), num_shots=1, subsample="base")
    assert base.classnames == list(vocab.classnames[: (len(vocab.classes) + 1) // 2])


def _dependent(labels: np.ndarray, values: np.ndarray) -> float:
    """The chi-square test's p-value for independence of ``values`` from ``labels``."""
    table = np.zeros((labels.max() + 1, values.max() + 1))
    np.add.at(table, (labels, values), 1)
    table = table[:, table.sum(0) > 0]
    return float(chi2_contingency(table)[1])


@pytest.mark.parametrize("name", NAMES)
def test_every_other_factor_is_independent_of_the_class_at_test(name):
    """On a test split of 120 images per class, no non-label factor's distribution depends on the class
    (chi-square p > 0.001 for each); the label factors themselves are caught by the same test."""
    vocab = vocabulary(name)
    labels = np.repeat(np.arange(len(vocab.classes)), 120)
    factors = sample_vocabulary_factors(np.random.default_rng([1, 19]), vocab, labels, vocab.options)
    for factor in CATEGORICAL:
        values = np.array([getattr(f, factor) for f in factors])
        p = _dependent(labels, values)
        if factor in vocab.label_factors:
            assert p < 1e-6, f"{name}: the label factor {factor} looks independent of the class"
        elif len(set(values)) > 1:
            assert p > 1e-3, f"{name}: {factor} depends on the class (chi-square p = {p:.2g})"


def test_the_independence_check_can_fail():
    labels = np.repeat(np.arange(4), 120)
    leaky = np.where(np.random.default_rng(0).random(len(labels)) < 0.3, labels, labels * 0)
    assert _dependent(labels, leaky) < 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_only_styles_that_draw_the_label_are_allowed(name):
    allowed = label_styles(vocabulary(name))
    assert vocabulary(name).options.style in allowed
    for style in RENDER_STYLES:
        if style in allowed:
            assert vocabulary_parameters(name, style=style)["world_options"]["style"] == style
        else:
            with pytest.raises(ValueError, match=f"does not draw {name}'s label"):
                vocabulary_parameters(name, style=style)


def test_each_dataset_draws_from_its_own_stream():
    options = WorldOptions()
    draws = [
        sample_vocabulary_factors(np.random.default_rng([1, 19, v.stream]), v, np.zeros(3, int), options)
        for v in VOCABULARIES.values()
    ]
    assert len({v.stream for v in VOCABULARIES.values()}) == len(VOCABULARIES)
    assert len({tuple(f.noise_seed for f in d) for d in draws}) == len(draws)


def test_registered_and_made_under_the_keyed_world_folder(tmp_path):
    assert set(WORLD_DATASETS) == {"shapeworld", *WORLD_CROSS_DOMAIN_TARGETS, *NAMES}
    assert set(NAMES) <= set(DATASETS.names())
    config = ExperimentConfig(
        data_root=str(tmp_path), shots=1, datasets=["shapeworld", "colourworld", "layoutworld"],
        world={"n_test_per_class": 1, "n_train_per_class": 1, "n_val_per_class": 0},
    )  # fmt: skip
    protocol = keyed_world(config)
    roots = {n: Path(world_root(protocol, n)) for n in protocol.datasets}
    assert len(set(roots.values())) == 3 and all(r.parent == tmp_path / "worlds" for r in roots.values())
    prepare_world(config, protocol)
    for name in ("colourworld", "layoutworld"):
        task = json.loads((roots[name] / name / "task.json").read_text())
        assert task["dataset"] == name and task["n_test_per_class"] == 1
        splits = DATASETS.build(name, root=str(roots[name]), num_shots=1, seed=1)
        assert len(splits.test) == len(VOCABULARIES[name].classes)
    with pytest.raises(FileNotFoundError, match="no iconworld dataset"):
        DATASETS.build("iconworld", root=str(tmp_path))


def test_a_base_to_new_run_on_a_world_dataset_end_to_end(tmp_path):
    """colourworld with the shipped tiny CLIP, zero-shot and CoOp for two epochs: the report has the dataset's
    base and new rows and its headroom."""
    config = ExperimentConfig(
        datasets=["colourworld"], data_root=str(tmp_path / "data"), out=str(tmp_path / "out"), shots=2,
        seeds=[1], methods=["zeroshot", {"method": "coop", "aug": "none"}], compute_templates=[1],
        world={"n_test_per_class": 3, "n_train_per_class": 2, "n_val_per_class": 1}, threads=1,
        train={"max_epochs": 2, "batch_size": 8, "view_bank": 0, "val_every_n_epochs": 1},
    )  # fmt: skip
    out = run_experiment(config, log=lambda message: None)
    payload = json.loads((out / "results.json").read_text())
    for method in ("zeroshot", "coop"):
        cell = payload["results"][method]["colourworld"]
        assert all(0.0 <= cell[half]["mean"] <= 100.0 for half in ("base", "new"))
    assert set(payload["headroom"]["colourworld"]) >= {"base", "new"}
    assert "### colourworld" in (out / "results.md").read_text()
    task = json.loads(next((tmp_path / "data" / "worlds").glob("*/colourworld/task.json")).read_text())
    assert task["n_test_per_class"] == 3 and task["world_options"]["style"] == "outline"
