"""World options: the task's difficulty knobs, checked, applied to the factors, and recorded in task.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from causalvlm.data import DATASETS
from causalvlm.worlds import SHAPE_NAMES, Factors, render, sample_factors
from causalvlm.worlds.factors import NOISE_MAX, ROTATION_RANGE_DEG, WorldOptions
from causalvlm.worlds.render import _object_mask
from causalvlm.worlds.task import TASK_OPTIONS, check_task_options, make_task


def _sample(options: WorldOptions | None, n: int = 400) -> list[Factors]:
    rng = np.random.default_rng(11)
    return sample_factors(rng, rng.integers(len(SHAPE_NAMES), size=n), options=options)


def test_default_options_are_the_pretraining_world():
    assert _sample(None) == _sample(WorldOptions())
    assert WorldOptions().noise_max == NOISE_MAX and WorldOptions().rotation_range == ROTATION_RANGE_DEG


def test_options_widen_the_ranges_and_keep_every_other_factor():
    plain, hard = _sample(None), _sample(WorldOptions(noise_max=0.3, rotation_range=40.0, size_scale=0.8))
    assert max(f.noise for f in hard) > NOISE_MAX and all(f.noise <= 0.3 for f in hard)
    assert max(abs(f.rotation) for f in hard) > ROTATION_RANGE_DEG
    assert all(f.scale == 0.8 for f in hard) and all(f.scale == 1.0 for f in plain)
    # the same generator state gives the same categorical factors under any options
    keep = ("shape", "object_colour", "background_colour", "texture", "size", "position", "noise_seed")
    assert [[getattr(f, k) for k in keep] for f in plain] == [[getattr(f, k) for k in keep] for f in hard]


def test_size_scale_shrinks_the_object():
    f = Factors(SHAPE_NAMES.index("circle"), 0, 8, 0, 2, 0, 0.0, 0.0, noise_seed=0)
    small = Factors(**{**f.__dict__, "scale": 0.5})
    area = _object_mask(f, np.random.default_rng(0)).sum()
    assert _object_mask(small, np.random.default_rng(0)).sum() == pytest.approx(area / 4, rel=0.1)


def test_noise_option_shows_in_the_pixels():
    f = Factors(SHAPE_NAMES.index("circle"), 0, 8, 0, 2, 0, 0.0, 0.0, noise_seed=3)
    clean, noisy = render(f).astype(float), render(Factors(**{**f.__dict__, "noise": 0.3})).astype(float)
    assert np.abs(noisy - clean).mean() > 30  # ~0.3 · 255 · 0.8 (clipping at white takes some)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"noise_max": 1.5}, "noise_max"),
        ({"size_scale": 0.1}, "size_scale"),
        ({"rotation_range": -1.0}, "rotation_range"),
        ({"blur": 1.0}, "blur"),
        ({"rho": 2.0}, "rho"),
        ({"n_train_per_class": -3}, "n_train_per_class"),
    ],
)
def test_bad_world_settings_are_named(options, match):
    with pytest.raises(ValueError, match=match):
        check_task_options(options)


def test_task_records_its_world_and_seeds_draw_from_a_larger_pool(tmp_path):
    make_task(tmp_path, shots=2, seed=1, n_train_per_class=6, n_test_per_class=1, n_val_per_class=1)
    task = json.loads((tmp_path / "shapeworld" / "task.json").read_text())
    assert task["world_options"] == {
        "noise_max": 0.08, "size_scale": 1.0, "rotation_range": 20.0, "style": "silhouette"
    }  # fmt: skip
    assert task["world_options"]["noise_max"] == TASK_OPTIONS.noise_max and task["n_train_per_class"] == 6
    draws = [
        {d.impath for d in DATASETS.build("shapeworld", root=str(tmp_path), num_shots=2, seed=s).train_x}
        for s in (1, 2, 3)
    ]
    assert all(len(d) == 2 * len(SHAPE_NAMES) for d in draws)
    assert draws[0] != draws[1] and draws[1] != draws[2]  # Dassl-style: each seed its own K-shot set


def test_a_changed_world_option_rewrites_the_task(tmp_path):
    kwargs = {"shots": 1, "seed": 1, "n_train_per_class": 1, "n_test_per_class": 1, "n_val_per_class": 0}
    make_task(tmp_path, **kwargs)
    make_task(tmp_path, noise_max=0.05, **kwargs)
    task = json.loads((tmp_path / "shapeworld" / "task.json").read_text())
    assert task["world_options"]["noise_max"] == 0.05
    factors = json.loads((tmp_path / "shapeworld" / "factors.json").read_text())
    assert all(row["noise"] <= 0.05 for row in factors.values())


def test_pool_smaller_than_shots_is_refused(tmp_path):
    with pytest.raises(ValueError, match="n_train_per_class"):
        make_task(tmp_path, shots=4, n_train_per_class=2)
    assert not (tmp_path / "shapeworld").exists()
