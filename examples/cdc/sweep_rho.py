"""Sweep the strength ρ of the spurious colour cue in the world's few-shot training set.

    python examples/cdc/sweep_rho.py                                   # ρ ∈ {0, 0.5, 0.9}, all three methods
    python examples/cdc/sweep_rho.py --rho 0 0.3 0.6 0.9 --seeds 1 --epochs 5 --out outputs/sweep

Writes DIR/sweep.json, DIR/sweep.md and DIR/rho_sweep.png (HM and new-class accuracy against ρ), plus each
run's own results under DIR/rho_<ρ>/ (see docs/results.md).
"""

from __future__ import annotations

import argparse
import logging
import sys

from causalvlm.training.experiment import build_experiment
from causalvlm.training.rho_sweep import sweep_rho


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rho", nargs="+", type=float, default=[0.0, 0.5, 0.9])
    p.add_argument("--config", help="YAML settings applied before the options below")
    p.add_argument("--seeds", nargs="+", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--data-root", default="outputs/sweep-data")
    p.add_argument("--out", default="outputs/sweep")
    p.add_argument("--resume", action="store_true", help="continue the runs of an earlier sweep in --out")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier sweep's runs in --out first")
    args = p.parse_args(argv)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    overrides = {"out": args.out, "data_root": args.data_root}
    if args.resume or args.overwrite:
        overrides |= {"resume": args.resume, "overwrite": args.overwrite}
    if args.seeds:
        overrides["seeds"] = args.seeds
    if args.epochs:
        overrides["train"] = {"max_epochs": args.epochs}
    try:
        config = build_experiment(args.config, overrides)
        rows = sweep_rho(config, args.rho)
    except (ValueError, KeyError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}/sweep.json, sweep.md and rho_sweep.png ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
