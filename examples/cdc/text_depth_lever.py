"""Does a deeper text tower put CoOp in the paper's regime on the default world? (a lever of issue 18)

    python -m causalvlm.worlds.pretrain --model-config examples/cdc/configs/tiny_clip_text6.json \\
        --out /tmp/text6/clip.pt                           # the deeper tiny CLIP (~10 min, 1 thread)
    python examples/cdc/text_depth_lever.py --seeds 1 2 \\
        --models shipped examples/cdc/configs/tiny_clip_text6.json=/tmp/text6/clip.pt

The hypothesis: the shipped tiny CLIP's text tower (width 64, 2 layers) is so close to linear that a context
learned on the base class names cannot overfit them, so CoOp gains on new classes where on real CLIP it loses
11 points. ``tiny_clip_text6.json`` is ``causalvlm/worlds/tiny_clip.json`` with 6 text layers instead of 2
(width 64, 2 heads of width 32); everything else, the image tower included, is the same.

For each model (``shipped`` = the package's checkpoint; otherwise ``CONFIG.json=CHECKPOINT``) this prints, on
the default world's validation images (50 per class, base and new halves; world_validation.py):

* zero-shot base / new with the dataset's template, and the 16-shot linear probe on the frozen image features
  (the mean over the seeds' draws; evaluation/headroom.py);
* CoOp with the default run's recipe (``method_spec("coop", aug="none")`` under causalvlm/configs/world.yaml:
  200 epochs, batch 32, lr 0.002, context "a photo of a"), trained on each seed's 16-shot draw, base / new per
  seed and the mean, with choose_task.py's regime checks: base ≥ zero-shot + 8 and new ≤ zero-shot − 5.

Measured 2026-12-05 on the 2-core CPU dev machine (contended), CoOp seeds 1–6, each checkpoint from
``python -m causalvlm.worlds.pretrain`` with default options except ``--model-config`` and ``--seed``:

| text tower | pretrain seed | zero-shot base / new | probe base | CoOp base / new | new vs zero-shot |
|---|---|---|---|---|---|
| 2 layers (shipped) | 0 | 54.7 / 76.5 | 73.7 | 70.2 / 83.7 | +7.2 (sd 1.2) |
| 2 layers | 1 | 41.5 / 68.8 | 72.4 | 69.9 / 74.0 | +5.2 (sd 1.2) |
| 6 layers | 0 | 25.7 / 38.5 | 63.6 | 40.6 / 31.1 | −7.4 (sd 9.6) |
| 6 layers | 1 | 74.0 / 92.3 | 83.2 | 83.4 / 94.6 | +2.3 (sd 1.3) |

Depth is not the lever: the pretraining seed moves zero-shot base accuracy on the silhouettes by 13–48
points, and the one checkpoint that meets "new ≤ zero-shot − 5" is the one whose zero-shot collapsed on the
silhouettes (base 25.7, outside choose_task.py's [45, 75] window) and whose CoOp is unstable across seeds
(new 20–49).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from choose_task import coop_on_validation, regime_line
from world_validation import headroom_on_validation, quiet, runner_for, study_parser, validation_world

SHIPPED = "shipped"


def model_settings(model: str) -> dict[str, str] | None:
    """The experiment settings naming a model: {} for the shipped tiny CLIP, backbone and checkpoint for
    CONFIG.json=CHECKPOINT of existing files, None for anything else."""
    if model == SHIPPED:
        return {}
    config, sep, checkpoint = model.partition("=")
    if not sep or not Path(config).is_file() or not Path(checkpoint).is_file():
        return None
    return {"backbone": config, "pretrained": checkpoint}


def main(argv: list[str] | None = None) -> None:
    parser = study_parser(__doc__.splitlines()[0], "outputs/validation-tasks/default")
    parser.add_argument("--models", nargs="+", default=[SHIPPED], help="'shipped' or CONFIG.json=CHECKPOINT")
    args = parser.parse_args(argv)
    settings = [model_settings(model) for model in args.models]  # every model checked before any work
    for model, extra in zip(args.models, settings, strict=True):
        if extra is None:
            parser.error(
                f"argument --models: {model!r} is not 'shipped' or CONFIG.json=CHECKPOINT of existing files"
            )
    quiet()
    validation_world(args.root)  # the default world, 50 validation images per class
    root = Path(args.root)
    for model, extra in zip(args.models, settings, strict=True):
        start = time.time()
        runner, _ = runner_for({"seeds": args.seeds, **extra})
        headroom = headroom_on_validation(runner, root, args.seeds)
        (zero_base, probe_base), (zero_new, probe_new) = headroom["base"], headroom["new"]
        print(
            f"\n## {model}\nzero-shot base {zero_base:.1f} new {zero_new:.1f}; 16-shot linear probe base "
            f"{probe_base:.1f} ({probe_base - zero_base:+.1f}) new {probe_new:.1f}",
            flush=True,
        )
        rows = coop_on_validation(runner, root, args.seeds)
        for seed, (base, new) in zip(args.seeds, rows, strict=True):
            print(f"CoOp seed {seed}: base {base:.1f} new {new:.1f}", flush=True)
        spread = np.std([r[1] for r in rows])
        print(f"{regime_line(rows, zero_base, zero_new)} (new: sd {spread:.1f} over seeds)")
        print(f"{time.time() - start:.0f} s for this model", flush=True)


if __name__ == "__main__":
    main()
