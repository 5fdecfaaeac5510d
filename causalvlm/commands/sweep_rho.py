"""``causalvlm sweep-rho``: sweep the strength ρ of the spurious colour cue in the world's training data.

    causalvlm sweep-rho          # ρ ∈ {0, 0.25, 0.5, 0.75, 1}, the default run's methods
    causalvlm sweep-rho --rho 0 0.5 1 --seeds 1 --epochs 50 --out outputs/sweep

``python examples/cdc/sweep_rho.py`` (same options) is the same command. Settings layer as in
``causalvlm run``: the sweep's defaults (out, data root) < --config < the options below. Every
option may be given once and is checked, with the whole config, before the first run (docs/errors.md).
Writes DIR/sweep.json, DIR/sweep.md and DIR/rho_sweep.png (base, new and HM accuracy on the interventional
test split against ρ), plus each run's own results under DIR/rho_<ρ>/ (see docs/results.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from causalvlm.cli import CheckedParser, integer, number, report_error, seed, text
from causalvlm.config_model import ConfigError
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.layers import build_experiment
from causalvlm.experiments.rho_sweep import check_sweep, sweep_rho

SWEEP_DEFAULTS = {"out": "outputs/sweep", "data_root": "outputs/sweep-data"}
OPTION_NAMES = {
    "seeds": "--seeds",
    "train.max_epochs": "--epochs",
    "data_root": "--data-root",
    "out": "--out",
    "resume": "--resume",
    "overwrite": "--overwrite",
}


def build_parser() -> CheckedParser:
    p = CheckedParser(prog="causalvlm sweep-rho", description=__doc__)
    rhos = [0.0, 0.25, 0.5, 0.75, 1.0]
    p.add_argument("--rho", nargs="+", type=number(0.0, 1.0), default=rhos, help="values in [0, 1]")
    p.add_argument(
        "--config", type=text("a YAML file"), help="YAML settings applied before the options below"
    )
    p.add_argument("--seeds", nargs="+", type=seed)
    p.add_argument("--epochs", type=integer(1))
    p.add_argument("--data-root", type=text("a folder"), help=f"default {SWEEP_DEFAULTS['data_root']}")
    p.add_argument("--out", type=text("a folder"), help=f"default {SWEEP_DEFAULTS['out']}")
    p.add_argument("--resume", action="store_true", help="continue the runs of an earlier sweep in --out")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier sweep's runs in --out first")
    return p


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if args.out is not None:
        overrides["out"] = args.out
    if args.data_root is not None:
        overrides["data_root"] = args.data_root
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    if args.epochs is not None:
        overrides["train"] = {"max_epochs": args.epochs}
    if args.resume:
        overrides["resume"] = True
    if args.overwrite:
        overrides["overwrite"] = True
    return overrides


def sweep_from(args: argparse.Namespace) -> tuple[ExperimentConfig, list[float]]:
    """The checked config and ρ values; raises ConfigError / ValueError before any run."""
    config = build_experiment(args.config, overrides_from(args), OPTION_NAMES, defaults=SWEEP_DEFAULTS)
    try:
        return config, check_sweep(config, args.rho)
    except ConfigError as error:
        option = OPTION_NAMES.get(error.key)
        raise error.named(f"{error.key} ({option})" if option else None) from None


def main(argv: list[str] | None = None) -> int:
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    args = build_parser().parse_args(argv)  # a bad option exits here with status 2
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    try:
        config, rhos = sweep_from(args)
        rows = sweep_rho(config, rhos)
    except (ValueError, KeyError, OSError) as error:
        return report_error(error)  # 2: a refused input; 1: a fault during the work (disk full)
    print(f"wrote {config.out}/sweep.json, sweep.md and rho_sweep.png ({len(rows)} rows)")
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    print(f"wall time {wall:.0f} s, CPU time {cpu:.0f} s (this process, all its threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
