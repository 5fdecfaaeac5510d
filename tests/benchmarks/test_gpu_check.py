"""benchmarks/gpu_check.py dry-run on CPU: the same steps on small settings, every figure in one file."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_wheelhouse_carries_what_the_gpu_image_lacks_and_nothing_it_has():
    gpu_check = load_script()
    names = {gpu_check._canon(pin.split("==")[0]) for pin in gpu_check.carried_pins()}
    assert {
        "open-clip-torch",
        "ftfy",
        "pydantic",
        "pydantic-core",
    } <= names  # runtime needs, not in the image
    assert not names & gpu_check.GPU_IMAGE_PACKAGES  # numpy, Lightning, pytest, torch: the image's own
    assert not names & {"torch", "torchvision", "triton", "mypy", "ruff", "scipy"}
    assert not names & {"pgmpy", "dowhy", "y0", "pandas", "scikit-learn", "numba"}  # the interop extra
    assert not any(name.startswith("nvidia") for name in names)
    assert "open_clip_torch>=2.26" in gpu_check.runtime_dependencies()


def test_the_runtime_closure_follows_requirements_and_their_extras():
    gpu_check = load_script()
    closure = gpu_check.runtime_closure(["open_clip_torch", "pytorch-lightning"])
    assert {"open-clip-torch", "ftfy", "wcwidth", "timm", "torch"} <= closure  # requirements of requirements
    assert "aiohttp" in closure  # Lightning asks for fsspec[http], whose extra brings aiohttp
    assert "pgmpy" not in closure


def test_cpu_dry_run_writes_every_figure_into_one_file(tmp_path):
    gpu_check = load_script()
    status = gpu_check.main(["--cpu", "--out", str(tmp_path), "--budget", "400"])
    text = (tmp_path / "gpu_check.md").read_text()
    assert status == 0, text
    report = json.loads(re.search(r"```json\n(.*)\n```", text, re.S).group(1))
    steps = report["steps"]
    assert list(steps) == ["install", *gpu_check.SHARES]
    assert all(step["status"] == "ok" for name, step in steps.items() if name != "install"), steps
    assert steps["tests"]["counts"]["tests"] >= 1 and steps["tests"]["counts"]["failures"] == 0
    results = report["results"]
    assert set(results) == set(gpu_check.SHARES) - {"tests"}
    assert results["training_step"][0]["ms"] > 0 and results["cocoop"][0]["loss_diff"] < 1e-4
    assert results["eot"]["max_diff"] < 1e-4 and results["eot"]["speedup"] > 0
    for name in results:
        assert f"## {name}" in text  # each benchmark's table
    for name in gpu_check.SHARES:
        assert f"### {name}" in text  # and what it printed (figures it prints but does not return)
    assert "inference M=2 C=10:" in text and "images/s" in text
    assert report["environment"]["device"] == "cpu"
