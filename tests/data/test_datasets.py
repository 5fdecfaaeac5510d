"""Every registered dataset reads its fake CoOp tree; layout-specific details and bad inputs per dataset."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from coop_fake_trees import (
    RAW_CLASSNAMES,
    SPLIT_SIZES,
    WNID_NAMES,
    WNIDS,
    make_imagenet_tree,
    make_split_json_tree,
    make_tree,
    make_wnid_variant_tree,
    write_jpeg,
)

from causalvlm.data import DATASETS, SPLIT_JSON_SPECS, TEST_ONLY_DATASETS, validate_images
from causalvlm.data.fewshot import fewshot_cache_path
from causalvlm.templates import DATASET_TEMPLATES

OWN_NAMES = sorted(n for n in DATASETS.names() if DATASETS.get(n).__module__.startswith("causalvlm.data"))
COOP_ELEVEN = ["caltech101", "dtd", "eurosat", "fgvc_aircraft", "food101", "imagenet", "oxford_flowers",
               "oxford_pets", "stanford_cars", "sun397", "ucf101"]  # fmt: skip


def build(name: str, root: Path, **kw):
    if name != "imagefolder":
        kw.setdefault("check_num_classes", False)  # fake trees hold a few classes, not the official count
    return DATASETS.build(name, root=str(root), **kw)


def test_the_coop_benchmarks_and_imagenet_shifts_are_registered() -> None:
    expected = set(COOP_ELEVEN) | set(TEST_ONLY_DATASETS) | {"imagefolder"}
    assert expected == set(OWN_NAMES)


@pytest.mark.parametrize("name", OWN_NAMES)
def test_every_dataset_reads_its_tree(name: str, data_root: Path) -> None:
    root = make_tree(name, data_root, num_classes=4)
    splits = build(name, root, num_shots=2, seed=1)
    assert "{}" in splits.template
    assert splits.num_classes == len(set(splits.classnames))
    assert all("_" not in c for c in splits.classnames)
    for data in (splits.train_x, splits.val, splits.test):
        assert all(splits.classnames[d.label] == d.classname for d in data)
    assert {d.label for d in splits.test} == set(range(splits.num_classes))
    if name in TEST_ONLY_DATASETS:
        assert splits.train_x == [] and splits.val == []
    else:
        assert Counter(d.label for d in splits.train_x) == dict.fromkeys(range(splits.num_classes), 2)
    assert validate_images(splits) == len(splits.all_data())


@pytest.mark.parametrize("spec", SPLIT_JSON_SPECS, ids=lambda s: s.name)
def test_split_file_datasets_keep_coop_splits(spec, data_root: Path) -> None:
    make_split_json_tree(data_root, spec.name, num_classes=3)
    full = build(spec.name, data_root, num_shots=0)
    assert [len(full.train_x), len(full.val), len(full.test)] == [3 * SPLIT_SIZES[k] for k in SPLIT_SIZES]
    assert full.classnames == [c.replace("_", " ") for c in RAW_CLASSNAMES[:3]]
    assert full.template == spec.template

    few = build(spec.name, data_root, num_shots=8, seed=2)  # more shots than images: keep what there is
    assert len(few.train_x) == len(full.train_x)
    assert Counter(d.label for d in few.val) == {0: 3, 1: 3, 2: 3}  # min(8, 4) per class, 3 available
    assert few.test == full.test
    assert Path(fewshot_cache_path(str(data_root / spec.dirname), 8, 2)).is_file()


def test_root_may_be_the_dataset_folder_itself(data_root: Path) -> None:
    make_split_json_tree(data_root, "dtd", num_classes=2)
    via_data = build("dtd", data_root, num_shots=0)
    via_folder = build("dtd", data_root / "dtd", num_shots=0)
    assert via_data.test == via_folder.test


def test_official_class_count_is_checked(data_root: Path) -> None:
    make_split_json_tree(data_root, "eurosat", num_classes=10)
    assert DATASETS.build("eurosat", root=str(data_root), num_shots=0).num_classes == 10
    make_split_json_tree(data_root, "oxford_pets", num_classes=5)
    with pytest.raises(ValueError, match=r"split_zhou_OxfordPets\.json.*37 classes but 5"):
        DATASETS.build("oxford_pets", root=str(data_root), num_shots=0)


def test_missing_root_dataset_folder_and_split_file_are_named(data_root: Path) -> None:
    with pytest.raises(FileNotFoundError, match="data root .*nowhere"):
        build("oxford_pets", data_root / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"dataset folder 'oxford_pets' .*DATA/oxford_pets"):
        build("oxford_pets", data_root)
    make_split_json_tree(data_root, "oxford_pets", num_classes=2)
    (data_root / "oxford_pets" / "split_zhou_OxfordPets.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"split file .*split_zhou_OxfordPets\.json does not exist"):
        build("oxford_pets", data_root)
    assert not (data_root / "oxford_pets" / "split_fewshot").exists()  # nothing written before the error


@pytest.mark.parametrize(
    "mutate, error, pattern",
    [
        (lambda s: s.pop("test"), KeyError, "missing split 'test'"),
        (lambda s: s["train"][0].__setitem__(1, "one"), ValueError, r"train\[0\] has a non-integer label"),
        (lambda s: s["val"][0].pop(), ValueError, r"val\[0\] must be \[impath, label, classname\]"),
        (lambda s: s["test"][0].__setitem__(2, "cat"), ValueError, "label 0 is named both"),
        (lambda s: [e.__setitem__(1, 5) for e in s["train"] if e[1] == 1], ValueError, r"out of range \[5\]"),
    ],
)
def test_malformed_split_file_is_named(mutate, error, pattern, data_root: Path) -> None:
    make_split_json_tree(data_root, "food101", num_classes=2)
    path = data_root / "food-101" / "split_zhou_Food101.json"
    split = json.loads(path.read_text())
    mutate(split)
    path.write_text(json.dumps(split))
    with pytest.raises(error, match="split_zhou_Food101.json"):
        build("food101", data_root)
    with pytest.raises(error, match=pattern):
        build("food101", data_root)


def test_stanford_cars_paths_are_relative_to_the_dataset_folder(data_root: Path) -> None:
    make_split_json_tree(data_root, "stanford_cars", num_classes=2)
    splits = build("stanford_cars", data_root, num_shots=0)
    assert all(Path(d.impath).parent.name == "cars_test" for d in splits.test)
    assert all(Path(d.impath).parent.name == "cars_train" for d in splits.train_x)


def test_aircraft_reads_official_lists(data_root: Path) -> None:
    make_tree("fgvc_aircraft", data_root, num_classes=4)
    splits = build("fgvc_aircraft", data_root, num_shots=0)
    assert splits.classnames == ["707-320", "A300B4", "Cessna 172", "F-16A/B"]  # order of variants.txt
    assert splits.template == "a photo of a {}, a type of aircraft."
    assert [len(splits.train_x), len(splits.val), len(splits.test)] == [16, 12, 8]
    assert all(Path(d.impath).parent.name == "images" for d in splits.test)


def test_aircraft_unknown_variant_names_file_and_line(data_root: Path) -> None:
    make_tree("fgvc_aircraft", data_root, num_classes=3)
    path = data_root / "fgvc_aircraft" / "images_variant_val.txt"
    path.write_text(path.read_text() + "1234567 Concorde\n")
    with pytest.raises(ValueError, match=r"images_variant_val\.txt:10: variant 'Concorde'"):
        build("fgvc_aircraft", data_root)
    with pytest.raises(ValueError, match="variants.txt.*100 classes but 3"):
        DATASETS.build("fgvc_aircraft", root=str(data_root))


def test_imagenet_validates_on_val_and_samples_train_only(data_root: Path) -> None:
    make_imagenet_tree(data_root, num_classes=4)
    splits = build("imagenet", data_root, num_shots=3, seed=1)
    assert splits.classnames == WNID_NAMES[:4]
    assert splits.val == splits.test and len(splits.test) == 8
    assert all("/images/val/" in d.impath for d in splits.test)
    assert Counter(d.label for d in splits.train_x) == {0: 3, 1: 3, 2: 3, 3: 3}


def test_imagenet_uses_the_cache_without_listing_train_images(data_root: Path) -> None:
    make_imagenet_tree(data_root, num_classes=3)
    first = build("imagenet", data_root, num_shots=2, seed=5)
    for image in (data_root / "imagenet" / "images" / "train" / WNIDS[0]).iterdir():
        image.unlink()  # an empty class folder would be an error if the train images were listed again
    assert build("imagenet", data_root, num_shots=2, seed=5).train_x == first.train_x
    with pytest.raises(ValueError, match=f"class folder .*{WNIDS[0]} holds no images"):
        build("imagenet", data_root, num_shots=2, seed=6)


def test_imagenet_train_val_class_mismatch_and_unknown_wnid(data_root: Path) -> None:
    make_imagenet_tree(data_root, num_classes=3)
    write_jpeg(data_root / "imagenet" / "images" / "train" / "n09999999" / "x.JPEG")
    with pytest.raises(ValueError, match=r"only in train \['n09999999'\]"):
        build("imagenet", data_root)
    write_jpeg(data_root / "imagenet" / "images" / "val" / "n09999999" / "x.JPEG")
    with pytest.raises(KeyError, match=r"classnames\.txt has no class name for folder.*n09999999"):
        build("imagenet", data_root)


@pytest.mark.parametrize("name", ["imagenet_a", "imagenet_r", "imagenet_sketch"])
def test_imagenet_shift_class_subset_comes_from_its_folders(name: str, data_root: Path) -> None:
    make_wnid_variant_tree(data_root, name, wnids=[WNIDS[4], WNIDS[1], WNIDS[3]])
    splits = build(name, data_root)
    assert splits.classnames == [WNID_NAMES[1], WNID_NAMES[3], WNID_NAMES[4]]  # sorted wnids, names from file
    assert len(splits.test) == 6 and splits.train_x == []
    expected = {"imagenet_a": 200, "imagenet_r": 200, "imagenet_sketch": 1000}[name]
    with pytest.raises(ValueError, match=f"should have {expected} classes but 3"):
        DATASETS.build(name, root=str(data_root))


def test_imagenetv2_labels_follow_classnames_order(data_root: Path) -> None:
    make_tree("imagenetv2", data_root, num_classes=3)
    splits = build("imagenetv2", data_root)
    assert splits.classnames == WNID_NAMES[:3]
    assert all(Path(d.impath).parent.name == str(d.label) for d in splits.test)
    for image in (data_root / "imagenetv2" / "imagenetv2-matched-frequency-format-val" / "2").iterdir():
        image.unlink()
    (data_root / "imagenetv2" / "imagenetv2-matched-frequency-format-val" / "2").rmdir()
    with pytest.raises(FileNotFoundError, match=r"class folder .*format-val/2 does not exist"):
        build("imagenetv2", data_root)


def test_base_new_on_a_coop_dataset_relabels(data_root: Path) -> None:
    make_split_json_tree(data_root, "oxford_pets", num_classes=5)
    base = build("oxford_pets", data_root, num_shots=2, subsample="base")
    new = build("oxford_pets", data_root, num_shots=2, subsample="new")
    assert base.classnames == ["american bulldog", "beagle", "great pyrenees"]
    assert new.classnames == ["pug", "samoyed"]
    assert {d.label for d in new.test} == {0, 1} and {d.label for d in new.train_x} == {0, 1}
    assert all(new.classnames[d.label] == d.classname for d in new.test + new.train_x + new.val)


def test_bad_subsample_is_rejected_before_reading(data_root: Path) -> None:
    with pytest.raises(ValueError, match="subsample must be one of"):
        build("dtd", data_root / "missing", subsample="novel")


@pytest.mark.parametrize("name", [n for n in OWN_NAMES if n != "imagefolder"])
def test_every_dataset_reads_its_template_from_the_one_table(name: str, data_root: Path, monkeypatch) -> None:
    """causalvlm.templates.DATASET_TEMPLATES is the table the pipeline reads (no second copy in data/)."""
    root = make_tree(name, data_root, num_classes=4)
    assert build(name, root, num_shots=1, seed=1).template == DATASET_TEMPLATES[name]
    monkeypatch.setitem(DATASET_TEMPLATES, name, "a test picture of {}.")
    assert build(name, root, num_shots=1, seed=1).template == "a test picture of {}."
