"""A rerun never replaces what it did not write: an experiment that trains nothing (zero-shot only) leaves
no runs/, and a plain rerun into its folder replaced its results and left old figures beside new ones."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers import write_jpeg_dataset, write_micro_clip

RUN_PY = Path(__file__).parents[2] / "examples" / "cdc" / "run.py"


def _main():
    spec = importlib.util.spec_from_file_location("run_for_rerun", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory) -> tuple[list[str], Path]:
    root = tmp_path_factory.mktemp("zeroshot")
    settings = root / "fast.yaml"
    settings.write_text(json.dumps({"compute_templates": [1]}))
    argv = [
        "--config", str(settings), "--dataset", "imagefolder",
        "--data-root", str(write_jpeg_dataset(root / "colours")),
        "--backbone", str(write_micro_clip(root)), "--pretrained", "none",
        "--method", "zeroshot", "--seeds", "1", "--shots", "2",
    ]  # fmt: skip
    return argv, root


def test_a_plain_rerun_of_a_zero_shot_experiment_is_refused_and_changes_nothing(
    zero_shot, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    argv, _ = zero_shot
    out = tmp_path / "out"
    assert _main()([*argv, "--out", str(out)]) == 0
    assert not (out / "runs").exists() and (out / "results.json").is_file()
    before = _snapshot(out)
    capsys.readouterr()
    assert _main()([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} already holds the results of an earlier experiment ({out / 'results.json'})" in err
    assert "add --overwrite" in err
    assert _snapshot(out) == before


@pytest.mark.parametrize("option", ["--overwrite", "--resume"])
def test_a_rerun_that_replaces_the_results_leaves_no_old_figure(zero_shot, tmp_path, monkeypatch, option):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    argv, _ = zero_shot
    out = tmp_path / "out"
    assert _main()([*argv, "--out", str(out)]) == 0
    # figures an earlier experiment of other methods drew, which a zero-shot report does not have
    for name in ("compute.png", "template_accuracy.png", "similarity_probe.png"):
        (out / name).write_bytes(b"an old figure")
    first = _snapshot(out)
    assert _main()([*argv, "--out", str(out), option]) == 0
    payload = json.loads((out / "results.json").read_text())
    claimed = {"results.json", "results.md", *payload["figures"].values()}
    now = _snapshot(out)
    assert set(now) <= claimed | {"run.lock"}, f"files the new results do not describe: {set(now) - claimed}"
    assert all(now[name] != first.get(name) for name in now)  # every file is the new experiment's
    assert all((out / name).is_file() for name in payload["figures"].values())  # and it lists what is there
