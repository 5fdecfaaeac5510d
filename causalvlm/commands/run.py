"""``causalvlm run``: zero-shot CLIP, CoOp, CoCoOp, MaPLe and CDC under the paper's protocols.

    causalvlm run                                        # ShapeWorld + tiny CLIP: zeroshot, coop, cdc
    causalvlm run --method zeroshot coop cocoop maple cdc            # the paper's five columns
    causalvlm run --config examples/cdc/configs/base2new.yaml --data-root $DATA
    causalvlm run --method cdc --templates 8 --aggregator mean --seeds 1 --epochs 2

``python examples/cdc/run.py`` (same options) and ``python -m causalvlm run`` are the same command.

Options override the YAML file, which overrides the defaults (causalvlm.experiments.config.ExperimentConfig).
Every option may be given once; every setting is checked before any data is written or model built.
Writes DIR/results.json, DIR/results.md and the figures (see docs/pipeline.md and docs/errors.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from typing import Any

from causalvlm.aggregators import AGGREGATORS
from causalvlm.cli import CheckedParser, integer, number, report_error, seed, text
from causalvlm.config_model import ConfigError
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.experiment import run_experiment, validate_experiment
from causalvlm.experiments.layers import build_experiment, merge_settings
from causalvlm.experiments.method_specs import METHODS, TEST_VIEW_POLICIES, MethodSpec
from causalvlm.experiments.protocols import PROTOCOLS
from causalvlm.mediators import AUGMENTATIONS
from causalvlm.methods import get_method
from causalvlm.training.loggers import LOGGERS
from causalvlm.training.settings import ACCELERATORS

# Each option → the ExperimentConfig key it sets (dotted below "train"); also names the option in errors.
OPTION_KEYS = {
    "--protocol": "protocol",
    "--dataset": "datasets",
    "--targets": "targets",
    "--data-root": "data_root",
    "--backbone": "backbone",
    "--pretrained": "pretrained",
    "--seeds": "seeds",
    "--shots": "shots",
    "--out": "out",
    "--resume": "resume",
    "--overwrite": "overwrite",
    "--epochs": "train.max_epochs",
    "--batch-size": "train.batch_size",
    "--devices": "train.devices",
    "--accelerator": "train.accelerator",
    "--progress": "train.enable_progress_bar",
    "--logger": "train.logger",
    "--delta-vs": "delta_vs",
}
# Options that shape the method entries (the CDC ablations); they build the "methods" setting. --aug reaches
# every method that trains; the others reach the methods whose M is an option (each method's file says so).
METHOD_OPTIONS = ("--templates", "--aggregator", "--no-vsd", "--aug", "--beta", "--gamma")


def build_parser() -> CheckedParser:
    p = CheckedParser(prog="causalvlm run", description=__doc__)
    p.add_argument("--config", type=text("a YAML file"), help="YAML file of settings (examples/cdc/configs)")
    p.add_argument("--protocol", choices=PROTOCOLS)
    p.add_argument("--dataset", nargs="+", help="dataset(s) to train on; the source for cross-* protocols")
    p.add_argument("--targets", nargs="+", help="target datasets of a cross-* protocol")
    p.add_argument("--data-root", type=text("a folder"), help="root of the datasets (CoOp's $DATA)")
    p.add_argument(
        "--backbone", type=text("an architecture or .json file"), help="open_clip arch or config JSON"
    )
    p.add_argument(
        "--pretrained",
        type=text("a checkpoint file, a tag or none"),
        help="a checkpoint file, an open_clip tag (openai; must be in open_clip's cache offline) or none",
    )
    p.add_argument("--method", nargs="+", choices=METHODS, help="methods to run (default: the world's run)")
    p.add_argument("--templates", type=integer(1), help="M, the number of CDC templates")
    p.add_argument("--aggregator", help=f"S → Y fusion for CDC: {' | '.join(AGGREGATORS.names())}")
    p.add_argument(
        "--no-vsd", action="store_true", default=None, help="CDC without VSD (one view, β = γ = 0)"
    )
    p.add_argument("--aug", help=f"training augmentation: {' | '.join(AUGMENTATIONS.names())}")
    p.add_argument(
        "--test-views",
        choices=TEST_VIEW_POLICIES,
        help="test images: one clean view shared by all templates (default) or one view per template",
    )
    p.add_argument("--beta", type=number(minimum=0), help="weight of L_de (CDC), a finite number >= 0")
    p.add_argument("--gamma", type=number(minimum=0), help="weight of L_con (CDC), a finite number >= 0")
    p.add_argument("--seeds", nargs="+", type=seed, help="random seeds, integers in [0, 2^32)")
    p.add_argument("--shots", type=integer(1), help="training images per class")
    p.add_argument("--epochs", type=integer(1))
    p.add_argument("--batch-size", type=integer(1))
    p.add_argument("--devices", type=integer(1), help="devices to train on (>1: DDP)")
    p.add_argument("--accelerator", choices=ACCELERATORS)
    p.add_argument(
        "--logger",
        choices=LOGGERS,
        help="training curves: csv (default) | tensorboard | wandb (installed)",
    )
    p.add_argument(
        "--delta-vs",
        metavar="METHOD",
        help="Δ column baseline, a method row of the run (default: strongest other)",
    )
    p.add_argument("--out", type=text("a folder"), help="output folder")
    p.add_argument(
        "--resume", action="store_true", default=None, help="continue the runs in --out (same settings only)"
    )
    p.add_argument(
        "--overwrite", action="store_true", default=None, help="delete the runs and results in --out first"
    )
    p.add_argument("--progress", action="store_true", help="show Lightning's progress bar and messages")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def _value(args: argparse.Namespace, option: str) -> Any:
    return getattr(args, option.removeprefix("--").replace("-", "_"))


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options given on the command line, as ExperimentConfig settings."""
    overrides: dict[str, Any] = {}
    for option, key in OPTION_KEYS.items():
        value = _value(args, option)
        if option == "--progress":
            value = True if value else None
        if value is None:
            continue
        if option == "--pretrained" and value.lower() == "none":  # random initialisation, e.g. for timing
            value = None
        section, _, name = key.rpartition(".")
        (overrides.setdefault(section, {}) if section else overrides)[name] = value
    flags = {o.removeprefix("--").replace("-", "_"): _value(args, o) for o in METHOD_OPTIONS}
    flags = {k: v for k, v in flags.items() if v is not None}
    if args.method is not None or flags:
        variable = [name for name in METHODS if get_method(name).variable_templates]
        methods = args.method or variable[:1]
        template_only = sorted(set(flags) - {"aug"})
        if template_only and not set(variable) & set(methods):
            named = ", ".join(f"--{f.replace('_', '-')}" for f in template_only)
            raise ConfigError(
                "--method",
                f"{named} apply to methods whose M is an option ({', '.join(variable)}); "
                f"add --method {variable[0]}",
            )
        if "aug" in flags and not any(get_method(m).trains for m in methods):
            raise ConfigError(
                "--aug",
                f"applies to methods that train; {', '.join(methods)} does not train",
            )
        overrides["methods"] = [_method_entry(m, flags) for m in methods]
    return overrides


def _method_entry(method: str, flags: dict[str, Any]) -> dict[str, Any]:
    """Ablation flags shape the methods whose M is an option (CDC); --aug also reaches every other method
    that trains; a method that does not train takes none."""
    entry = get_method(method)
    if entry.variable_templates:
        return {"method": method, **flags}
    if entry.trains and "aug" in flags:
        return {"method": method, "aug": flags["aug"]}
    return {"method": method}


def with_test_views(methods: list[MethodSpec], policy: str) -> list[MethodSpec]:
    """--test-views reaches every method of the run (from the options, the YAML file or the defaults)."""
    return [replace(spec, test_views=policy, label="") for spec in methods]


def option_names() -> dict[str, str]:
    """Config key → the option that sets it, to name options in errors ("methods" ← --method and flags)."""
    return {key: option for option, key in OPTION_KEYS.items()} | {"methods": "--method"}


def experiment_from(args: argparse.Namespace) -> ExperimentConfig:
    """Layer (defaults < --config < options) and check everything; nothing is written or loaded.

    Raises ConfigError (a ValueError) naming the setting, and the option that sets it.
    """
    names = option_names()
    config = build_experiment(args.config, overrides_from(args), names)
    if args.test_views is not None:
        config = merge_settings(config, {"methods": with_test_views(config.methods, args.test_views)})
    try:
        validate_experiment(config)
    except ConfigError as error:
        option = names.get(error.key)
        raise error.named(f"{error.key} ({option})" if option else None) from None
    return config


def main(argv: list[str] | None = None) -> int:
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    args = parse_args(argv)  # a bad option exits here with status 2
    if not args.progress:
        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
        logging.getLogger("lightning").setLevel(logging.WARNING)
    try:
        config = experiment_from(args)
        out = run_experiment(config)
    except (ValueError, KeyError, OSError) as error:
        return report_error(error)  # 2: a refused input; 1: a fault during the work (disk full)
    print((out / "results.md").read_text())
    print(f"wrote {out / 'results.json'}, {out / 'results.md'} and figures")
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    print(f"wall time {wall:.0f} s, CPU time {cpu:.0f} s (this process, all its threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
