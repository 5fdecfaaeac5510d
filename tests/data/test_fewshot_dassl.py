"""Few-shot draws equal Dassl's, item for item, for every seed.

The reference below is written from the logic of Dassl's ``DatasetBase.generate_fewshot_dataset`` as CoOp's
datasets call it (``repeat`` left at its default, False) after CoOp's ``train.py`` seeds Python's global
``random`` with the run's seed: group by label in first-appearance order; per class, ``random.sample(items,
K)`` when the class has at least K items, else keep the class; the validation list follows from the same
stream with min(K, 4) shots. It uses the global ``random`` module, as Dassl does, and none of our code.
"""

from __future__ import annotations

import json
import random
import warnings
from collections import defaultdict
from pathlib import Path

import pytest
from coop_fake_trees import make_tree

from causalvlm.data import (
    DATASETS,
    SPLIT_JSON_SPECS,
    Datum,
    fewshot_cache_path,
    load_or_sample_fewshot,
    read_split_json,
    sample_fewshot,
)

K = 4


@pytest.fixture(autouse=True)
def restore_global_random():
    state = random.getstate()
    yield
    random.setstate(state)


def dassl_draw(items: list[Datum], num_shots: int) -> list[Datum]:
    classes: defaultdict[int, list[Datum]] = defaultdict(list)
    for item in items:
        classes[item.label].append(item)
    drawn: list[Datum] = []
    for members in classes.values():
        drawn += random.sample(members, num_shots) if len(members) >= num_shots else members
    return drawn


def coop_fewshot(train: list[Datum], val: list[Datum], num_shots: int, seed: int):
    random.seed(seed)  # CoOp: set_random_seed(cfg.SEED) before the dataset is built
    return dassl_draw(train, num_shots), dassl_draw(val, min(num_shots, 4))


def synthetic_split(folder: Path, sizes: dict[int, int], interleave: bool) -> list[Datum]:
    """Labels appear in the order of ``sizes`` (not sorted); items of different classes may interleave."""
    per_class = {
        label: [Datum(str(folder / f"c{label}" / f"{k:03d}.jpg"), label, f"class {label}") for k in range(n)]
        for label, n in sizes.items()
    }
    if not interleave:
        return [d for items in per_class.values() for d in items]
    out, k = [], 0
    while any(k < len(items) for items in per_class.values()):
        out += [items[k] for items in per_class.values() if k < len(items)]
        k += 1
    return out


# fewer than K (2, 3), exactly K (4, twice), more than K (5, 9, 30); label order 3, 0, 6, 2, 5, 1, 4
TRAIN_SIZES = {3: 9, 0: 4, 6: 2, 2: 30, 5: 4, 1: 3, 4: 5}
VAL_SIZES = {3: 4, 0: 2, 6: 7, 2: 4, 5: 1, 1: 5, 4: 4}  # for min(K, 4) = 4 shots: <, =, > again


@pytest.mark.parametrize("seed", [1, 2, 3, 7, 42, 2024])
@pytest.mark.parametrize("interleave", [False, True])
def test_draws_equal_dassls_for_classes_below_at_and_above_k(tmp_path: Path, seed: int, interleave: bool):
    train = synthetic_split(tmp_path, TRAIN_SIZES, interleave)
    val = synthetic_split(tmp_path, VAL_SIZES, interleave)
    expected_train, expected_val = coop_fewshot(train, val, K, seed)
    random.seed(999)  # our draw must not read the global stream
    got_train, got_val = load_or_sample_fewshot(str(tmp_path), K, seed, lambda: train, lambda: val)
    assert got_train == expected_train
    assert got_val == expected_val
    # the cache holds the same draw
    again = load_or_sample_fewshot(str(tmp_path), K, seed, lambda: [], lambda: [])
    assert again == (expected_train, expected_val)


def test_a_class_of_exactly_k_items_advances_the_stream(tmp_path: Path):
    # Dassl draws even for a class of exactly K items; skipping that draw changes every later class
    train = synthetic_split(tmp_path, {0: K, 1: 30, 2: 30}, interleave=False)
    differs = 0
    for seed in range(1, 21):
        ours = sample_fewshot(train, K, random.Random(seed))
        rng = random.Random(seed)
        skipping = train[:K] + rng.sample(train[K : K + 30], K) + rng.sample(train[K + 30 :], K)
        differs += ours != skipping
        assert ours == coop_fewshot(train, [], K, seed)[0]
    assert differs == 20


@pytest.mark.parametrize("num_shots", [2, 3, 4, 5])  # the fake tree has 4 train and 3 val images per class
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_coop_dataset_draws_what_coop_draws(data_root: Path, num_shots: int, seed: int):
    root = make_tree("eurosat", data_root, num_classes=6)
    spec = next(s for s in SPLIT_JSON_SPECS if s.name == "eurosat")
    folder = root / spec.dirname
    train, val, _ = read_split_json(str(folder / spec.split_file), str(folder / spec.image_dir))
    expected_train, expected_val = coop_fewshot(train, val, num_shots, seed)
    splits = DATASETS.build(
        "eurosat", root=str(root), num_shots=num_shots, seed=seed, check_num_classes=False
    )
    assert splits.train_x == expected_train and splits.val == expected_val


@pytest.mark.parametrize("bad", [2.5, "16", True, None])
def test_num_shots_must_be_an_integer(tmp_path: Path, bad):
    data = synthetic_split(tmp_path, {0: 5, 1: 5}, interleave=False)
    with pytest.raises(ValueError, match=f"num_shots must be an integer.*{bad!r}"):
        sample_fewshot(data, bad, random.Random(1))
    with pytest.raises(ValueError, match="num_shots must be an integer"):
        load_or_sample_fewshot(str(tmp_path), bad, 1, lambda: data, None)


def test_a_fractional_shot_count_is_an_error_before_the_split_is_read(data_root: Path):
    # 0.5 is below 1: without the check it would silently mean "no few-shot sampling" (all images); the
    # tree has 4 of EuroSAT's 10 classes, so reading it would fail on the class count instead
    root = make_tree("eurosat", data_root)
    with pytest.raises(ValueError, match=r"num_shots must be an integer.*0\.5"):
        DATASETS.build("eurosat", root=str(root), num_shots=0.5, seed=1)


def test_a_cache_from_the_old_sampler_is_redrawn_with_a_warning(tmp_path: Path):
    train = synthetic_split(tmp_path, TRAIN_SIZES, interleave=False)
    path = Path(fewshot_cache_path(str(tmp_path), K, 1))
    path.parent.mkdir(parents=True)
    old = {"format": 1, "num_shots": K, "seed": 1, "train": [], "val": []}
    path.write_text(json.dumps(old))
    with pytest.warns(UserWarning, match="older sampler that differed from Dassl's"):
        got, _ = load_or_sample_fewshot(str(tmp_path), K, 1, lambda: train, None)
    assert got == coop_fewshot(train, [], K, 1)[0]
    assert json.loads(path.read_text())["format"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the redrawn cache is current: no second warning
        assert load_or_sample_fewshot(str(tmp_path), K, 1, lambda: [], None)[0] == got
