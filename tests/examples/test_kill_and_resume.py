"""kill -9 in the middle of examples/cdc/run.py, then the same command with --resume: same numbers as a run
that was never interrupted. The killed run is a real process that gets a real SIGKILL right after its first
checkpoint appears; the resume and the uninterrupted run go through run.main in this process (one thread, as
in the child), which saves two interpreter start-ups. CPU, micro CLIP, a small JPEG dataset."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from helpers import write_jpeg_dataset

from causalvlm.runs.checkpoints import RUN_KEY

REPO = Path(__file__).parents[2]
RUN_PY = REPO / "examples" / "cdc" / "run.py"
EPOCHS = 4
LIMIT_S = 300  # a hung child fails the test instead of hanging the suite


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # The child imports this checkout's causalvlm (run.py's own folder comes first on its sys.path).
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _argv(out: Path, data: Path, clip: Path, config: Path) -> list[str]:
    return [
        "--config", str(config), "--dataset", "imagefolder",
        "--data-root", str(data), "--backbone", str(clip), "--pretrained", "none",
        "--method", "cdc", "--templates", "2", "--seeds", "1", "--shots", "8",
        "--epochs", str(EPOCHS), "--out", str(out),
    ]  # fmt: skip


def _results(out: Path) -> dict:
    payload = json.loads((out / "results.json").read_text())
    return {"results": payload["results"], "history": payload["history"]}


@pytest.fixture
def small_task(tmp_path: Path, micro_clip_path: Path) -> tuple[Path, Path, Path]:
    data = write_jpeg_dataset(tmp_path / "jpegs", n_train=8, n_test=4)
    config = tmp_path / "fast.yaml"
    config.write_text(
        yaml.safe_dump({"compute_templates": [1], "train": {"batch_size": 2, "eval_batch_size": 64}})
    )
    return data, micro_clip_path, config


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # like the child (OMP_NUM_THREADS=1), so both compute in the same order
    yield
    torch.set_num_threads(threads)


def test_kill_9_mid_run_then_resume_matches_an_uninterrupted_run(small_task, tmp_path, one_thread, capsys):
    data, clip, config = small_task
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    run = importlib.import_module("causalvlm.commands.run")  # what examples/cdc/run.py (the child) calls
    assert run.main(_argv(whole, data, clip, config)) == 0

    checkpoint = cut / "runs" / "cdc_M=2" / "imagefolder" / "seed1" / "checkpoints" / "last.ckpt"
    child = subprocess.Popen(
        [sys.executable, str(RUN_PY), *_argv(cut, data, clip, config)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + LIMIT_S
    while not checkpoint.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)  # the first epoch's checkpoint is there: kill at once
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    done = torch.load(checkpoint, weights_only=True)[RUN_KEY]["epochs_done"]
    assert 1 <= done < EPOCHS  # killed in the middle of the fit, with at least one finished epoch saved
    assert not (cut / "results.json").exists()

    capsys.readouterr()
    assert run.main(_argv(cut, data, clip, config) + ["--resume"]) == 0
    assert "resuming from" in capsys.readouterr().out
    assert _results(cut) == _results(whole)  # every metric and every per-epoch row, exactly
    leftovers = [p.name for p in cut.rglob("*") if p.name.endswith(".tmp") or p.name.startswith("last-v")]
    assert leftovers == [] and not (cut / "run.lock").exists()
