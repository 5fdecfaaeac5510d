"""How CDC's per-template views shape each template's uncertainty and the Dempster–Shafer fusion (validation).

    python examples/cdc/fusion_views.py [--root outputs/validation-world] [--seeds 1 2 3] [--views NAME ...]

Training gives template m the m-th view of each image. The paper asks for "common augmentations" without
naming them, so the view set is ours to choose. For each candidate set of views (names from
``causalvlm.mediators.augmentations.VIEWS``) the script trains the default CDC (M = 4, DSTC, the paper's loss,
the default run's recipe and template starts) and prints, on the base and new classes' validation images,
as mean over seeds:

* S1..SM: each template's own accuracy, and u1..uM: its mean uncertainty u^m = C / S^m;
* fused: the accuracy of the paper's fusion (DSTC, Dempster's rule), and mean-prob: the accuracy of the plain
  mean of the templates' probabilities on the same trained model, for reference;
* "errors following the most certain": of the fused errors, the share in which the fusion names the class of
  the template with the lowest u (the opinion Dempster's rule weighs most).

Every number comes from validation images (see world_validation.py); ``--json FILE`` keeps the per-seed rows.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from statistics import mean

from world_validation import (
    quiet,
    runner_for,
    study_parser,
    train_on_validation,
    validation_world,
)

from causalvlm.cli import text
from causalvlm.evaluation.atomic import atomic_write_json
from causalvlm.experiments.method_specs import method_spec
from causalvlm.mediators.augmentations import AUGMENTATIONS, register_view_set
from causalvlm.worlds import TEMPLATE_STARTS

VIEW_SETS = {  # label → the view of template 1..4
    "aug1 (id, flip, jitter, gray)": ("identity", "flip", "jitter", "gray"),
    "id ×4 (no augmentation)": ("identity", "identity", "identity", "identity"),
    "id, flip, jitter, blur": ("identity", "flip", "jitter", "blur"),
    "id, flip, jitter, sharpness": ("identity", "flip", "jitter", "sharpness"),
    "id, flip, jitter, autocontrast": ("identity", "flip", "jitter", "autocontrast"),
    "id, flip, blur, rotation": ("identity", "flip", "blur", "rotation"),
    "id, gray, gray, gray": ("identity", "gray", "gray", "gray"),
}


def augmentation_for(views: Sequence[str]) -> str:
    """The AUGMENTATIONS name of this view set, registered on first use."""
    name = "views:" + "+".join(views)
    return name if name in AUGMENTATIONS else register_view_set(name, views)


def study(root: str, seeds: Sequence[int], view_sets: dict[str, Sequence[str]]) -> list[dict]:
    """One row per (view set, seed, base|new) with every number the table prints."""
    runner, _ = runner_for({"methods": ["zeroshot"], "seeds": list(seeds)})
    rows = []
    for label, views in view_sets.items():
        spec = method_spec(
            "cdc",
            templates=len(views),
            aug=augmentation_for(views),
            mediator_options={"ctx_init": list(TEMPLATE_STARTS)},
        )
        for seed in seeds:
            print(f"[fusion_views] {label}, seed {seed}", flush=True)
            for half, result in train_on_validation(runner, spec, root, seed).items():
                rows.append(
                    {
                        "views": label,
                        "seed": seed,
                        "set": half,
                        "S": result.template_accuracy,
                        "u": result.template_uncertainty,
                        "fused": result.accuracy,
                        "mean_prob": result.mean_prob_accuracy,
                        "errors_following_most_certain": result.errors_following_most_certain,
                    }
                )
    return rows


def table(rows: list[dict]) -> str:
    """Mean over seeds, one line per (views, set)."""
    lines = [
        "| views | set | S1 / S2 / S3 / S4 | u1 / u2 / u3 / u4 | fused (DS) | mean-prob "
        "| fused errors following the most certain |",
        "|---|---|---|---|---|---|---|",
    ]
    for views, half in dict.fromkeys((r["views"], r["set"]) for r in rows):
        group = [r for r in rows if r["views"] == views and r["set"] == half]
        s = [mean(r["S"][m] for r in group) for m in range(len(group[0]["S"]))]
        u = [mean(r["u"][m] for r in group) for m in range(len(group[0]["u"]))]
        shares = [
            r["errors_following_most_certain"]
            for r in group
            if r["errors_following_most_certain"] is not None
        ]
        lines.append(
            f"| {views} | {half} | {' / '.join(f'{x:.1f}' for x in s)} | {' / '.join(f'{x:.2f}' for x in u)} "
            f"| {mean(r['fused'] for r in group):.1f} | {mean(r['mean_prob'] for r in group):.1f} "
            f"| {f'{mean(shares):.0f} %' if shares else '–'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = study_parser(__doc__, "outputs/validation-world")
    p.add_argument("--views", nargs="+", choices=list(VIEW_SETS), help="labels of VIEW_SETS (default: all)")
    p.add_argument("--json", type=text("a file"), help="also write the per-seed rows to this file")
    args = p.parse_checked(argv, folders=("root",), files=("json",), distinct=("seeds", "views"))
    quiet()
    validation_world(args.root)
    chosen = {k: v for k, v in VIEW_SETS.items() if not args.views or k in args.views}
    rows = study(args.root, args.seeds, chosen)
    if args.json:
        atomic_write_json(args.json, rows)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
