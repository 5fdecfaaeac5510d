"""Every check before the work: a later method's options, the Trainer's settings and the ρ sweep's folders
fail before the first run starts, and leave nothing behind."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers import write_jpeg_dataset, write_micro_clip

import causalvlm.experiments.experiment as experiment
from causalvlm.config_model import ConfigError
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.rho_sweep import check_sweep

RUN_PY = Path(__file__).parents[2] / "examples" / "cdc" / "run.py"


class Started(AssertionError):
    """The work began although a check should have stopped it."""


def _trap(*args, **kwargs):
    raise Started("a run started")


def _main():
    spec = importlib.util.spec_from_file_location("run_for_checks", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("checks")
    return [
        "--dataset", "imagefolder", "--data-root", str(write_jpeg_dataset(root / "colours")),
        "--backbone", str(write_micro_clip(root)), "--pretrained", "none", "--seeds", "1", "--shots", "1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("methods", "message"),
    [
        (["coop", {"method": "cocoop", "mediator_options": {"n_ctx": 0}}], r"methods\[1\]: cocoop: n_ctx"),
        (["coop", {"method": "maple", "mediator_options": {"depth": 99}}], r"methods\[1\]: maple: .*depth"),
        (
            ["zeroshot", {"method": "cdc", "mediator_options": {"ctx_init": "a {} photo"}}],
            r"methods\[1\]: cdc",
        ),
    ],
)
def test_a_later_methods_options_fail_before_the_first_run(
    inputs, tmp_path, monkeypatch, capsys, methods, message
):
    """They failed when that method was built, after the earlier methods had trained and written runs."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(experiment.ProtocolRunner, "prepare", _trap)
    monkeypatch.setattr(experiment.ProtocolRunner, "run", _trap)
    config = tmp_path / "methods.yaml"
    config.write_text(json.dumps({"methods": methods}))
    out = tmp_path / "out"
    assert _main()([*inputs, "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert __import__("re").search(message, err), err
    assert not out.exists()  # nothing written: not even the output folder


def test_the_check_builds_leave_the_random_state_alone(backbone):
    import torch

    from causalvlm.experiments.method_specs import method_spec

    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    experiment.check_methods_build([method_spec("coop"), method_spec("cdc", templates=2)], backbone)
    assert torch.equal(torch.rand(3), expected)


def test_an_fsdp_strategy_on_cpu_is_refused_before_anything_runs(tmp_path):
    config = ExperimentConfig(out=str(tmp_path / "out"), train={"strategy": "fsdp", "accelerator": "cpu"})
    with pytest.raises(ConfigError, match=r"train.strategy: Lightning refuses .* requires a GPU accelerator"):
        experiment.validate_experiment(config)


@pytest.mark.parametrize(
    ("rhos", "folder"), [([0.1234561, 0.1234564], "rho_0.123456"), ([1e-7, 1.0000001e-7], "rho_1e-07")]
)
def test_a_sweep_whose_values_share_a_folder_is_refused_before_the_first_value(tmp_path, rhos, folder):
    config = ExperimentConfig(out=str(tmp_path / "sweep"), data_root=str(tmp_path / "data"))
    with pytest.raises(ValueError, match=rf"write to the same folder {folder}"):
        check_sweep(config, rhos)
