"""The cross-domain targets of the world: deterministic, the source's classes, each shifts its factor."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from causalvlm.data import DATASETS
from causalvlm.worlds import WORLD_CROSS_DOMAIN_TARGETS, load_factors, make_from_world, root_from_world
from causalvlm.worlds.domains import world_task
from causalvlm.worlds.factors import RENDER_STYLES
from causalvlm.worlds.shifts import HARD_ROTATION_DEG, rendition_styles
from causalvlm.worlds.task import task_parameters
from causalvlm.worlds.task_files import keyed_root

# A small silhouette source: 3 test images per class (so the renditions give each class every style).
SOURCE = {
    "shots": 1, "seed": 1, "rho": 0.0, "n_train_per_class": 1, "n_val_per_class": 1, "n_test_per_class": 3,
    "style": "silhouette", "noise_max": 0.0,
}  # fmt: skip


def _make(data_root: Path, name: str, source: dict = SOURCE):
    root = root_from_world(name, data_root, source)
    root.mkdir(parents=True, exist_ok=True)
    return make_from_world(name, root, source), root


def _test_factors(root: Path, splits) -> list:
    factors = load_factors(root)
    return [factors[d.impath] for d in splits.test]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    """The source and every target, made once under one data root."""
    data_root = tmp_path_factory.mktemp("domains")
    return {name: _make(data_root, name) for name in ("shapeworld", *WORLD_CROSS_DOMAIN_TARGETS)}


def test_every_target_is_a_registered_dataset_with_the_source_classes(made):
    source, _ = made["shapeworld"]
    for name in WORLD_CROSS_DOMAIN_TARGETS:
        _, root = made[name]
        splits = DATASETS.build(name, root=str(root), num_shots=1, seed=1)
        assert splits.name == name
        assert splits.classnames == source.classnames and splits.template == source.template
        assert sorted({d.label for d in splits.test}) == list(range(24))
        assert len(splits.test) == len(source.test)


def test_each_target_has_a_folder_of_its_own(made):
    roots = [root for _, root in made.values()]
    assert len(set(roots)) == len(roots)
    assert all(root.parent.name == "worlds" for root in roots)


def test_each_target_is_deterministic(made, tmp_path):
    for name in WORLD_CROSS_DOMAIN_TARGETS:
        again, root = _make(tmp_path, name)
        first, first_root = made[name]
        assert root.name == first_root.name  # the same parameters, the same key
        for a, b in zip(first.test, again.test, strict=True):
            assert np.array_equal(np.asarray(Image.open(a.impath)), np.asarray(Image.open(b.impath)))


def test_sketch_changes_the_style_and_nothing_else(made):
    source, source_root = made["shapeworld"]
    sketch, sketch_root = made["shapeworld-sketch"]
    pairs = zip(_test_factors(source_root, source), _test_factors(sketch_root, sketch), strict=True)
    for before, after in pairs:
        assert after.style == "sketch"
        assert {**asdict(before), "style": "sketch"} == asdict(after)
    pixels = np.stack([np.asarray(Image.open(d.impath), dtype=int) for d in sketch.test])
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()  # no colour
    assert pixels.min() < 60 and pixels.max() > 240  # black ink on white paper


def test_renditions_use_every_other_style_in_every_class(made):
    source, source_root = made["shapeworld"]
    shifted, root = made["shapeworld-r"]
    styles = rendition_styles("silhouette")
    assert set(styles) == set(RENDER_STYLES) - {"silhouette", "sketch"}
    factors = _test_factors(root, shifted)
    for before, after in zip(_test_factors(source_root, source), factors, strict=True):
        assert {**asdict(before), "style": after.style} == asdict(after)
    for label in range(24):
        assert {f.style for f in factors if f.shape == label} == set(styles)
    pixels = np.stack([np.asarray(Image.open(d.impath), dtype=int) for d in shifted.test])
    assert np.abs(pixels[..., 0] - pixels[..., 2]).max() > 100  # renditions have colour, silhouettes none


def test_hard_rotations_leave_the_training_range(made):
    source, source_root = made["shapeworld"]
    hard, root = made["shapeworld-a"]
    low, high = HARD_ROTATION_DEG
    pairs = list(zip(_test_factors(source_root, source), _test_factors(root, hard), strict=True))
    for before, after in pairs:
        assert abs(before.rotation) <= 20.0 and low <= abs(after.rotation) <= high
        assert np.sign(before.rotation) == np.sign(after.rotation)
        assert {**asdict(before), "rotation": after.rotation} == asdict(after)
    # monotone: the order of |θ| is kept, so the map moves every draw out of the training range
    order = np.argsort([abs(b.rotation) for b, _ in pairs])
    assert np.all(np.diff([abs(pairs[i][1].rotation) for i in order]) >= 0)


def test_v2_redraws_the_sample_from_the_same_generator(made):
    source, source_root = made["shapeworld"]
    v2, root = made["shapeworld-v2"]
    before, after = _test_factors(source_root, source), _test_factors(root, v2)
    assert [f.shape for f in before] == [f.shape for f in after]
    assert all(a.noise_seed != b.noise_seed for a, b in zip(before, after, strict=True))
    assert {f.style for f in after} == {"silhouette"}  # the source's drawing
    record = task_parameters(**world_task("shapeworld-v2", SOURCE))
    assert record["world_options"] == task_parameters(**SOURCE)["world_options"]


def test_targets_follow_the_source_drawing():
    filled = {**SOURCE, "style": "filled"}
    assert task_parameters(**world_task("shapeworld-v2", filled))["world_options"].get("style") is None
    assert world_task("shapeworld-a", filled)["shift"] == "hard"
    assert "filled" not in rendition_styles("filled")


def test_an_unshifted_task_keeps_its_record_and_its_folder():
    plain = task_parameters(**SOURCE)
    assert "shift" not in plain
    assert root_from_world("shapeworld", "/data", SOURCE) == keyed_root("/data", plain)


def test_a_sketch_source_has_no_sketch_target():
    with pytest.raises(ValueError, match="drawn as a sketch already"):
        world_task("shapeworld-sketch", {**SOURCE, "style": "sketch"})


def test_an_unknown_shift_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="shift must be one of renditions, hard, got 'tilted'"):
        task_parameters(**{**SOURCE, "shift": "tilted"})
    with pytest.raises(ValueError, match="is not a world dataset"):
        world_task("imagenet", SOURCE)
    assert not any(tmp_path.iterdir())
