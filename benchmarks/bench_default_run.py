"""The default run's speed levers, each measured side by side in one process: wall and CPU time, and ratios.

    python benchmarks/bench_default_run.py [--epochs 40] [--root /tmp/bench-world]

On the default world (ShapeWorld, tiny CLIP, 12 base classes × 16 shots) it trains the default run's CDC
(M = 4, its template starts and aug1-colour views) and times, for each lever, the default setting against the
alternative:

* torch threads: 1 against 2 (the tiny model's ops are too small to split);
* a bank of encoded view draws (``train.view_bank``) against augmenting and encoding afresh every epoch;
* CoOp's batches of 32 against one full-batch step per epoch (the same epochs; measured, not taken: it cost
  CDC base accuracy on validation, see docs/results.md);
* validation every 10 epochs against every epoch;
* one view bank shared by three seeds' few-shot draws against one bank per seed.

CPU time is ``time.process_time()`` of this process (all its threads); wall time is what a user waits. On a
shared machine wall time grows with the load; CPU time much less. Ratios are alternative / default.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable

import torch

from causalvlm.experiments.experiment import prepare_world, validate_experiment
from causalvlm.experiments.layers import build_experiment
from causalvlm.experiments.method_parts import build_view_transform
from causalvlm.experiments.method_specs import MethodSpec
from causalvlm.experiments.protocols import ProtocolRunner, load_backbone
from causalvlm.training.view_bank import ViewBank


def timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def make_runner(root: str, train: dict) -> tuple[ProtocolRunner, object]:
    config = build_experiment(None, {"data_root": root, "out": root, "seeds": [1, 2, 3], "train": train})
    config, _ = validate_experiment(config)
    prepare_world(config, config)
    backbone = load_backbone(config.backbone, config.pretrained)
    runner = ProtocolRunner(config, backbone, log=lambda m: None)
    runner._run_dir = lambda *args: None  # timing only: no checkpoints or logs
    return runner, config


def default_cdc(config) -> MethodSpec:
    """The default run's CDC entry (its views and template starts), as the run trains it."""
    return next(spec for spec in config.methods if spec.method == "cdc")


def fit_once(runner: ProtocolRunner, seed: int = 1) -> None:
    base = runner._build("shapeworld", "base", seed)
    new = runner._build("shapeworld", "new", seed)
    spec = default_cdc(runner.config)
    runner.train_and_evaluate(spec, base, {"base": base, "new": new}, seed, "")


def row(name: str, default: tuple[float, float], other: tuple[float, float], labels: tuple[str, str]) -> None:
    (dw, dc), (ow, oc) = default, other
    print(
        f"| {name} | {labels[0]}: {dw:.1f} s wall, {dc:.1f} s CPU "
        f"| {labels[1]}: {ow:.1f} s wall, {oc:.1f} s CPU | {ow / dw:.2f}× | {oc / dc:.2f}× |",
        flush=True,
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40, help="training epochs per timed fit")
    parser.add_argument("--root", help="world folder (default: a temporary one)")
    args = parser.parse_args(argv)
    for name in ("pytorch_lightning", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    root = args.root or tempfile.mkdtemp(prefix="bench-world-")
    default = {"max_epochs": args.epochs}
    runner, config = make_runner(root, default)
    torch.set_num_threads(1)
    fit_once(runner)  # warm: world written, features cached, bank of seed 1 built
    print(f"{default_cdc(config).label}, {args.epochs} epochs, seed 1; default train: {config.train}\n")
    print("| lever | default | alternative | wall ratio | CPU ratio |\n|---|---|---|---|---|")
    rows = []

    one = timed(lambda: fit_once(runner))
    torch.set_num_threads(2)
    two = timed(lambda: fit_once(runner))
    torch.set_num_threads(1)
    row("torch threads", one, two, ("1 thread", "2 threads"))
    rows.append({"lever": "threads", "default": one, "other": two})

    fresh_runner, _ = make_runner(root, {**default, "view_bank": 0})
    bank_runner, _ = make_runner(root, default)
    with_bank = timed(lambda: fit_once(bank_runner))  # includes building the bank
    fresh = timed(lambda: fit_once(fresh_runner))
    row("view bank", with_bank, fresh, (f"bank of {config.train.view_bank} (built here)", "fresh views"))
    rows.append({"lever": "view_bank", "default": with_bank, "other": fresh})

    full_runner, _ = make_runner(root, {**default, "batch_size": 192, "optim": {"lr": 0.012}})
    full_runner.view_bank = runner.view_bank  # the same bank: only the step size differs
    small = timed(lambda: fit_once(runner))
    full = timed(lambda: fit_once(full_runner))
    row("steps per epoch", small, full, ("6 steps of 32", "1 full-batch step"))
    rows.append({"lever": "batch", "default": small, "other": full})

    every_runner, _ = make_runner(root, {**default, "val_every_n_epochs": 1})
    every_runner.view_bank = runner.view_bank
    every = timed(lambda: fit_once(every_runner))
    row("validation", small, every, ("every 10 epochs", "every epoch"))
    rows.append({"lever": "validation", "default": small, "other": every})

    spec = default_cdc(config)
    transform = build_view_transform(spec, runner.backbone)
    draws = [runner._build("shapeworld", "base", s).train_x for s in (1, 2, 3)]

    def shared() -> None:
        bank = ViewBank(runner.backbone, config.train.view_bank)
        for data in draws:
            bank.get(data, transform, key=spec.augmentation)

    def separate() -> None:
        for data in draws:
            ViewBank(runner.backbone, config.train.view_bank).get(data, transform, key=spec.augmentation)

    share = timed(shared)
    apart = timed(separate)
    row("bank across 3 seeds", share, apart, ("one shared bank", "a bank per seed"))
    rows.append({"lever": "bank_sharing", "default": share, "other": apart})
    return rows


if __name__ == "__main__":
    main()
