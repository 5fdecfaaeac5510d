"""End-of-text truncation on vs off for the CLIP text encoder, measured side by side in one run.

The text transformer is causal, so positions after the end-of-text token never reach the pooled output;
running only up to max(eot)+1 gives identical features for less work. This script builds the ViT-B-16
architecture with random weights (text tower: width 512, 12 layers, context 77), encodes CoOp-style prompts
for a small batch of class names both ways, checks the outputs agree, and prints the time ratio.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_eot_truncation.py [--arch ViT-B-16] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from causalvlm.backbones import FrozenCLIP

CLASSNAMES = [
    "dog",
    "hot air balloon",
    "great crested grebe",
    "Abyssinian",
    "stop sign",
    "golden retriever",
    "tabby cat",
    "pickup truck",
]


def time_encoder(backbone, prompts, eot_index, truncate: bool) -> float:
    start = time.perf_counter()
    backbone.encode_text_embeddings(prompts, eot_index, truncate=truncate)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="ViT-B-16", help="open_clip architecture name or config JSON")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per setting (interleaved)")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    backbone = FrozenCLIP.from_config(args.arch)
    tokens = backbone.tokenize([f"a photo of a {name}." for name in CLASSNAMES])
    prompts, eot_index = backbone.embed_tokens(tokens), backbone.eot_index(tokens)

    with torch.no_grad():
        full = backbone.encode_text_embeddings(prompts, eot_index, truncate=False)
        cut = backbone.encode_text_embeddings(prompts, eot_index, truncate=True)
        max_diff = (full - cut).abs().max().item()
        times = {True: [], False: []}
        for _ in range(args.repeats):  # interleave so background load hits both settings alike
            for truncate in (False, True):
                times[truncate].append(time_encoder(backbone, prompts, eot_index, truncate))

    full_s, cut_s = min(times[False]), min(times[True])
    print(
        f"arch={args.arch} batch={len(CLASSNAMES)} context={backbone.context_length} "
        f"truncated length={int(eot_index.max()) + 1} threads={torch.get_num_threads()}"
    )
    print(f"max |full - truncated| = {max_diff:.2e}")
    print(f"truncation off: {full_s * 1e3:8.1f} ms   (best of {args.repeats})")
    print(f"truncation on : {cut_s * 1e3:8.1f} ms   (best of {args.repeats})")
    print(f"speed-up      : {full_s / cut_s:8.2f}x")
    return {
        "arch": str(args.arch),
        "batch": len(CLASSNAMES),
        "context": backbone.context_length,
        "truncated_length": int(eot_index.max()) + 1,
        "max_diff": max_diff,
        "off_ms": full_s * 1e3,
        "on_ms": cut_s * 1e3,
        "speedup": full_s / cut_s,
    }


if __name__ == "__main__":
    main()
