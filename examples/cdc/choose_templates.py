"""Choose CDC's template initialisations: phrases the tiny CLIP tells apart, from the world's own words.

    python examples/cdc/choose_templates.py [--root outputs/validation-world] [--templates 4 8]

Candidates are the words a caption puts before the shape (causalvlm/worlds/captions.py): an opener ("a photo
of", "an image of", "a picture of", none), the article, an optional size and an optional colour. For each
candidate the script measures, with the shipped tiny CLIP on the base classes' validation images:

* ``cos t0``: the mean over classes of cos(w_c(candidate), w_c("a photo of a")) — how different the
  backbone sees the template start from the hand-crafted one (1.000: the same vector);
* ``zs acc``: its zero-shot accuracy, so a start that loses accuracy is visible;
* ``u``: the mean Dempster–Shafer uncertainty of its opinion (evidence scale τ/10), i.e. how much say it has
  in the fused prediction at the start.

The openers turn out to be the same vector to this backbone (cos 1.000), so only the size and colour words
make templates differ. The script picks M phrases greedily: start from "a photo of a" (CoOp's start) and add
the admissible "a photo of a [size] [colour]" candidate whose largest cosine to the phrases already picked is
smallest. Admissible: zero-shot accuracy within 1.5 points of "a photo of a", and uncertainty at most 0.2
(an opinion that uncertain barely enters the fused prediction).
"""

from __future__ import annotations

import itertools
import sys

import torch
from world_validation import quiet, runner_for, validation_splits, validation_world

from causalvlm.aggregators.opinions import opinion_from_evidence
from causalvlm.cli import CheckedParser, integer, text
from causalvlm.mediators.soft_prompt import SoftPrompt
from causalvlm.worlds.captions import OPENERS
from causalvlm.worlds.factors import OBJECT_COLOURS, SIZES

REFERENCE = "a photo of a"
MAX_ACCURACY_DROP = 1.5  # points of zero-shot validation accuracy a start may lose against REFERENCE
MAX_UNCERTAINTY = 0.2  # a start whose opinion is this uncertain barely enters the fusion


def candidates() -> list[str]:
    """Every caption prefix of the grammar: [opener] article [size] [colour]."""
    out = []
    for opener, size, colour in itertools.product(OPENERS, ("", *SIZES), ("", *OBJECT_COLOURS)):
        adjectives = " ".join(w for w in (size, colour) if w)
        article = "an" if adjectives[:1] in tuple("aeiou") else "a"
        out.append(" ".join(w for w in (opener.strip(), article, adjectives) if w))
    return sorted(set(out))


@torch.no_grad()
def class_embeddings(backbone, classnames, phrase: str) -> torch.Tensor:
    prompt = SoftPrompt(backbone, classnames, ctx_init=phrase)
    embeddings, eot = prompt(prompt.encoding_length)
    return backbone.encode_text_embeddings(embeddings, eot, normalize=True)


def measure(backbone, classnames, features, labels) -> dict[str, dict[str, float]]:
    reference = class_embeddings(backbone, classnames, REFERENCE)
    tau = float(backbone.logit_scale)
    rows = {}
    for phrase in candidates():
        w = class_embeddings(backbone, classnames, phrase)
        cosines = features @ w.T
        evidence = torch.exp((tau * cosines / (tau / 10)).clamp(max=10.0))  # DSTC: h = exp, scale τ/10
        _, u = opinion_from_evidence(evidence)
        rows[phrase] = {
            "cos t0": float((w * reference).sum(-1).mean()),
            "zs acc": 100.0 * float((cosines.argmax(1) == labels).float().mean()),
            "u": float(u.mean()),
            "embeddings": w,
        }
    return rows


def pick(rows: dict[str, dict], m: int) -> list[str]:
    """M greedy most-different admissible starts, the reference first; ValueError when M < 1 or when fewer
    than M starts are admissible (a study never prints a result for an M it could not pick)."""
    if m < 1:
        raise ValueError(f"M must be an integer >= 1, got {m}")
    floor = rows[REFERENCE]["zs acc"] - MAX_ACCURACY_DROP
    admissible = [
        p
        for p, r in rows.items()
        if p.startswith(REFERENCE) and r["zs acc"] >= floor and r["u"] <= MAX_UNCERTAINTY
    ]
    if len({REFERENCE, *admissible}) < m:
        raise ValueError(f"M = {m}: only {len({REFERENCE, *admissible})} starts are admissible")
    chosen = [REFERENCE]
    while len(chosen) < m:

        def closeness(phrase: str) -> float:
            w = rows[phrase]["embeddings"]
            return max(float((w * rows[c]["embeddings"]).sum(-1).mean()) for c in chosen)

        best = min((p for p in admissible if p not in chosen), key=closeness)
        chosen.append(best)
    return chosen


def main(argv: list[str] | None = None) -> int:
    p = CheckedParser(description=__doc__)
    p.add_argument("--root", type=text("a folder"), default="outputs/validation-world")
    p.add_argument(
        "--templates", nargs="+", type=integer(1), default=[4, 8], help="values of M, integers >= 1"
    )
    args = p.parse_checked(argv, folders=("root",), distinct=("templates",))
    quiet()
    validation_world(args.root)
    runner, _ = runner_for({"methods": ["zeroshot"], "seeds": [1]})
    base = validation_splits(args.root, 1)["base"]
    features, labels = runner.features.get(base.test)
    rows = measure(runner.backbone, base.classnames, features, labels)
    try:  # every M is picked before anything is printed: no result for some M, then an error for another
        picks = {m: pick(rows, m) for m in args.templates}
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(rows)} candidates; base-class validation images: {len(labels)}\n")
    print("| phrase | cos t0 | zs acc | u |\n|---|---|---|---|")
    for phrase, r in sorted(rows.items(), key=lambda item: -item[1]["cos t0"]):
        print(f"| {phrase} | {r['cos t0']:.3f} | {r['zs acc']:.1f} | {r['u']:.3f} |")
    for m, chosen in picks.items():
        print(f"\nM = {m}: {chosen}")
        print("pairwise cosine of the chosen starts:")
        for a in chosen:
            cells = " ".join(
                f"{float((rows[a]['embeddings'] * rows[b]['embeddings']).sum(-1).mean()):5.2f}"
                for b in chosen
            )
            print(f"  {a:28s} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
