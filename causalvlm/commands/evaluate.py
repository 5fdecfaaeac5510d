"""``causalvlm eval``: score the trained prompts of finished runs, without training (CoOp's ``--eval-only``).

    causalvlm eval --run outputs/cdc                                    # every run of an experiment
    causalvlm eval --run outputs/cdc/runs/cdc/shapeworld/seed1          # one run, on its own test sets
    causalvlm eval --run DIR --dataset eurosat dtd --protocol cross-dataset --data-root $DATA

``--run`` is a run directory (``<out>/runs/<method>/<dataset>/seed<k>``, holding config.json and
checkpoints/last.ckpt) or an experiment's output folder (every run under its ``runs/``). Each run's classifier
is rebuilt from its folder and the backbone it recorded (:func:`causalvlm.open_run`). Without ``--dataset`` a
run is scored on its own test sets (base2new: base and new; cross-*: its source and targets), reproducing the
run's reported accuracies; with ``--dataset`` on those datasets, read from ``--data-root`` (default: the
root the run read its data from), under ``--protocol`` (base2new: their base and new halves; cross-*: all
their classes; default: the run's protocol). Prints a table; ``--out FILE.json`` also writes every number.
Every run folder, dataset name and option is checked before any model is loaded.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import causalvlm.worlds  # noqa: F401  (registers the "shapeworld" dataset)
from causalvlm.cli import CheckedParser, report_error, text
from causalvlm.data import DATASETS, DatasetSplits
from causalvlm.evaluation.atomic import atomic_write_json
from causalvlm.experiments.config import PROTOCOLS
from causalvlm.experiments.saved_run import LoadedBackbones, evaluate_saved, open_run, read_run_records
from causalvlm.runs.output_lock import RUNS_NAME
from causalvlm.runs.run_dirs import CONFIG_NAME


def build_parser() -> CheckedParser:
    p = CheckedParser(prog="causalvlm eval", description=__doc__)
    p.add_argument("--run", required=True, type=text("a folder"), help="a run directory or an output folder")
    p.add_argument("--dataset", nargs="+", help="datasets to score on (default: each run's own test sets)")
    p.add_argument("--protocol", choices=PROTOCOLS, help="base2new: base/new halves; cross-*: all classes")
    p.add_argument("--data-root", type=text("a folder"), help="root of the datasets (default: the run's)")
    p.add_argument("--out", type=text("a .json file"), help="also write the numbers to this JSON file")
    return p


@dataclass(frozen=True)
class EvalPlan:
    """One run to score and the (dataset, protocol, root) it is scored on."""

    run_dir: Path
    config: dict[str, Any]
    record: dict[str, Any]
    datasets: list[str]
    targets: list[str]
    protocol: str
    data_root: str


def find_runs(folder: Path) -> list[Path]:
    """The run directories of ``folder``: itself when it holds config.json, else every one under runs/."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--run: folder not found: {folder}")
    if (folder / CONFIG_NAME).is_file():
        return [folder]
    runs = sorted(path.parent for path in (folder / RUNS_NAME).glob(f"*/*/*/{CONFIG_NAME}"))
    if not runs:
        raise ValueError(
            f"--run: {folder} is neither a run directory (no {CONFIG_NAME}) nor an output folder with runs "
            f"under {RUNS_NAME}/"
        )
    return runs


def plan_from(args: argparse.Namespace) -> list[EvalPlan]:
    """Every run and what it is scored on, checked: run folders, dataset names, roots. Nothing is loaded."""
    if args.out is not None and not args.out.endswith(".json"):
        raise ValueError(f"--out: expected a .json file, got {args.out!r}")
    unknown = [name for name in args.dataset or [] if name not in DATASETS]
    if unknown:
        raise ValueError(f"--dataset: unknown dataset(s) {unknown}; known: {', '.join(DATASETS.names())}")
    if args.data_root is not None and not Path(args.data_root).expanduser().is_dir():
        raise FileNotFoundError(f"--data-root: folder not found: {args.data_root}")
    plans = []
    for run_dir in find_runs(Path(args.run).expanduser()):
        config, record = read_run_records(run_dir)
        protocol = args.protocol or config["protocol"]
        if args.dataset:
            datasets, targets = list(args.dataset), []
        else:
            datasets = [config["dataset"]]
            targets = [] if protocol == "base2new" else list(record.get("targets", []))
        root = str(Path(args.data_root).expanduser()) if args.data_root else record["data_root"]
        plans.append(EvalPlan(run_dir, config, record, datasets, targets, protocol, root))
    return plans


def eval_sets(plan: EvalPlan) -> dict[str, tuple[DatasetSplits, str]]:
    """``"<dataset>/<set>"`` → (splits, which half) for every set a plan scores; raises on bad data."""
    config, sets = plan.config, {}
    own = plan.datasets == [config["dataset"]] and plan.data_root == plan.record["data_root"]
    for name in [*plan.datasets, *plan.targets]:
        options = dict(plan.record.get("dataset_options", {})) if name == config["dataset"] else {}
        seed = config["seed"] if own and name == config["dataset"] else 1
        halves = ("base", "new") if plan.protocol == "base2new" else ("all",)
        for half in halves:
            splits = DATASETS.build(
                name, root=plan.data_root, num_shots=config["shots"], seed=seed, subsample=half, **options
            )
            if not splits.test:
                raise ValueError(f"dataset {name!r} ({half}) has no test images under {plan.data_root}")
            sets[name if half == "all" else f"{name}/{half}"] = (splits, half)
    return sets


def score(
    plan: EvalPlan, sets: dict[str, tuple[DatasetSplits, str]], loaded: LoadedBackbones
) -> dict[str, dict[str, Any]]:
    """Accuracy, ECE and image count of one run on each of its sets (percent); ``loaded`` holds the backbones
    already loaded for earlier runs (one load per architecture and weights)."""
    saved = open_run(plan.run_dir, loaded=loaded)
    rows = {}
    for name, (splits, _) in sets.items():
        result = evaluate_saved(saved, splits.test, splits.classnames)
        rows[name] = {"accuracy": result.accuracy, "ece": result.ece, "images": result.num_samples}
    return rows


def table(scores: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = ["| Run | Set | Accuracy | ECE | Images |", "|---|---|---:|---:|---:|"]
    for run, rows in scores.items():
        for name, row in rows.items():
            lines.append(f"| {run} | {name} | {row['accuracy']:.2f} | {row['ece']:.2f} | {row['images']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    # a bad option, or an --out that cannot be written, exits here with status 2
    args = build_parser().parse_checked(argv, files=("out",))
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    try:
        # every run folder and data set is found and read before any model is loaded
        plans = [(plan, eval_sets(plan)) for plan in plan_from(args)]
        loaded: LoadedBackbones = {}
        scores = {str(plan.run_dir): score(plan, sets, loaded) for plan, sets in plans}
        print(table(scores))
        if args.out is not None:
            atomic_write_json(Path(args.out), {"runs": scores})
            print(f"wrote {args.out}")
    except (ValueError, KeyError, OSError) as error:
        return report_error(error)  # 2: a refused input; 1: a fault during the work (disk full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
