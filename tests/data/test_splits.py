"""Base-to-new split (first ⌈C/2⌉ sorted labels are base) and CoOp split-file parsing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from causalvlm.data import DatasetSplits, Datum, base_new_labels, read_split_json, subsample_classes


@given(st.integers(min_value=1, max_value=1000))
def test_base_and_new_partition_the_sorted_labels(num_classes: int) -> None:
    base, new = base_new_labels(num_classes, "base"), base_new_labels(num_classes, "new")
    assert len(base) == math.ceil(num_classes / 2)
    assert base + new == list(range(num_classes)) == base_new_labels(num_classes, "all")


def test_odd_class_count_puts_the_middle_class_in_base() -> None:
    assert base_new_labels(5, "base") == [0, 1, 2]
    assert base_new_labels(5, "new") == [3, 4]


def toy_splits() -> DatasetSplits:
    names = ["ant", "bee", "cat", "dog", "eel"]

    def data(tag: str) -> list[Datum]:
        return [Datum(f"/x/{tag}{y}.jpg", y, names[y]) for y in range(5)]

    return DatasetSplits("toy", names, "a photo of a {}.", data("tr"), data("va"), data("te"))


def test_new_classes_are_relabelled_from_zero() -> None:
    new = subsample_classes(toy_splits(), "new")
    assert new.classnames == ["dog", "eel"]
    for split in (new.train_x, new.val, new.test):
        assert [(d.label, d.classname) for d in split] == [(0, "dog"), (1, "eel")]
    assert new.template == "a photo of a {}." and new.name == "toy"


def test_all_returns_the_splits_unchanged_and_bad_names_fail() -> None:
    splits = toy_splits()
    assert subsample_classes(splits, "all") is splits
    with pytest.raises(ValueError, match="subsample must be one of .*'half'"):
        subsample_classes(splits, "half")


def test_split_file_paths_join_the_prefix_and_names_lose_underscores(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    path.write_text(
        json.dumps({"train": [["a/1.jpg", 0, "great_dane"]], "val": [], "test": [["b/2.jpg", "1", "pug"]]})
    )
    train, val, test = read_split_json(str(path), "/images")
    assert train == [Datum("/images/a/1.jpg", 0, "great dane")]
    assert val == [] and test == [Datum("/images/b/2.jpg", 1, "pug")]


def test_split_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "split_zhou_X.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"split_zhou_X\.json: not valid JSON"):
        read_split_json(str(path), "/images")
    path.write_text("[]")
    with pytest.raises(ValueError, match=r"split_zhou_X\.json: expected an object"):
        read_split_json(str(path), "/images")


# ---------------------------------------------------------------------------------------------- encodings
def test_a_split_file_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    text = json.dumps({"train": [["a.jpg", 0, "cat"]], "val": [], "test": []})
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    train, _, _ = read_split_json(str(path), str(tmp_path))
    assert train[0].classname == "cat"


def test_a_latin1_split_file_names_the_file_and_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    text = json.dumps({"train": [["a.jpg", 0, "café"]], "val": [], "test": []}, ensure_ascii=False)
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=r"split.json: is not UTF-8 text \(byte 0xe9 .*Latin-1"):
        read_split_json(str(path), str(tmp_path))


def test_a_class_list_with_a_byte_order_mark_keeps_its_first_name(tmp_path: Path) -> None:
    """A BOM made the first wnid '\\ufeffn01440764', so the first class went missing."""
    from causalvlm.data.imagenet import read_classnames

    path = tmp_path / "classnames.txt"
    path.write_bytes(b"\xef\xbb\xbfn01440764 tench\nn01443537 goldfish\n")
    assert read_classnames(str(path)) == {"n01440764": "tench", "n01443537": "goldfish"}
    path.write_bytes("n01440764 tench\nn01443537 poisson doré\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"classnames.txt: is not UTF-8 text"):
        read_classnames(str(path))
