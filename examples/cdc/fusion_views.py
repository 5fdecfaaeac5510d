"""How CDC's per-template views shape each template's uncertainty and the Dempster–Shafer fusion (validation).

    python examples/cdc/fusion_views.py [--root outputs/validation-world] [--seeds 1 2 3]

Training gives template m the m-th view of each image. The paper asks for "common augmentations" without
naming them, so the view set is ours to choose. For each candidate set (indices into
``causalvlm.mediators.augmentations.common_augmentations()``: 0 identity, 1 horizontal flip, 2 colour jitter,
3 grayscale, 4 Gaussian blur, 5 rotation, 6 autocontrast, 7 sharpness) the script trains the default CDC and
prints, on the base and new classes' validation images:

* S1..SM: each template's own accuracy, and u1..uM: its mean uncertainty u^m = C / S^m;
* fused: the accuracy of the paper's fusion (DSTC, Dempster's rule), and mean-prob: the accuracy of the plain
  mean of the templates' probabilities on the same trained model, for reference;
* "lowest-u share of fused errors": how often the template Dempster's rule trusts most (lowest u) is the one
  it followed into a wrong answer.

Every number comes from validation images (see world_validation.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
from torchvision import transforms as T
from world_validation import quiet, runner_for, validation_splits, validation_world

from causalvlm.aggregators.opinions import opinion_from_evidence
from causalvlm.mediators.augmentations import (
    AUGMENTATIONS,
    MultiViewTransform,
    _check,
    _eval_resize,
    _to_tensor,
    common_augmentations,
)
from causalvlm.training.methods import method_spec
from causalvlm.worlds import TEMPLATE_STARTS

VIEW_SETS = {
    "identity ×4": (0, 0, 0, 0),
    "id, flip, jitter, gray (aug1 before)": (0, 1, 2, 3),
    "id, flip, jitter, blur": (0, 1, 2, 4),
    "id, flip, blur, rotation": (0, 1, 4, 5),
    "id, flip, rotation, sharpness": (0, 1, 5, 7),
    "id, gray, gray, gray": (0, 3, 3, 3),
}
NAMES = ("identity", "flip", "jitter", "gray", "blur", "rotation", "autocontrast", "sharpness")


def register_view_set(indices: Sequence[int]) -> str:
    """Register the views as an augmentation named ``views-<indices>`` (view m = pool[indices[m]])."""
    name = "views-" + "".join(str(i) for i in indices)
    if name in AUGMENTATIONS:
        return name

    def build(num_views: int, image_size: int, mean, std):
        _check(num_views, image_size, mean, std)
        pool = common_augmentations()
        views = [
            T.Compose(_eval_resize(image_size) + [pool[indices[m % len(indices)]]] + _to_tensor(mean, std))
            for m in range(num_views)
        ]
        return MultiViewTransform(views)

    AUGMENTATIONS.register(name)(build)
    return name


@torch.no_grad()
def template_uncertainty(
    classifier, features: torch.Tensor, classnames: list[str]
) -> dict[str, torch.Tensor]:
    """Per-template u^m [M, N], fused prediction and each template's prediction on clean-view features."""
    previous = classifier.classnames
    classifier.set_classnames(classnames)
    try:
        logits = classifier.logits(features)
        _, u = opinion_from_evidence(classifier.aggregator.evidence(logits))
        fused = classifier.aggregator(logits)
        mean_prob = torch.softmax(logits, -1).mean(0)
    finally:
        classifier.set_classnames(previous)
    return {
        "u": u,
        "fused": fused.probs.argmax(-1),
        "per_template": logits.argmax(-1),
        "mean": mean_prob.argmax(-1),
    }


def study(root: str, seeds: Sequence[int], view_sets: dict[str, Sequence[int]]) -> list[dict]:
    runner, _ = runner_for({"methods": ["zeroshot"], "seeds": list(seeds)})
    captured = {}
    evaluate = runner._evaluate

    def keep(spec, classifier, *args):
        captured["classifier"] = classifier
        return evaluate(spec, classifier, *args)

    runner._evaluate = keep
    rows = []
    for label, indices in view_sets.items():
        spec = method_spec(
            "cdc",
            templates=len(indices),
            aug=register_view_set(indices),
            mediator_options={"ctx_init": list(TEMPLATE_STARTS)},
        )
        for seed in seeds:
            splits = validation_splits(root, seed)
            runner.train_and_evaluate(
                spec, splits["base"], {"base": splits["base"], "new": splits["new"]}, seed, ""
            )
            for half in ("base", "new"):
                features, labels = runner.features.get(splits[half].test)
                out = template_uncertainty(captured["classifier"], features, splits[half].classnames)
                wrong = out["fused"] != labels
                trusted = out["u"].argmin(0)  # the template with the most evidence, per image
                followed = out["per_template"].gather(0, trusted[None])[0] == out["fused"]
                rows.append(
                    {
                        "views": label,
                        "seed": seed,
                        "set": half,
                        "S": (100.0 * (out["per_template"] == labels).float().mean(1)).tolist(),
                        "u": out["u"].mean(1).tolist(),
                        "fused": 100.0 * float((~wrong).float().mean()),
                        "mean_prob": 100.0 * float((out["mean"] == labels).float().mean()),
                        "lowest_u_followed_in_errors": float(
                            (followed & wrong).sum() / max(1, int(wrong.sum()))
                        ),
                    }
                )
    return rows


def table(rows: list[dict]) -> str:
    """Mean over seeds, one line per (views, set)."""
    lines = [
        "| views | set | S1..SM | u1..uM | fused (DS) | mean-prob | lowest-u share of fused errors |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((r["views"], r["set"]) for r in rows))
    for views, half in keys:
        group = [r for r in rows if r["views"] == views and r["set"] == half]

        def mean(values):
            return sum(values) / len(values)

        s = [mean([r["S"][m] for r in group]) for m in range(len(group[0]["S"]))]
        u = [mean([r["u"][m] for r in group]) for m in range(len(group[0]["u"]))]
        lines.append(
            f"| {views} | {half} | {' / '.join(f'{x:.1f}' for x in s)} | {' / '.join(f'{x:.2f}' for x in u)} "
            f"| {mean([r['fused'] for r in group]):.1f} | {mean([r['mean_prob'] for r in group]):.1f} "
            f"| {100 * mean([r['lowest_u_followed_in_errors'] for r in group]):.0f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="outputs/validation-world")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--views", nargs="+", help="names of VIEW_SETS to run (default: all)")
    args = p.parse_args(argv)
    quiet()
    validation_world(args.root)
    chosen = {k: v for k, v in VIEW_SETS.items() if not args.views or k in args.views}
    rows = study(args.root, args.seeds, chosen)
    print(table(rows))


if __name__ == "__main__":
    main()
