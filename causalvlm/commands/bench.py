"""``causalvlm bench``: the paper's three tables on the world, one command per table and one for all three.

    causalvlm bench                      # every table of examples/cdc/bench.yaml (same as "all")
    causalvlm bench cross-domain         # Table 3 alone: the same run as causalvlm run --config
                                         #   examples/cdc/configs/bench_cross_domain.yaml
    causalvlm bench base2new cross-dataset --out outputs/bench-2 --seeds 1
    python examples/cdc/bench.py all     # from a checkout, the same command

Each table is one experiment config named by the suite file (``--suite``; default the checkout's
``examples/cdc/bench.yaml``); its results.md / results.json and figures go to ``<out>/<table>/``,
and ``<out>/summary.md``, ``summary.png`` and ``summary.json`` set the tables' headline numbers and wall
times side by side. Every table asked for is checked before the first one runs. ``all`` skips (and names)
a table whose config file is missing; a table asked for by name must have one.
"""

from __future__ import annotations

import logging
import sys
import time

from causalvlm.cli import CheckedParser, integer, report_error, seed, text
from causalvlm.experiments.bench_suite import ALL, SUITE_YAML, TABLES, plan_suite, run_suite


def build_parser() -> CheckedParser:
    p = CheckedParser(prog="causalvlm bench", description=__doc__)
    p.add_argument(
        "tables", nargs="*", metavar="TABLE", help=f"{' | '.join(TABLES)} | {ALL} (default: {ALL})"
    )
    p.add_argument("--suite", type=text("a YAML file"), default=SUITE_YAML, help=f"suite file ({SUITE_YAML})")
    p.add_argument("--out", type=text("a folder"), help="folder of the tables and the summary (suite's out)")
    p.add_argument("--data-root", type=text("a folder"), help="root of the datasets, for every table")
    p.add_argument("--seeds", nargs="+", type=seed, help="random seeds, for every table")
    p.add_argument("--epochs", type=integer(1), help="training epochs, for every table")
    p.add_argument("--resume", action="store_true", help="continue each table's runs in its folder")
    p.add_argument("--overwrite", action="store_true", help="delete each table's earlier runs and results")
    return p


def main(argv: list[str] | None = None) -> int:
    start = time.perf_counter()
    args = build_parser().parse_args(argv)
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning").setLevel(logging.WARNING)
    overrides: dict = {}
    for name in ("out", "data_root", "seeds"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.epochs is not None:
        overrides["train"] = {"max_epochs": args.epochs}
    for flag in ("resume", "overwrite"):
        if getattr(args, flag):
            overrides[flag] = True
    try:
        plan = plan_suite(args.suite, args.tables, overrides)
        for name, why in plan.skipped.items():
            print(f"note: not running the {name} table: {why}")
        run_suite(plan)
    except (ValueError, KeyError, OSError) as error:
        return report_error(error)
    print((plan.out / "summary.md").read_text())
    print(f"wrote {plan.out / 'summary.json'}; wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
