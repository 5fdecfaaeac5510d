"""Methods as plug-ins: one registered object per method, named loss terms, entry-point plug-ins, and a run
identity that keeps old runs resumable."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest
import torch

from causalvlm import FrontDoorClassifier
from causalvlm.experiments import method_spec
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.method_specs import METHODS, MethodSpec, loss_terms_of
from causalvlm.mediators import MEDIATORS, CoOpMediator
from causalvlm.methods import METHOD_REGISTRY, Method, get_method, load_plugins, method_names
from causalvlm.runs.checkpoints import ResumeError
from causalvlm.runs.run_dirs import RunDirectory
from causalvlm.runs.run_identity import fingerprint

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fingerprints_before_plugins.json"
CLASSES = ["dog", "cat", "bird"]


@pytest.mark.parametrize("name", method_names())
def test_every_method_is_one_consistent_object(name):
    method = get_method(name)
    spec = method_spec(name)
    assert method.name == name and spec.label == name and spec.trains == method.trains
    assert method.mediator in MEDIATORS
    # every weighted term is one the method's mediator or aggregator declares
    assert set(spec.weights) <= set(loss_terms_of(spec.mediator, spec.aggregator))
    assert set(method.weight_names.values()) <= set(loss_terms_of(spec.mediator, spec.aggregator))
    if method.recipe:
        assert method_spec(name, recipe=True).train == {**method.recipe}


def test_no_source_file_outside_a_methods_own_module_names_a_method():
    """Drivers, reports and plots read the method objects; only causalvlm/methods (and each mediator's own
    registration in causalvlm/mediators) spell a method's name in code."""
    names = set(METHODS)
    files = [*(ROOT / "causalvlm").rglob("*.py"), ROOT / "examples" / "cdc" / "run.py"]  # commands/ too
    found = []
    for path in files:
        if path.relative_to(ROOT).parts[1] in ("methods", "mediators"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, found


class _TermMediator(CoOpMediator):
    """CoOp plus a made-up regulariser L_half = 0.5 (kept on the graph of the text features)."""

    provides = ("L_half",)

    def regularizers(self, text_features, logit_scale):
        return {"L_half": text_features.sum() * 0 + 0.5}


def test_the_classifier_sums_named_terms_with_their_weights(backbone):
    mediator = _TermMediator(backbone, CLASSES, ctx_init="a photo of a")
    classifier = FrontDoorClassifier(backbone, mediator, "logit-avg", loss_weights={"L_half": 3.0})
    images, labels = torch.randn(2, 3, 32, 32), torch.tensor([0, 2])
    terms = classifier.loss_terms(images, labels)
    assert set(terms) == {"loss", "L_t-ce", "L_half"}
    assert terms["loss"].item() == pytest.approx(terms["L_t-ce"].item() + 3.0 * 0.5)
    with pytest.raises(ValueError, match=r"enable \['L_kg'\].*provide \['L_half'\]"):
        FrontDoorClassifier(backbone, mediator, "logit-avg", loss_weights={"L_kg": 1.0})


def test_weights_are_set_by_term_or_by_the_methods_name_for_it():
    assert method_spec("cdc", weights={"L_de": 0.5}) == method_spec("cdc", beta=0.5)
    assert method_spec("cdc", beta=0.5).label == "cdc[beta=0.5]"
    with pytest.raises(ValueError, match="L_kg is not a loss weight of method 'coop'"):
        method_spec("coop", weights={"L_kg": 1.0})


def test_runs_fingerprinted_before_methods_became_plug_ins_keep_their_fingerprint():
    """config.json fingerprints written by the code before this change (the fixture) match what the code
    computes now for the same settings, so --resume accepts those runs."""
    runs = json.loads(FIXTURE.read_text())["runs"]
    assert len(runs) >= 10
    for run in runs:
        spec = method_spec(**run["arguments"])
        assert spec.label == run["label"]
        assert spec.identity() == run["method"]
        assert fingerprint({**run["run_config"], "method": spec.identity()}) == run["fingerprint"]


def test_a_run_directory_written_before_the_change_resumes_after_it(tmp_path):
    """The run folder's config.json as the old code wrote it: --resume accepts it under today's settings."""
    for index, run in enumerate(json.loads(FIXTURE.read_text())["runs"]):
        directory = RunDirectory(tmp_path / f"run{index}")
        directory.path.mkdir()
        directory.config_path.write_text(
            json.dumps({"fingerprint": run["fingerprint"], "config": run["run_config"]})
        )
        now = {**run["run_config"], "method": method_spec(**run["arguments"]).identity()}
        assert directory.plan(now, max_epochs=200, resume=True, overwrite=False) is None  # no checkpoint yet
        with pytest.raises(ResumeError, match="method.gamma"):  # and a real change is still refused
            directory.plan(
                {**now, "method": {**now["method"], "gamma": 3.0}}, 200, resume=True, overwrite=False
            )


@pytest.mark.parametrize("name", method_names())
def test_the_recorded_identity_reads_back_as_the_same_spec(name):
    terms = list(get_method(name).weight_names.values())
    spec = method_spec(name, weights={terms[0]: 0.5}) if terms else method_spec(name)
    assert MethodSpec.from_identity(spec.identity()) == spec
    assert MethodSpec.from_identity(spec.to_dict()) == spec


def test_a_field_left_at_its_default_is_not_recorded():
    spec = method_spec("coop")
    assert "weights" not in spec.identity()  # no weight beyond the frozen beta/gamma: nothing new recorded
    assert method_spec("cdc", weights={"L_de": 1.0, "L_con": 1.0}).identity() == method_spec("cdc").identity()


def _write_plugin(root: Path) -> None:
    """A tiny installed distribution: its module defines a method, its dist-info declares the entry point."""
    (root / "toy_method_plugin.py").write_text(
        "from causalvlm.methods import Method\n"
        "TOY = Method(name='toy-coop', summary='CoOp from a plug-in', preset={'mediator': 'coop', "
        "'templates': 1, 'aggregator': 'logit-avg', 'augmentation': 'none'}, colour='tab:olive')\n"
    )
    info = root / "toy_method_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-method-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[causalvlm.methods]\ntoy-coop = toy_method_plugin:TOY\n")


def test_a_method_from_another_package_registers_through_the_entry_point_group(tmp_path, monkeypatch):
    _write_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(METHOD_REGISTRY, "_factories", dict(METHOD_REGISTRY._factories))
    try:
        assert load_plugins() == ["toy-coop"]
        assert "toy-coop" in method_names() and isinstance(get_method("toy-coop"), Method)
        spec = method_spec("toy-coop")
        assert spec.mediator == "coop" and spec.label == "toy-coop" and spec.trains
        config = ExperimentConfig(methods=["toy-coop"], out=str(tmp_path / "out"))
        assert config.methods[0].label == "toy-coop"
    finally:
        sys.modules.pop("toy_method_plugin", None)
        from causalvlm import methods

        methods._loaded_plugins.difference_update({"toy-coop=toy_method_plugin:TOY"})


def test_a_broken_plug_in_is_named(tmp_path, monkeypatch):
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[causalvlm.methods]\nbroken = no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(RuntimeError, match="method plug-in 'broken' .*no_such_module_here"):
        load_plugins()


def test_run_py_gives_aug_to_every_method_that_trains_and_cdc_flags_to_variable_m_methods():
    """No list of names in `causalvlm run`: a method that trains gets --aug (it once silently kept aug2)."""
    from causalvlm.commands import run

    overrides = run.overrides_from(
        run.parse_args(["--method", "zeroshot", "coop", "kgcoop", "--aug", "none"])
    )
    assert overrides["methods"] == [
        {"method": "zeroshot"},
        {"method": "coop", "aug": "none"},
        {"method": "kgcoop", "aug": "none"},
    ]
    overrides = run.overrides_from(run.parse_args(["--method", "kgcoop", "cdc+cocoop", "--templates", "2"]))
    assert overrides["methods"] == [{"method": "kgcoop"}, {"method": "cdc+cocoop", "templates": 2}]
