"""Every GPU figure of docs/performance.md in one prepared command, for a GPU machine without a package index.

    make wheelhouse                 # dev machine (network): the wheels into .whl/, to be carried along
    make gpu-check                  # GPU machine: install offline, test, benchmark -> gpu_check/gpu_check.md
    python benchmarks/gpu_check.py --cpu --out /tmp/gc    # the same script on small settings, on CPU (tested)

On the GPU machine the script (1) makes a virtual environment over the system's packages (torch and
torchvision must be there) and installs the carried wheels, exactly what the image lacks, with ``pip
--no-index --no-deps`` (causalvlm itself runs from this checkout); (2) runs the gpu and slow tests
(``pytest -m "gpu or slow"`` on the test modules that carry those marks); (3) runs the ViT-B/16 benchmarks of
docs/performance.md: the training step grid with and without gradient checkpointing, end-of-text truncation
and CoCoOp batching (``--scale full``); (4) writes every figure, with the device, versions, each step's status
and wall time, into one file, ``gpu_check.md`` (tables, what each step printed, then all rows as JSON). Each
step runs in its own process under its own time limit, and the limits add up to ``--budget`` seconds (default
450, so the whole check ends within 8 minutes on one H200 with start and install); a step that fails or runs
out of time is recorded as such and the next one runs.

``--cpu`` runs the same steps on small settings (no install unless ``--wheelhouse`` is given: the current
interpreter is used; ``pytest -m gpu``, whose tests skip without CUDA; the benchmarks' ``quick`` scale on
the bench configs), which is what tests/benchmarks/test_gpu_check.py exercises.
``--build-wheelhouse DIR`` (what ``make wheelhouse`` runs) downloads into DIR, for the GPU machine's Python
3.12 on x86-64 Linux, the packages pinned in constraints.txt that causalvlm's runtime dependencies and pytest
need and the GPU image does not hold (:data:`GPU_IMAGE_PACKAGES`); the optional extras stay behind.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
TINY_CONFIG = BENCHMARKS / "configs" / "bench_tiny_clip.json"
# Not carried: present on a GPU machine with torch (or far too large to carry), or needed only to lint.
# sympy and mpmath come with torch. What is carried: about 62 MiB (Python 3.11, x86_64).
NOT_CARRIED = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*|sympy|mpmath|mypy.*|librt|"
                         r"ast.serialize|pathspec|types-.*|ruff|scipy|hypothesis)$", re.I)  # fmt: skip
# The Python packages the GPU machine's image already holds (the device tool's KINDS.md, nvidia-h200, as
# read on 2026-11-17): they are used as they are there, and only the rest travel. Its python3 is 3.12.
GPU_IMAGE_PACKAGES = frozenset(
    """aiohappyeyeballs aiohttp aiosignal anyio attrs certifi charset-normalizer click contourpy cycler
    filelock fonttools frozenlist fsspec h11 hf-xet httpcore httpx huggingface-hub idna iniconfig jinja2
    kiwisolver lightning-utilities markupsafe matplotlib multidict networkx numpy packaging pillow pluggy
    propcache pygments pyparsing pytest python-dateutil pytorch-lightning pyyaml regex requests safetensors
    six timm torch torchmetrics torchvision tqdm triton typing-extensions urllib3 yarl""".split()
)
GPU_PYTHON = "3.12"
# share of --budget each step may use (what it does not use passes on to the next)
SHARES = {"tests": 0.30, "training_step": 0.30, "training_step_ckpt": 0.20, "eot": 0.05, "cocoop": 0.15}


# ------------------------------------------------------------------------------------------------ steps
def step_rows(name: str, cpu: bool) -> Any:
    """Run one benchmark step in this process and return its rows."""
    device = ["--device", "cpu"] if cpu else []
    scale = ["--scale", "quick" if cpu else "full"]
    if name == "training_step":
        return _bench("bench_training_step").main([*scale, *device])
    if name == "training_step_ckpt":
        return _bench("bench_training_step").main([*scale, *device, "--grad-checkpointing"])
    if name == "cocoop":
        return _bench("bench_cocoop_batching").main([*scale, *device])
    if name == "eot":
        arch = ["--arch", str(TINY_CONFIG), "--repeats", "1"] if cpu else ["--arch", "ViT-B-16"]
        return _bench("bench_eot_truncation").main(arch)
    raise ValueError(f"unknown step {name!r}")


def _bench(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def marked_test_files() -> list[str]:
    """The test modules with gpu or slow tests (only these are collected: others need dev-only packages)."""
    marks = re.compile(r"pytest\.mark\.(gpu|slow)\b")
    return sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "tests").rglob("test_*.py")
        if marks.search(path.read_text(encoding="utf-8"))
    )


def run_tests(python: str, cpu: bool, limit: float, log: Path) -> dict[str, Any]:
    """pytest on the marked modules; counts from its JUnit report."""
    report = log.with_suffix(".xml")
    marker = "gpu" if cpu else "gpu or slow"
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker, f"--junitxml={report}"]
    done = _run([*command, *marked_test_files()], limit, log)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if report.is_file():
        text = report.read_text(encoding="utf-8")
        found = re.search(r"<testsuite [^>]*>", text)
        for key in counts:
            value = re.search(rf'\b{key}="(\d+)"', found.group(0)) if found else None
            counts[key] = int(value.group(1)) if value else 0
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {**done, "marker": marker, "counts": counts}


# ------------------------------------------------------------------------------------------------ driver
def _run(command: list[str], limit: float, log: Path) -> dict[str, Any]:
    """Run ``command`` in the checkout (its causalvlm first on the path) with a time limit; its output goes to
    ``log``; status and wall time come back."""
    start = time.perf_counter()
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    with open(log, "w", encoding="utf-8") as stream:
        try:
            code = subprocess.run(
                command, stdout=stream, stderr=subprocess.STDOUT, timeout=max(1.0, limit), env=env, cwd=REPO
            ).returncode
            status = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            status = f"timed out after {limit:.0f} s"
    return {"status": status, "wall_s": round(time.perf_counter() - start, 1), "log": log.name}


def environment(python: str) -> dict[str, Any]:
    code = (
        "import json, platform, torch\n"
        "cuda = torch.cuda.is_available()\n"
        "print(json.dumps({'python': platform.python_version(), 'torch': torch.__version__,\n"
        "  'cuda': torch.version.cuda, 'device': torch.cuda.get_device_name(0) if cuda else 'cpu',\n"
        "  'devices': torch.cuda.device_count(), 'cpu_threads': torch.get_num_threads()}))\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no torch"}
    return {**json.loads(done.stdout), "machine": f"{platform.machine()} {platform.node()}"}


def install(wheelhouse: Path, env_dir: Path, log: Path) -> tuple[str, dict[str, Any]]:
    """A venv over the system's packages (torch from there) with causalvlm's missing dependencies and pytest
    from ``wheelhouse``, pinned as in constraints.txt; causalvlm itself is run from this checkout."""
    if not wheelhouse.is_dir() or not any(wheelhouse.glob("*.whl")):
        raise FileNotFoundError(f"--wheelhouse {wheelhouse}: no wheels there (make wheelhouse builds them)")
    venv.EnvBuilder(system_site_packages=True, with_pip=True, clear=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    # --isolated: no pip configuration or PIP_* variable of the machine points anywhere else; --no-deps: the
    # carried wheels are exactly what the image lacks, and everything else is used as the image has it
    offline = ["--isolated", "--no-index", "--no-deps", "--no-compile"]
    command = [python, "-m", "pip", "install", *offline, *map(str, sorted(wheelhouse.glob("*.whl")))]
    return python, _run(command, 300, log)


def runtime_dependencies() -> list[str]:
    """``[project] dependencies`` of pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.M | re.S)
    return re.findall(r'"([^"]+)"', block.group(1)) if block else []


def carried_pins() -> list[str]:
    """The pins of constraints.txt a GPU machine gets from the wheelhouse: what the runtime dependencies
    and pytest need (:func:`runtime_closure`) that the GPU image lacks (:data:`GPU_IMAGE_PACKAGES`), less
    torch's own family. The optional extras (the interop converters' pgmpy, dowhy, y0) stay behind: the GPU
    steps never import them, and the carried folder must stay under the device tool's 64 MiB."""
    needed = runtime_closure([*runtime_dependencies(), "pytest"]) - GPU_IMAGE_PACKAGES
    pins = []
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name = line.split("==")[0].strip()
        if (
            line.strip()
            and not line.startswith("#")
            and not NOT_CARRIED.match(name)
            and _canon(name) in needed
        ):
            pins.append(line.strip())
    return pins


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(requirements: list[str]) -> set[str]:
    """Canonical names of ``requirements`` and everything they require, extras they ask for included
    (``fsspec[http]`` brings aiohttp), read from the installed packages' metadata for this machine."""
    from packaging.requirements import Requirement

    seen: set[tuple[str, str]] = set()  # (package, extra or "")
    stack = [(r.name, extra) for r in map(Requirement, requirements) for extra in ("", *r.extras)]
    while stack:
        name, extra = stack.pop()
        name = _canon(name)
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                if requirement.marker is None and extra:
                    continue  # an unmarked requirement belongs to the package itself, seen with extra ""
                stack.extend((requirement.name, e) for e in ("", *requirement.extras))
    return {name for name, _ in seen}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cpu", action="store_true", help="the same steps on small settings, on CPU")
    parser.add_argument("--wheelhouse", type=Path, help="carried wheels to install from (GPU default: .whl)")
    parser.add_argument(
        "--out", type=Path, default=Path("gpu_check"), help="folder for gpu_check.md and logs"
    )
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for tests and benchmarks")
    parser.add_argument("--build-wheelhouse", type=Path, metavar="DIR", help="download the wheels into DIR")
    parser.add_argument("--step", help=argparse.SUPPRESS)  # internal: one benchmark step, in its own process
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_wheelhouse is not None:
        return build_wheelhouse(args.build_wheelhouse)
    if args.step is not None:
        args.json.write_text(json.dumps(step_rows(args.step, args.cpu), default=float))
        return 0

    start = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    python, steps = sys.executable, {}
    wheelhouse = args.wheelhouse or (None if args.cpu else REPO / ".whl")
    if wheelhouse is not None:
        python, steps["install"] = install(wheelhouse, args.out / "venv", args.out / "install.log")
    else:
        steps["install"] = {"status": "skipped (--cpu: this interpreter)", "wall_s": 0.0}
    env = environment(python)
    results: dict[str, Any] = {}
    deadline = time.perf_counter() + args.budget
    for index, (name, share) in enumerate(SHARES.items()):
        # this step's share of the time still left (what earlier steps did not use passes on)
        limit = _left(deadline) * share / sum(list(SHARES.values())[index:])
        log = args.out / f"{name}.log"
        if name == "tests":
            steps[name] = run_tests(python, args.cpu, limit, log)
            continue
        rows = args.out / f"{name}.json"
        command = [python, str(Path(__file__).resolve()), "--step", name, "--json", str(rows)]
        steps[name] = _run([*command, *(["--cpu"] if args.cpu else [])], limit, log)
        if rows.is_file():
            results[name] = json.loads(rows.read_text())
    report = {
        "mode": "cpu (small settings)" if args.cpu else "gpu",
        "environment": env,
        "steps": steps,
        "results": results,
        "total_wall_s": round(time.perf_counter() - start, 1),
    }
    logs = {name: _tail(args.out / step["log"]) for name, step in steps.items() if "log" in step}
    path = args.out / "gpu_check.md"
    path.write_text(render(report, logs), encoding="utf-8")
    print(f"wrote {path} ({report['total_wall_s']} s)")
    return 0 if all(step["status"].startswith(("ok", "skipped")) for step in steps.values()) else 1


def _left(deadline: float) -> float:
    return max(1.0, deadline - time.perf_counter())


# ------------------------------------------------------------------------------------------------ report
def _tail(path: Path, chars: int = 30_000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else "(no log)"
    return text if len(text) <= chars else "...\n" + text[-chars:]


def render(report: dict[str, Any], logs: dict[str, str]) -> str:
    """The tables, every step's printed output (figures printed but not returned, e.g. the text encoder's
    FLOP/s and inference images/s, and whatever a step printed before it failed or ran out of time), then all
    returned rows as JSON."""
    env, steps, results = report["environment"], report["steps"], report["results"]
    lines = [f"# GPU check ({report['mode']})", "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in env.items()]
    lines += ["", "## Steps", "", "| step | status | wall s |", "|---|---|---:|"]
    lines += [f"| {name} | {step['status']} | {step['wall_s']} |" for name, step in steps.items()]
    if "tests" in steps:
        counts = steps["tests"]["counts"]
        lines += [
            "",
            f'Tests (`-m "{steps["tests"]["marker"]}"`): ' + ", ".join(f"{v} {k}" for k, v in counts.items()),
        ]
    for name, rows in results.items():
        rows = rows if isinstance(rows, list) else [rows]
        if not rows:
            continue
        keys = list(rows[0])
        lines += ["", f"## {name}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(_cell(row.get(key)) for key in keys) + " |" for row in rows]
    lines += ["", f"Total wall time: {report['total_wall_s']} s", "", "## What each step printed"]
    for name, text in logs.items():
        lines += ["", f"### {name}", "", "```text", text.rstrip(), "```"]
    lines += ["", "## All figures (JSON)", "", "```json",
              json.dumps(report, indent=1, default=str), "```", ""]  # fmt: skip
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "OOM" if value != value else f"{value:.4g}"
    return str(value)


# ------------------------------------------------------------------------------------------------ wheelhouse
def build_wheelhouse(folder: Path) -> int:
    """The carried pins (:func:`carried_pins`) as wheels for the GPU machine's Python (:data:`GPU_PYTHON`,
    x86-64 Linux), into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tags = ("manylinux_2_28", "manylinux_2_27", "manylinux_2_17", "manylinux2014", "manylinux1")
    platforms = [f"--platform={tag}_x86_64" for tag in tags]
    target = ["--python-version", GPU_PYTHON, "--implementation", "cp", *platforms]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as stream:
        stream.write("\n".join(carried_pins()) + "\n")
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *target,
                        "-d", str(folder), "-r", stream.name], check=True)  # fmt: skip
    finally:
        os.unlink(stream.name)
    size = sum(path.stat().st_size for path in folder.glob("*.whl")) / 2**20
    print(f"{folder}: {len(list(folder.glob('*.whl')))} wheels, {size:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
