"""Does a method learn the spurious colour cue? Confounded against interventional validation accuracy.

    python examples/cdc/shortcut_gap.py [--root outputs/validation-worlds] [--rho 0 1]

For each ρ the default methods train on a world whose training pool carries the cue with strength ρ, and are
evaluated on the base classes' validation images of two worlds: the same world (validation drawn with the
same ρ: the confounded distribution) and the ρ = 0 world (colour independent of the class: what do(x)
asks about). A method that leans on "colour → class" gains on the first and not on the second; the gap
between them, against the same gap for zero-shot CLIP, is what the shortcut is worth to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from world_validation import (
    quiet,
    runner_for,
    study_parser,
    validation_splits,
    validation_world,
)

from causalvlm.cli import number
from causalvlm.experiments.rho_sweep import check_rho_folders, rho_folder


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, "outputs/validation-worlds")
    p.add_argument("--rho", nargs="+", type=number(0.0, 1.0), default=[0.0, 1.0], help="values in [0, 1]")
    args = p.parse_checked(argv, folders=("root",), distinct=("seeds",))
    try:
        check_rho_folders(args.rho)
    except ValueError as error:
        p.error(f"argument --rho: {error}")
    quiet()
    runner, specs = runner_for({"seeds": args.seeds})
    interventional = Path(args.root) / rho_folder(0.0)
    validation_world(interventional, rho=0.0)
    print("| ρ | method | base, confounded val | base, interventional val | gap |\n|---|---|---|---|---|")
    for rho in args.rho:
        root = Path(args.root) / rho_folder(rho)
        validation_world(root, rho=rho)
        for spec in specs:
            confounded, do = [], []
            for seed in args.seeds if spec.trains else args.seeds[:1]:
                splits = validation_splits(root, seed)
                target = validation_splits(interventional, seed)["base"]
                evals = {"base": splits["base"], "new": splits["new"], "do": target}
                results, _ = runner.train_and_evaluate(spec, splits["base"], evals, seed, "shapeworld")
                confounded.append(results["base"].accuracy)
                do.append(results["do"].accuracy)
            c, d = sum(confounded) / len(confounded), sum(do) / len(do)
            print(f"| {rho:g} | {spec.label} | {c:.1f} | {d:.1f} | {c - d:+.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
