"""Few-shot sampling is deterministic per seed and cached as JSON under split_fewshot/shot_K-seed_S.json."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from causalvlm.data import Datum, fewshot_cache_path, load_or_sample_fewshot, sample_fewshot
from causalvlm.data import fewshot as fewshot_module


def pool(folder: Path, num_classes: int = 3, per_class: int = 20) -> list[Datum]:
    return [
        Datum(str(folder / f"c{label}" / f"{k}.jpg"), label, f"class {label}")
        for label in range(num_classes)
        for k in range(per_class)
    ]


def never_called() -> list[Datum]:
    raise AssertionError("the cache should have been used")


def test_sample_is_k_per_class_and_fixed_by_seed(tmp_path: Path) -> None:
    data = pool(tmp_path)
    first = sample_fewshot(data, 4, random.Random(7))
    assert Counter(d.label for d in first) == {0: 4, 1: 4, 2: 4}
    assert len(set(first)) == 12  # without replacement
    assert sample_fewshot(data, 4, random.Random(7)) == first
    assert sample_fewshot(data, 4, random.Random(8)) != first


def test_small_classes_keep_all_their_images(tmp_path: Path) -> None:
    data = pool(tmp_path, num_classes=2, per_class=3)
    assert sample_fewshot(data, 16, random.Random(0)) == data


def test_cache_is_written_as_json_and_reused(tmp_path: Path) -> None:
    data = pool(tmp_path)
    train, val = load_or_sample_fewshot(str(tmp_path), 2, 1, lambda: data, lambda: data)
    path = Path(fewshot_cache_path(str(tmp_path), 2, 1))
    assert path == tmp_path / "split_fewshot" / "shot_2-seed_1.json"
    cache = json.loads(path.read_text())
    assert cache["num_shots"] == 2 and cache["seed"] == 1
    assert all(not Path(entry[0]).is_absolute() for entry in cache["train"])  # the tree may move
    assert Counter(d.label for d in val) == {0: 2, 1: 2, 2: 2}
    again_train, again_val = load_or_sample_fewshot(str(tmp_path), 2, 1, never_called, never_called)
    assert (again_train, again_val) == (train, val)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind


def test_val_keeps_at_most_four_per_class(tmp_path: Path) -> None:
    _, val = load_or_sample_fewshot(str(tmp_path), 16, 3, lambda: pool(tmp_path), lambda: pool(tmp_path))
    assert Counter(d.label for d in val) == {0: 4, 1: 4, 2: 4}


def test_same_seed_in_a_fresh_tree_draws_the_same_sample(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    train_a, _ = load_or_sample_fewshot(str(a), 4, 2, lambda: pool(a), None)
    random.seed(12345)  # global random state must not matter
    train_b, val_b = load_or_sample_fewshot(str(b), 4, 2, lambda: pool(b), None)
    assert [Path(d.impath).relative_to(a) for d in train_a] == [
        Path(d.impath).relative_to(b) for d in train_b
    ]
    assert val_b is None


def test_cache_for_other_settings_or_corrupt_is_an_error_naming_it(tmp_path: Path) -> None:
    load_or_sample_fewshot(str(tmp_path), 2, 1, lambda: pool(tmp_path), None)
    path = Path(fewshot_cache_path(str(tmp_path), 2, 1))
    cache = json.loads(path.read_text())
    cache["seed"] = 9
    path.write_text(json.dumps(cache))
    with pytest.raises(ValueError, match=r"shot_2-seed_1\.json holds shots=2 seed=9"):
        load_or_sample_fewshot(str(tmp_path), 2, 1, never_called, None)
    path.write_text('{"format": 1, "train": [')
    with pytest.raises(ValueError, match=r"few-shot cache .*shot_2-seed_1\.json is not valid JSON"):
        load_or_sample_fewshot(str(tmp_path), 2, 1, never_called, None)


def test_unwritable_cache_folder_warns_and_still_samples(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(fewshot_module.tempfile, "mkstemp", refuse)
    with pytest.warns(UserWarning, match="cannot cache the few-shot split"):
        train, _ = load_or_sample_fewshot(str(tmp_path), 2, 1, lambda: pool(tmp_path), None)
    assert len(train) == 6
    assert not Path(fewshot_cache_path(str(tmp_path), 2, 1)).exists()


def test_zero_shots_is_not_a_sample(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="num_shots must be >= 1"):
        load_or_sample_fewshot(str(tmp_path), 0, 1, never_called, None)


CLASSNAMES = ["class 0", "class 1", "class 2"]


def _edited_cache(tmp_path: Path, entry_index: int, entry: list) -> Path:
    """A valid cache for (2 shots, seed 1) whose train entry ``entry_index`` is replaced by ``entry``."""
    load_or_sample_fewshot(str(tmp_path), 2, 1, lambda: pool(tmp_path), classnames=CLASSNAMES)
    path = Path(fewshot_cache_path(str(tmp_path), 2, 1))
    cache = json.loads(path.read_text())
    cache["train"][entry_index] = entry
    path.write_text(json.dumps(cache))
    return path


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            ["c0/0.jpg", 1.7, "class 0", 0],
            r"train\[1\] has a non-integer label 1\.7",
        ),  # int() made it class 1
        (["c0/0.jpg", 1.0, "class 1", 0], r"train\[1\] has a non-integer label 1\.0"),
        (["c0/0.jpg", True, "class 1", 0], r"train\[1\] has a non-integer label True"),
        (["c0/0.jpg", -1, "class 0", 0], r"train\[1\] has a negative label -1"),
        (["c0/0.jpg", 3, "class 0", 0], r"train\[1\] has the label 3, out of range for 3 classes"),
        (["c0/0.jpg", "x", "class 0", 0], r"train\[1\] has a non-integer label 'x'"),
        (["c0/0.jpg", None, "class 0", 0], r"train\[1\] has a non-integer label None"),
        (["c0/0.jpg", "class 0", 0], r"train\[1\] is malformed"),  # the label is missing
        (["c0/0.jpg", 2, "class 0", 0], r"train\[1\] has the label 2 with class name 'class 0'"),
        ([3, 0, "class 0", 0], r"train\[1\] has a non-string path"),
    ],
)
def test_a_bad_label_in_a_cache_is_named_with_the_file_and_entry(tmp_path: Path, entry, message) -> None:
    path = _edited_cache(tmp_path, 1, entry)
    with pytest.raises(ValueError, match=message) as raised:
        load_or_sample_fewshot(str(tmp_path), 2, 1, never_called, classnames=CLASSNAMES)
    assert str(path) in str(raised.value)


def test_a_digit_string_label_in_a_cache_reads_as_that_label(tmp_path: Path) -> None:
    """As in split files: "1" is the integer 1 written as text, not a guess."""
    _edited_cache(tmp_path, 1, ["c0/0.jpg", "0", "class 0", 0])
    train, _ = load_or_sample_fewshot(str(tmp_path), 2, 1, never_called, classnames=CLASSNAMES)
    assert train[1].label == 0


def test_a_dataset_checks_its_cache_against_its_classes(data_root: Path) -> None:
    """The registered builders pass their class names, so an edited cache of a real layout is refused."""
    from coop_fake_trees import make_split_json_tree

    from causalvlm.data import DATASETS

    folder = make_split_json_tree(data_root, "dtd") / "dtd"
    splits = DATASETS.build("dtd", root=str(data_root), num_shots=1, seed=1, check_num_classes=False)
    path = Path(fewshot_cache_path(str(folder), 1, 1))
    cache = json.loads(path.read_text())
    cache["train"][0][1] = len(splits.classnames)
    path.write_text(json.dumps(cache))
    with pytest.raises(
        ValueError, match=rf"{path}: train\[0\] has the label {len(splits.classnames)}, out of"
    ):
        DATASETS.build("dtd", root=str(data_root), num_shots=1, seed=1, check_num_classes=False)
