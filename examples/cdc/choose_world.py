"""Choose the default world's difficulty on validation images, then check that CoOp misaligns there.

    python examples/cdc/choose_world.py [--root outputs/validation-worlds] [--noise 0.08 0.2 0.3 0.4]

1. For each pixel-noise ceiling ``noise_max`` (a world option, see docs/world.md) it writes a task and prints
   zero-shot CLIP's accuracy on the base and new classes' validation images.
2. The rule, fixed before looking at any trained model: the default world is the least noisy one whose
   zero-shot base accuracy is below 75 % — the least distortion that leaves a quarter of the base classes'
   accuracy to gain.
3. In that world it trains CoOp (with its preset's random crops, aug2, and without augmentation) and CDC with
   the default recipe (3 seeds, each its own 16-shot draw) and prints base / new / HM on validation images
   beside zero-shot. The default run's CoOp uses the augmentation with the higher base accuracy here: a CoOp
   user tunes on the base classes, the only ones they have.

Nothing here reads a test split (see world_validation.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from world_validation import (
    quiet,
    runner_for,
    study_parser,
    train_on_validation,
    validation_splits,
    validation_world,
)

from causalvlm.cli import number
from causalvlm.evaluation.metrics import evaluate_features, harmonic_mean
from causalvlm.experiments.method_parts import build_classifier
from causalvlm.experiments.method_specs import method_spec
from causalvlm.worlds import WORLD_OPTION_RANGES

ZERO_SHOT_CEILING = 75.0  # the chosen world is the least noisy one with zero-shot base accuracy below this


def zero_shot(runner, root: Path) -> tuple[float, float]:
    splits = validation_splits(root, 1)
    out = []
    for half in ("base", "new"):
        s = splits[half]
        classifier = build_classifier(method_spec("zeroshot"), runner.backbone, s.classnames, s.template)
        out.append(evaluate_features(classifier, *runner.features.get(s.test), s.classnames).accuracy)
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, "outputs/validation-worlds")
    low, high = WORLD_OPTION_RANGES["noise_max"]  # the range run.py's world.noise_max accepts
    p.add_argument(
        "--noise", nargs="+", type=number(low, high), default=[0.08, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4],
        help=f"noise_max values, in [{low:g}, {high:g}]",
    )  # fmt: skip
    args = p.parse_checked(argv, folders=("root",), distinct=("seeds", "noise"))
    quiet()
    runner, specs = runner_for({"seeds": args.seeds})
    print("| noise_max | zero-shot base | zero-shot new |\n|---|---|---|")
    chosen = None
    for noise in sorted(args.noise):
        root = Path(args.root) / f"noise_{noise:g}"
        validation_world(root, noise_max=noise)
        base, new = zero_shot(runner, root)
        print(f"| {noise:g} | {base:.1f} | {new:.1f} |", flush=True)
        if chosen is None and base < ZERO_SHOT_CEILING:
            chosen = root, noise
    if chosen is None:
        print(f"no world has zero-shot base accuracy below {ZERO_SHOT_CEILING} %; add noisier levels")
        return 0
    root, noise = chosen
    print(f"\nchosen: noise_max = {noise:g}\n")
    print("| method | seed | base | new | HM |\n|---|---|---|---|---|")
    coop_crops = method_spec("coop", aug="aug2")
    for spec in [specs[0], coop_crops, *specs[1:]]:
        label = f"{spec.label} ({spec.augmentation})"
        rows = []
        for seed in args.seeds:
            results = train_on_validation(runner, spec, root, seed)
            rows.append((results["base"].accuracy, results["new"].accuracy))
            print(
                f"| {label} | {seed} | {rows[-1][0]:.1f} | {rows[-1][1]:.1f} | "
                f"{harmonic_mean(*rows[-1]):.1f} |",
                flush=True,
            )
            if not spec.trains:
                break
        base = sum(r[0] for r in rows) / len(rows)
        new = sum(r[1] for r in rows) / len(rows)
        hm = harmonic_mean(base, new)
        print(f"| {label} | mean | {base:.1f} | {new:.1f} | {hm:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
