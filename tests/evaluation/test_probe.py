"""The Fig. 1a similarity probe: cosines by hand, the control, world descriptions, the CSV format."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from causalvlm.backbones import FrozenCLIP
from causalvlm.evaluation.plots import plot_similarity_probe
from causalvlm.evaluation.probe import (
    Description,
    control_pairing,
    encode_pil,
    probe_world_task,
    similarity_probe,
    world_description,
    world_descriptions,
)
from causalvlm.evaluation.probe_csv import check_text_lengths, read_probe_csv
from causalvlm.worlds import TINY_CLIP_CHECKPOINT, TINY_CLIP_CONFIG, Factors, make_task, render_images

PROBE_PY = Path(__file__).parents[2] / "examples" / "cdc" / "probe_similarity.py"


def _descriptions() -> list[Description]:
    return [
        Description(
            "a photo of a red dog on grass.", "a photo of a dog.", {"colour": "a red thing.", "bg": "grass."}
        ),
        Description("a photo of a blue cat on a sofa.", "a photo of a cat.", {"colour": "a blue thing."}),
        Description("a photo of a green bird.", "a photo of a bird.", {"bg": "sky."}),
    ]


def test_cosines_equal_a_direct_computation(backbone):
    torch.manual_seed(0)
    features = torch.randn(3, backbone.embed_dim)
    descriptions = _descriptions()
    result = similarity_probe(backbone, features, descriptions, control_seed=None)
    x = torch.nn.functional.normalize(features, dim=-1)
    for i, d in enumerate(descriptions):
        full, cls = backbone.encode_text([d.full, d.class_prompt])
        assert result.full[i] == pytest.approx(float(x[i] @ full), abs=1e-5)
        assert result.class_only[i] == pytest.approx(float(x[i] @ cls), abs=1e-5)
    assert list(result.parts) == ["colour", "bg"]
    assert np.isnan(result.parts["colour"][2]) and np.isnan(result.parts["bg"][1])  # not described: NaN
    (bg,) = backbone.encode_text(["grass."])
    assert result.parts["bg"][0] == pytest.approx(float(x[0] @ bg), abs=1e-5)
    summary = result.summary()
    assert summary["cosine"]["colour"]["count"] == 2 and summary["images"] == 3
    assert summary["full_above_class"] == pytest.approx(np.mean(result.full > result.class_only))
    assert result.mismatched is None and "mismatched_mean" not in summary["cosine"]["full description"]


def test_the_control_pairs_every_image_with_another_images_texts(backbone):
    descriptions = [Description(f"text number {i}.", f"class {i}.", {"p": f"part {i}."}) for i in range(7)]
    # image features equal to the full descriptions' text features: matched cosine 1, any other text < 1
    features = backbone.encode_text([d.full for d in descriptions])
    result = similarity_probe(backbone, features, descriptions, control_seed=3)
    np.testing.assert_allclose(result.full, 1.0, atol=1e-5)
    assert np.all(result.mismatched["full description"] < 1 - 1e-4)  # a derangement: nobody keeps its own
    again = similarity_probe(backbone, features, descriptions, control_seed=3)
    np.testing.assert_array_equal(again.mismatched["p"], result.mismatched["p"])  # seeded
    assert "mismatched_mean" in result.summary()["cosine"]["p"]


def test_mismatched_counts_are_rejected(backbone):
    with pytest.raises(ValueError, match="one description per image feature"):
        similarity_probe(backbone, torch.randn(2, backbone.embed_dim), _descriptions())


def test_world_description_names_every_factor_in_the_caption_grammar():
    factors = Factors(shape=6, object_colour=0, background_colour=5, texture=1, size=0, position=1,
                      rotation=0.0, noise=0.0, noise_seed=0)  # fmt: skip
    d = world_description(factors)
    assert d.full == "a photo of a small red star on a striped blue background on the left."
    assert d.class_prompt == "a photo of a star."
    assert d.parts == {
        "object_colour": "a photo of a red shape.",
        "background_colour": "a photo of a shape on a blue background.",
        "texture": "a photo of a shape on a striped background.",
        "size": "a photo of a small shape.",
        "position": "a photo of a shape on the left.",
    }


def test_probe_on_a_world_task_and_its_figure(backbone, tmp_path):
    make_task(tmp_path, shots=1, n_test_per_class=2, n_val_per_class=0, style="filled")
    result = probe_world_task(backbone, tmp_path)
    assert len(result) == 48 and set(result.parts) == {
        "object_colour", "background_colour", "texture", "size", "position"
    }  # fmt: skip
    assert len(probe_world_task(backbone, tmp_path, max_images=10)) == 10
    assert np.all(np.abs(result.full) <= 1 + 1e-6)
    path = plot_similarity_probe(result, tmp_path / "probe.png")
    with Image.open(path) as image:
        assert image.size[0] > 600 and image.size[1] > 200


def test_the_description_names_only_what_the_style_draws():
    factors = Factors(shape=6, object_colour=0, background_colour=5, texture=1, size=0, position=3,
                      rotation=0.0, noise=0.0, noise_seed=1)  # fmt: skip
    filled = world_description(factors)
    assert filled.full == "a photo of a small red star on a striped blue background at the top."
    silhouette = world_description(replace(factors, style="silhouette"))
    assert silhouette.full == "a photo of a small star at the top."
    assert set(silhouette.parts) == {"size", "position"}
    outline = world_description(replace(factors, style="outline"))
    assert outline.full == "a photo of a small red star at the top."
    assert set(outline.parts) == {"object_colour", "size", "position"}


@pytest.mark.skipif(not TINY_CLIP_CHECKPOINT.is_file(), reason="tiny CLIP checkpoint not built")
def test_the_shipped_tiny_clip_aligns_images_with_their_full_description_more_than_with_the_class():
    """Fig. 1a's observation on the world, with the control that the alignment is image-specific."""
    clip = FrozenCLIP.from_checkpoint(TINY_CLIP_CHECKPOINT, TINY_CLIP_CONFIG)
    data = render_images(96, seed=10_000)
    features = encode_pil(clip, [Image.fromarray(image) for image in data.images])
    result = similarity_probe(clip, features, world_descriptions(data.factors))
    summary = result.summary()["cosine"]
    assert summary["full description"]["mean"] > summary["class only"]["mean"]
    assert summary["full description"]["mismatched_mean"] < summary["full description"]["mean"] - 0.2


# --------------------------------------------------------------------------- the CSV format
def _write_images(folder: Path, count: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (32, 32), (40 * i, 100, 200)).save(folder / f"{i}.png")


def _csv(tmp_path: Path, text: str) -> Path:
    _write_images(tmp_path / "images")
    path = tmp_path / "probe.csv"
    path.write_text(text)
    return path


GOOD = (
    "image,class,description,part:colour,part:background\n"
    'images/0.png,dog,"a photo of a red dog, on grass.",a photo of something red.,a photo of grass.\n'
    "\n"
    "images/1.png,cat,a photo of a cat on a sofa.,,a photo of a sofa.\n"
)


def test_a_valid_csv_reads_into_descriptions(tmp_path):
    rows = read_probe_csv(_csv(tmp_path, GOOD))
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].image == tmp_path / "images" / "0.png"
    assert rows[0].description == Description(
        "a photo of a red dog, on grass.",
        "a photo of a dog.",
        {"colour": "a photo of something red.", "background": "a photo of grass."},
    )
    assert rows[1].description.parts == {"background": "a photo of a sofa."}  # empty cell: no such factor
    assert read_probe_csv(_csv(tmp_path, GOOD), template="{}").pop().description.class_prompt == "cat"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "probe.csv: empty file"),
        ("image,description,part:colour\n", "missing column(s) ['class']"),
        ("image,class,description,colour\n", "unknown column(s) ['colour']"),
        ("image,class,description\n", "no 'part:<factor>' column"),
        ("image,class,description,part:\n", "column 'part:' names no factor"),
        ("image,class,description,part:a,part:a\n", "column(s) ['part:a'] appear more than once"),
        ("image,class,description,part:a\n", "no data rows after the header"),
        ("image,class,description,part:a\nimages/0.png,dog,a dog.\n",
         "row 2: 3 field(s), but the header has 4"),
        ("image,class,description,part:a\nimages/0.png,dog,,x\n", "row 2, column 'description': empty"),
        ("image,class,description,part:a\nimages/0.png,dog,a,x\nimages/9.png,cat,b,y\n",
         "row 3, column 'image': no such image file"),
        ("image,class,description,part:a\nprobe.csv,dog,a,x\n",
         "row 2, column 'image': not a readable image"),
    ],
)  # fmt: skip
def test_csv_errors_name_the_file_row_and_column(tmp_path, text, message):
    with pytest.raises((ValueError, FileNotFoundError), match=None) as error:
        read_probe_csv(_csv(tmp_path, text))
    assert message in str(error.value)
    assert str(tmp_path / "probe.csv") in str(error.value)


def test_missing_csv_and_bad_template(tmp_path):
    with pytest.raises(FileNotFoundError, match="probe CSV not found"):
        read_probe_csv(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="no '\\{\\}'"):
        read_probe_csv(_csv(tmp_path, GOOD), template="a photo")


def test_a_text_longer_than_the_context_is_named(backbone, tmp_path):
    long = " ".join(["very"] * 40)
    path = _csv(tmp_path, f"image,class,description,part:a\nimages/0.png,dog,a dog.,{long}\n")
    with pytest.raises(ValueError, match=r"probe.csv, row 2, column 'part:a': text .* tokens long"):
        check_text_lengths(backbone, read_probe_csv(path), path)


# --------------------------------------------------------------------------- the example script
def _script():
    spec = importlib.util.spec_from_file_location("probe_similarity", PROBE_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_on_a_csv_writes_the_figure_and_the_numbers(micro_clip_path, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--csv", str(_csv(tmp_path, GOOD)), "--backbone", str(micro_clip_path), "--pretrained", "none"]
    assert _script().main([*args, "--out", str(out)]) == 0
    summary = json.loads((out / "probe.json").read_text())
    assert summary["images"] == 2 and summary["cosine"]["colour"]["count"] == 1
    assert (out / "similarity_probe.png").is_file()
    assert "full description" in capsys.readouterr().out


def test_the_script_reports_a_bad_csv_before_loading_anything(micro_clip_path, tmp_path, capsys):
    bad = _csv(tmp_path, "image,class,description\n")
    out = tmp_path / "out"
    argv = ["--csv", str(bad), "--backbone", str(micro_clip_path), "--pretrained", "none", "--out", str(out)]
    assert _script().main(argv) == 2
    assert "no 'part:<factor>' column" in capsys.readouterr().err
    assert not out.exists()


# --------------------------------------------------------------------------- repeated texts, encodings
@pytest.mark.parametrize("seed", range(25))
def test_the_control_never_gives_an_image_its_own_text_even_when_texts_repeat(seed):
    """Duplicate rows made the control compare an image with its own text under another index."""
    texts = ["a", "a", "a", "b", "b", "c", "d", "e"]
    other = control_pairing(texts, seed)
    assert all(texts[other[i]] != texts[i] for i in range(len(texts)))
    assert sorted(other) == list(range(len(texts)))  # a permutation: every text is used once


def test_the_control_with_repeated_texts_on_real_features(backbone):
    descriptions = [
        Description(t, "c.", {"p": t}) for t in ["one.", "one.", "two.", "three.", "one.", "four."]
    ]
    features = backbone.encode_text([d.full for d in descriptions])
    result = similarity_probe(backbone, features, descriptions, control_seed=0)
    assert np.all(result.mismatched["full description"] < 1 - 1e-4)


def test_a_control_is_refused_when_most_images_share_one_text():
    with pytest.raises(ValueError, match=r"3 of the 4 images share the text 'same'"):
        control_pairing(["same", "same", "x", "same"], 0)


ROW = "images/0.png,dog,a dog.,red.\n"


def test_a_repeated_csv_row_is_named(tmp_path):
    path = _csv(tmp_path, "image,class,description,part:a\n" + ROW + "images/1.png,cat,a cat.,blue.\n" + ROW)
    with pytest.raises(ValueError, match=r"probe.csv, row 4: repeats row 2 \(the same image and texts\)"):
        read_probe_csv(path)


def test_a_csv_with_a_byte_order_mark_reads_its_first_column(tmp_path):
    """Spreadsheets write UTF-8 CSVs with a BOM; it was read as part of the first column's name."""
    path = _csv(tmp_path, "")
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert [row.line for row in read_probe_csv(path)] == [2, 4]


def test_a_latin1_csv_names_the_file_and_the_encoding(tmp_path):
    path = _csv(tmp_path, "")
    path.write_bytes(
        ("image,class,description,part:a\nimages/0.png,café,un café.,brûlé.\n").encode("latin-1")
    )
    with pytest.raises(ValueError, match=r"probe.csv: is not UTF-8 text \(byte 0xe9 at offset \d+; Latin-1"):
        read_probe_csv(path)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("a {} of a {}.", r"has 2 slot\(s\) \['\{\}', '\{\}'\]; it needs exactly one"),
        ("a photo of a {name}.", r"has 1 slot\(s\) \['\{name\}'\]"),
        ("a photo of a {.", "is not a format string"),
    ],
)
def test_a_template_needs_exactly_one_slot(tmp_path, template, message):
    with pytest.raises(ValueError, match=message):
        read_probe_csv(_csv(tmp_path, GOOD), template=template)
