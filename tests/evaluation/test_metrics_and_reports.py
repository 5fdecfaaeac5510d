from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from causalvlm.data import DATASETS
from causalvlm.evaluation import (
    FeatureCache,
    ResultsCollector,
    atomic_write_json,
    build_payload,
    ece_percent,
    encode_images,
    evaluate_features,
    harmonic_mean,
    reliability_bins,
    results_markdown,
    summarize,
    write_report,
)
from causalvlm.experiments import build_classifier, method_spec
from causalvlm.scm import load_graph


def test_harmonic_mean():
    assert harmonic_mean(80.0, 60.0) == pytest.approx(2 * 80 * 60 / 140)
    assert harmonic_mean(0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        harmonic_mean(-1.0, 50.0)


def test_ece_matches_a_hand_computation():
    # Four predictions; with 15 bins the confidences 0.9, 0.9 share a bin and 0.6, 0.6 share another.
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    labels = torch.tensor([0, 1, 0, 0])
    # bin(0.9): acc 1/2, conf 0.9 → gap 0.4, weight 1/2; bin(0.6): acc 1/2, conf 0.6 → gap 0.1, weight 1/2
    assert ece_percent(probs, labels) == pytest.approx(100 * (0.5 * 0.4 + 0.5 * 0.1), abs=1e-4)
    bins = reliability_bins(probs, labels)
    assert sum(bins["count"]) == 4
    filled = [i for i, c in enumerate(bins["count"]) if c]
    assert [bins["accuracy"][i] for i in filled] == [0.5, 0.5]
    assert [round(bins["confidence"][i], 4) for i in filled] == [0.6, 0.9]


def test_confidence_of_one_falls_in_the_last_bin():
    bins = reliability_bins(torch.tensor([[1.0, 0.0]]), torch.tensor([0]))
    assert bins["count"][-1] == 1


def test_summarize_uses_population_std_and_keeps_values():
    summary = summarize([70.0, 80.0, 90.0])
    assert summary["mean"] == pytest.approx(80.0)
    assert summary["std"] == pytest.approx((200 / 3) ** 0.5)
    assert summary["values"] == [70.0, 80.0, 90.0]
    assert summarize([float("nan")]) == {"mean": None, "std": None, "values": [None]}


def _collector():
    collector = ResultsCollector("base2new")
    for dataset, offset in (("dtd", 0.0), ("eurosat", 10.0)):
        for seed, shift in ((1, -1.0), (2, 1.0)):
            base, new = 80.0 + offset + shift, 60.0 + offset
            collector.add(
                "cdc",
                dataset,
                seed,
                {
                    "base": base,
                    "new": new,
                    "hm": harmonic_mean(base, new),
                    "ece_base": 2.0,
                    "ece_new": 3.0,
                    "template_base": [base - 1, base - 2],
                    "template_new": [new - 1, new - 2],
                },
            )
    collector.add_history("cdc", "dtd", [{"epoch": 0.0, "base_acc": 50.0, "new_acc": 50.0}])
    return collector


def test_collector_summarises_over_seeds_and_averages_over_datasets():
    collector = _collector()
    summary = collector.summary()
    assert summary["cdc"]["dtd"]["base"]["mean"] == pytest.approx(80.0)
    assert summary["cdc"]["dtd"]["base"]["std"] == pytest.approx(1.0)
    assert [t["mean"] for t in summary["cdc"]["eurosat"]["template_new"]] == [69.0, 68.0]
    average = collector.average()
    assert average["cdc"]["base"]["mean"] == pytest.approx(85.0)
    assert average["cdc"]["new"]["std"] == pytest.approx(0.0)
    assert "template_base" not in average["cdc"]
    with pytest.raises(ValueError, match="added twice"):
        collector.add("cdc", "dtd", 1, {"base": 1.0})


def test_markdown_tables_have_the_papers_shape():
    payload = build_payload("base2new", _collector(), [], {"cdc": {}}, {})
    markdown = results_markdown(payload)
    assert "### Average over 2 datasets" in markdown and "### dtd" in markdown
    assert "| Method | Base | New | HM | ECE base | ECE new |" in markdown
    assert "| cdc | 80.00 ± 1.00 | 60.00 ± 0.00 |" in markdown
    assert "| Method | Set | S1 | S2 | Fused |" in markdown


def test_cross_protocol_tables_list_targets_and_their_average():
    collector = ResultsCollector("cross-dataset")
    for name, acc in (("imagenet", 70.0), ("dtd", 40.0), ("eurosat", 50.0)):
        collector.add("coop", name, 1, {"acc": acc, "ece": 5.0, "template_acc": [acc]})
    payload = build_payload("cross-dataset", collector, [], {"coop": {}}, {}, targets=["dtd", "eurosat"])
    assert payload["average"]["coop"]["acc"]["mean"] == pytest.approx(45.0)
    markdown = results_markdown(payload)
    assert "| Method | imagenet | dtd | eurosat | Average (targets) |" in markdown
    assert "| coop | 70.00 | 40.00 | 50.00 | 45.00 |" in markdown


def test_atomic_json_write_leaves_the_old_file_when_serialisation_fails(tmp_path):
    path = tmp_path / "results.json"
    atomic_write_json(path, {"ok": 1})
    with pytest.raises(ValueError):
        atomic_write_json(path, {"bad": float("nan")})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temp files left behind


def _splits(jpeg_root, subsample):
    return DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=1, subsample=subsample)


def test_feature_cache_encodes_each_image_list_once(backbone, jpeg_root):
    base = _splits(jpeg_root, "base")
    cache = FeatureCache(backbone)
    first = cache.get(base.test)
    assert cache.get(list(base.test)) is first and len(cache) == 1
    features, labels = first
    assert features.shape == (len(base.test), backbone.embed_dim)
    torch.testing.assert_close(features.norm(dim=-1), torch.ones(len(base.test)))
    image = backbone.preprocess(Image.open(base.test[0].impath).convert("RGB"))
    torch.testing.assert_close(features[0], backbone.encode_image(image[None])[0], rtol=1e-4, atol=1e-5)
    assert labels.tolist() == [d.label for d in base.test]


def test_evaluation_on_new_classes_uses_new_class_names_and_learned_context(backbone, jpeg_root):
    base, new = _splits(jpeg_root, "base"), _splits(jpeg_root, "new")
    spec = method_spec("cdc", templates=2)
    torch.manual_seed(0)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    with torch.no_grad():  # stands in for learned context: any change of the prompt parameters
        for p in classifier.trainable_parameters():
            p.add_(0.1 * torch.randn_like(p))
    features, labels = encode_images(backbone, new.test)
    result = evaluate_features(classifier, features, labels, new.classnames)
    assert classifier.classnames == base.classnames  # restored afterwards
    assert result.probs.shape == (len(new.test), len(new.classnames))
    assert len(result.template_accuracy) == 2
    # The same learned context built directly on the new classes gives the same predictions.
    reference = build_classifier(spec, backbone, new.classnames, base.template)
    reference.mediator.load_state_dict(classifier.mediator.state_dict())
    expected = reference.forward_features(features).probs
    torch.testing.assert_close(result.probs, expected, rtol=1e-5, atol=1e-6)


def test_report_writes_results_and_every_figure(backbone, jpeg_root, tmp_path):
    base, new = _splits(jpeg_root, "base"), _splits(jpeg_root, "new")
    classifier = build_classifier(method_spec("cdc", templates=2), backbone, base.classnames, base.template)
    evaluations = {
        "cdc": {
            "colours/base": evaluate_features(
                classifier, *encode_images(backbone, base.test), base.classnames
            ),
            "colours/new": evaluate_features(classifier, *encode_images(backbone, new.test), new.classnames),
        }
    }
    compute = [
        {"method": "cdc", "templates": 2, "trainable_params": 10, "train_images_per_s": 5.0,
         "inference_images_per_s": 9.0, "device": "CPU"},
    ]  # fmt: skip
    payload = build_payload("base2new", _collector(), compute, {"cdc": {}}, {"epochs": 1})
    written = write_report(tmp_path / "out", payload, evaluations, load_graph("cdc_frontdoor"))
    names = sorted(Path(p).name for p in written)
    assert names == sorted(
        ["results.json", "results.md", "accuracy_per_epoch.png", "reliability.png", "scm.png",
         "template_accuracy.png", "compute.png"]
    )  # fmt: skip
    for path in written:
        if path.suffix == ".png":
            with Image.open(path) as image:
                assert image.size[0] > 100 and image.size[1] > 100
    loaded = json.loads((tmp_path / "out" / "results.json").read_text())
    assert loaded["results"]["cdc"]["dtd"]["hm"]["mean"] > 0
    assert "### Compute" in (tmp_path / "out" / "results.md").read_text()
