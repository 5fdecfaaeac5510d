"""CDC experiments: zero-shot CLIP, CoOp and CDC under the paper's protocols.

    python examples/cdc/run.py                                   # ShapeWorld + tiny CLIP, all three methods
    python examples/cdc/run.py --config examples/cdc/configs/base2new.yaml --data-root $DATA
    python examples/cdc/run.py --method cdc --templates 8 --aggregator mean --seeds 1 --epochs 2

Options override the YAML file, which overrides the defaults (causalvlm.training.experiment.ExperimentConfig).
Writes DIR/results.json, DIR/results.md and the figures (see docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from causalvlm.aggregators import AGGREGATORS
from causalvlm.mediators import AUGMENTATIONS
from causalvlm.training.experiment import build_experiment, merge_settings, run_experiment
from causalvlm.training.methods import METHODS, TEST_VIEW_POLICIES
from causalvlm.training.protocols import PROTOCOLS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="YAML file of settings (examples/cdc/configs/*.yaml)")
    p.add_argument("--protocol", choices=PROTOCOLS)
    p.add_argument("--dataset", nargs="+", help="dataset(s) to train on; the source for cross-* protocols")
    p.add_argument("--targets", nargs="+", help="target datasets of a cross-* protocol")
    p.add_argument("--data-root", help="root of the datasets (CoOp's $DATA)")
    p.add_argument("--backbone", help="open_clip architecture (ViT-B-16) or model-config JSON")
    p.add_argument("--pretrained", help="open_clip tag (openai), a checkpoint path, or none (random init)")
    p.add_argument("--method", nargs="+", choices=METHODS, help="methods to run (default: zeroshot coop cdc)")
    p.add_argument("--templates", type=int, help="M, the number of CDC templates")
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
    p.add_argument("--beta", type=float, help="weight of L_de (CDC)")
    p.add_argument("--gamma", type=float, help="weight of L_con (CDC)")
    p.add_argument("--seeds", nargs="+", type=int)
    p.add_argument("--shots", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--devices", type=int, help="devices to train on (>1: DDP)")
    p.add_argument("--accelerator", help="cpu | gpu | auto")
    p.add_argument(
        "--delta-vs",
        metavar="METHOD",
        help="Δ column baseline, a method row of the run (default: strongest other)",
    )
    p.add_argument("--out", help="output folder")
    p.add_argument(
        "--resume", action="store_true", default=None, help="continue the runs in --out (same settings only)"
    )
    p.add_argument(
        "--overwrite", action="store_true", default=None, help="delete the runs and results in --out first"
    )
    p.add_argument("--progress", action="store_true", help="show Lightning's progress bar and messages")
    return p.parse_args(argv)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options given on the command line, as ExperimentConfig settings."""
    simple = {
        "protocol": args.protocol,
        "datasets": args.dataset,
        "targets": args.targets,
        "data_root": args.data_root,
        "backbone": args.backbone,
        "pretrained": None if args.pretrained in ("none", "None") else args.pretrained,
        "seeds": args.seeds,
        "shots": args.shots,
        "out": args.out,
        "resume": args.resume,
        "delta_vs": args.delta_vs,
        "overwrite": args.overwrite,
    }
    overrides = {k: v for k, v in simple.items() if v is not None}
    if args.pretrained in ("none", "None"):  # random initialisation, e.g. for timing without weights
        overrides["pretrained"] = None
    train = {
        "max_epochs": args.epochs,
        "batch_size": args.batch_size,
        "devices": args.devices,
        "accelerator": args.accelerator,
        "enable_progress_bar": True if args.progress else None,
    }
    train = {k: v for k, v in train.items() if v is not None}
    if train:
        overrides["train"] = train
    flags = {
        "templates": args.templates,
        "aggregator": args.aggregator,
        "no_vsd": args.no_vsd,
        "aug": args.aug,
        "beta": args.beta,
        "gamma": args.gamma,
    }
    flags = {k: v for k, v in flags.items() if v is not None}
    if args.method is not None or flags:
        methods = args.method or ["cdc"]
        has_cdc = any(m.startswith("cdc") for m in methods)
        cdc_only = sorted(set(flags) - {"aug"})
        if cdc_only and not has_cdc:
            named = ", ".join(f"--{f.replace('_', '-')}" for f in cdc_only)
            raise ValueError(f"{named} apply to CDC only; add --method cdc")
        if "aug" in flags and not (has_cdc or "coop" in methods):
            raise ValueError("--aug applies to methods that train (coop, cdc); zero-shot CLIP does not train")
        overrides["methods"] = [_method_entry(m, flags) for m in methods]
    return overrides


def _method_entry(method: str, flags: dict[str, Any]) -> dict[str, Any]:
    """Ablation flags shape CDC; --aug also reaches CoOp; zero-shot takes none."""
    if method.startswith("cdc"):
        return {"method": method, **flags}
    if method == "coop" and "aug" in flags:
        return {"method": method, "aug": flags["aug"]}
    return {"method": method}


def with_test_views(methods: list[Any], policy: str | None) -> list[Any]:
    """--test-views reaches every method of the run (from the options, the YAML file or the defaults)."""
    if policy is None:
        return methods
    entries = [{"method": m} if isinstance(m, str) else dict(m) for m in methods]
    return [{**entry, "test_views": policy} for entry in entries]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.progress:
        logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
        logging.getLogger("lightning").setLevel(logging.WARNING)
    try:
        config = build_experiment(args.config, overrides_from(args))
        if args.test_views is not None:
            config = merge_settings(config, {"methods": with_test_views(config.methods, args.test_views)})
        out = run_experiment(config)
    except (ValueError, KeyError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    print(f"wrote {out / 'results.json'}, {out / 'results.md'} and figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
