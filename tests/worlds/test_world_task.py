"""A ShapeWorld task on disk: CoOp layout, registered dataset, base/new split, reuse and clear errors."""

from __future__ import annotations

import json

import pytest

from causalvlm.data import DATASETS
from causalvlm.worlds import SHAPE_NAMES, TEMPLATE, make_task
from causalvlm.worlds.captions import DATASET_NAMES
from causalvlm.worlds.task import SPLIT_FILE, check_task_options


@pytest.fixture(scope="module")
def small_task(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapeworld_task")
    splits = make_task(root, rho=0.5, shots=2, seed=3, n_test_per_class=2, n_val_per_class=1, style="filled")
    return root, splits


def test_make_task_returns_the_k_shot_splits(small_task):
    _, splits = small_task
    assert splits.name == "shapeworld" and splits.template == TEMPLATE == "a photo of a {}."
    assert splits.classnames == list(SHAPE_NAMES)
    assert (len(splits.train_x), len(splits.val), len(splits.test)) == (48, 24, 48)
    assert all(d.classname == SHAPE_NAMES[d.label] for d in splits.train_x + splits.test)


def test_coop_layout_on_disk(small_task):
    root, splits = small_task
    folder = root / "shapeworld"
    split = json.loads((folder / SPLIT_FILE).read_text())
    assert set(split) == {"train", "val", "test"}
    rel, label, classname = split["test"][0]
    assert (folder / "images" / rel).is_file() and classname == SHAPE_NAMES[label]
    assert all((folder / "images" / entry[0]).is_file() for entry in split["train"])


def test_registered_builder_reads_base_and_new(small_task):
    root, _ = small_task
    base = DATASETS.build("shapeworld", root=str(root), num_shots=1, seed=2, subsample="base")
    new = DATASETS.build("shapeworld", root=str(root), num_shots=1, seed=2, subsample="new")
    half = len(SHAPE_NAMES) // 2
    assert base.classnames == list(SHAPE_NAMES[:half]) and new.classnames == list(SHAPE_NAMES[half:])
    assert sorted({d.label for d in new.test}) == list(range(half))  # relabelled to 0..n-1
    assert len(base.train_x) == half


def test_same_parameters_reuse_the_files_and_new_ones_rewrite_them(tmp_path):
    make_task(tmp_path, rho=0.0, shots=1, seed=1, n_test_per_class=1, n_val_per_class=0)
    image = tmp_path / "shapeworld" / "images" / "test" / "triangle" / "00000.png"
    stamp = image.stat().st_mtime_ns
    make_task(tmp_path, rho=0.0, shots=1, seed=1, n_test_per_class=1, n_val_per_class=0)
    assert image.stat().st_mtime_ns == stamp
    splits = make_task(tmp_path, rho=0.0, shots=1, seed=2, n_test_per_class=1, n_val_per_class=0)
    assert json.loads((tmp_path / "shapeworld" / "task.json").read_text())["seed"] == 2
    assert len(splits.test) == len(SHAPE_NAMES)
    # no temp folders left behind; the lock file that guards the writing stays
    assert sorted(p.name for p in tmp_path.iterdir()) == [".shapeworld.lock", "shapeworld"]


def test_missing_task_names_the_folder_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_task"):
        DATASETS.build("shapeworld", root=str(tmp_path))


@pytest.mark.parametrize("kwargs", [{"shots": 0}, {"n_test_per_class": 0}, {"rho": 2.0}])
def test_bad_task_options_raise_before_writing(tmp_path, kwargs):
    with pytest.raises(ValueError):
        make_task(tmp_path, **kwargs)
    assert not (tmp_path / "shapeworld").exists()


def test_missing_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make_task(tmp_path / "nowhere")


def test_dataset_class_names_label_the_same_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    caption = make_task(tmp_path / "a", shots=1, seed=1, n_test_per_class=1, n_val_per_class=0)
    dataset = make_task(
        tmp_path / "b", shots=1, seed=1, n_test_per_class=1, n_val_per_class=0, class_names="dataset"
    )
    assert dataset.classnames == [DATASET_NAMES[s] for s in SHAPE_NAMES] != caption.classnames
    assert [d.label for d in dataset.test] == [d.label for d in caption.test]
    assert json.loads((tmp_path / "b" / "shapeworld" / "task.json").read_text())["class_names"] == "dataset"
    assert "class_names" not in json.loads((tmp_path / "a" / "shapeworld" / "task.json").read_text())


def test_unknown_class_name_style_is_named(tmp_path):
    with pytest.raises(ValueError, match="class_names must be one of caption, dataset, got 'web'"):
        make_task(tmp_path, shots=1, class_names="web")
    with pytest.raises(ValueError, match="world setting class_names must be one of"):
        check_task_options({"class_names": "web"})
