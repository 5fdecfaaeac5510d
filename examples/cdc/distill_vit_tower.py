"""Distil the shipped tiny CLIP's ResNet image tower into an open_clip ViT image tower (a study, issue 18).

    python examples/cdc/distill_vit_tower.py [--steps 3000] [--width 64] [--layers 4] [--patch 4] [--out FILE]

Trained from labels or captions, no ViT learned shape within the CPU budget (MODEL_CARD.md, "The ViT image
tower"). Here the ViT learns from the ResNet tower instead, so it lands in the space the shipped text tower
already reads. For a batch of pre-training images x with teacher features t = E_I^ResNet(x) and student
features s = E_I^ViT(x) (both L2-normalised, 64-d),

    L = 1 − mean_x cos(s, t) + Σ_f KL( softmax(τ t W_fᵀ) ‖ softmax(τ s W_fᵀ) ),

with W_f the text features of factor f's zero-shot prompts (worlds.zero_shot.FACTOR_PROMPTS: shape, colours,
texture, size, position) and τ = 30 (the tiny CLIP's logit scale is 30.9). The cosine term alone moves the
colour-dominated bulk of the features and leaves shape near chance; the KL terms hand the student the
teacher's reading of every factor. It prints the student's zero-shot and linear-probe accuracy per factor on
1000 held-out images (seed 10 000, the model card's; the probe is fit on 500 of them, its L2 weight chosen on
250 and scored on the other 250) and, with ``--out``, saves the student's state dict.
Images: 12 000 renders of the pre-training world (seed 123); batch 128; AdamW, one-cycle lr 2e-3.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from open_clip.transformer import VisionTransformer

from causalvlm.cli import CheckedParser, integer, text
from causalvlm.evaluation.headroom import linear_probe_accuracy
from causalvlm.worlds import TINY_CLIP_CHECKPOINT, create_tiny_clip, render_images
from causalvlm.worlds.corpus import to_model_input
from causalvlm.worlds.factors import CATEGORICAL_FACTORS
from causalvlm.worlds.zero_shot import FACTOR_PROMPTS

TAU = 30.0
BATCH = 128


def main(argv: list[str] | None = None) -> int:
    p = CheckedParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=integer(1), default=3000)
    p.add_argument("--width", type=integer(32), default=64, help="a multiple of 32 (heads of width 32)")
    p.add_argument("--layers", type=integer(1), default=4)
    p.add_argument("--patch", type=integer(1), default=4, help="a divisor of the 32 px input")
    p.add_argument("--out", type=text("a file"), help="save the student's state dict here (a new file)")
    args = p.parse_checked(argv, files=("out",))
    if 32 % args.patch:
        p.error(f"argument --patch: must divide the 32 px input, got {args.patch}")
    if args.out and Path(args.out).exists():  # never overwrite what this study did not write
        p.error(f"argument --out: {args.out} exists; give a new file")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, tokenizer, _ = create_tiny_clip(TINY_CLIP_CHECKPOINT)
    model.eval()
    cfg = model.visual.preprocess_cfg
    train, test = render_images(12_000, seed=123), render_images(1000, seed=10_000)
    with torch.no_grad():
        x_train = to_model_input(train.images, cfg["mean"], cfg["std"], 32)
        x_test = to_model_input(test.images, cfg["mean"], cfg["std"], 32)
        teacher = torch.cat(
            [model.encode_image(x_train[i : i + 512], normalize=True) for i in range(0, 12_000, 512)]
        )
        prompts = {
            f: model.encode_text(
                tokenizer([FACTOR_PROMPTS[f](v) for v in CATEGORICAL_FACTORS[f]]), normalize=True
            )
            for f in FACTOR_PROMPTS
        }
    student = VisionTransformer(
        image_size=32, patch_size=args.patch, width=args.width, layers=args.layers,
        heads=max(1, args.width // 32), mlp_ratio=4.0, output_dim=teacher.shape[1],
    )  # fmt: skip
    optimizer = torch.optim.AdamW(student.parameters(), lr=2e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=2e-3, total_steps=args.steps, pct_start=0.1
    )
    rng = np.random.default_rng(0)
    start = time.time()
    for step in range(1, args.steps + 1):
        index = torch.as_tensor(rng.integers(len(x_train), size=BATCH))
        s, t = F.normalize(student(x_train[index]), dim=-1), teacher[index]
        loss = 1 - (s * t).sum(-1).mean()
        for w in prompts.values():
            loss = loss + F.kl_div(
                F.log_softmax(TAU * s @ w.T, -1), F.softmax(TAU * t @ w.T, -1), reduction="batchmean"
            )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 500 == 0 or step == args.steps:
            print(f"step {step}: loss {loss.item():.3f} ({time.time() - start:.0f} s)", flush=True)
    student.eval()
    with torch.no_grad():
        features = F.normalize(student(x_test), dim=-1)
    print("| factor | zero-shot | linear probe (fit on 500, λ chosen on 250, scored on 250) |\n|---|---|---|")
    for factor, w in prompts.items():
        labels = torch.as_tensor([getattr(f, factor) for f in test.factors])
        zero_shot = 100.0 * float(((features @ w.T).argmax(1) == labels).float().mean())
        probe = linear_probe_accuracy((features[:500], labels[:500]), (features[500:], labels[500:]), len(w))[
            0
        ]
        print(f"| {factor} | {zero_shot:.1f} | {probe:.1f} |")
    if args.out:  # its folder was checked writable (or creatable) before the work
        Path(args.out).expanduser().parent.mkdir(parents=True, exist_ok=True)
        torch.save(student.state_dict(), Path(args.out).expanduser())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
