"""CoCoOp training step: all B×C prompts in one text pass vs one image at a time, side by side in one run.

CoCoOp's prompts depend on the image, so its text encoder must run for every image. The official code loops
over the images of a batch, one C-prompt text pass each, at the full 77-token context, and so recommends
batch size 1. ``CoCoOpMediator`` puts the B×C prompts of a batch through the text encoder in one pass, cut at
the latest end-of-text token. For each (B, C) this times one optimiser step (forward, cross-entropy, backward,
SGD) of

    batched     — ``mediator(image_features)``: one pass over B·C prompts, end-of-text truncation on;
    loop        — the same mediator called on one image at a time (B passes of C prompts), truncation on;
    loop, 77    — the loop at the full context length, as the official code runs it;

and prints their times, the ratios loop / batched and loop-77 / batched, memory (peak CUDA, or on CPU the
bytes autograd saves for backward), and the largest difference between the batched and the looped loss (they
compute the same objective). Image features are precomputed: the image tower is frozen in CoCoOp and costs the
same in every variant, so only the text side is compared.

    python benchmarks/bench_cocoop_batching.py                 # auto: GPU → ViT-B-16 full grid, CPU → small
    python benchmarks/bench_cocoop_batching.py --scale full    # ViT-B-16, B ∈ {4, 32}, C ∈ {10, 100}
    python benchmarks/bench_cocoop_batching.py --scale quick   # the smallest grid (the test suite runs this)

Weights are random: step time does not depend on their values.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from causalvlm.backbones import FrozenCLIP
from causalvlm.mediators import CoCoOpMediator

SMALL_CONFIG = Path(__file__).with_name("configs") / "bench_small_clip.json"
TINY_CONFIG = Path(__file__).with_name("configs") / "bench_tiny_clip.json"


@dataclass(frozen=True)
class Scale:
    arch: str
    batches: tuple[int, ...]
    classes: tuple[int, ...]
    precision: str
    steps: int


SCALES = {
    "full": Scale("ViT-B-16", (4, 32), (10, 100), "bf16", 5),
    "small": Scale(str(SMALL_CONFIG), (4, 16), (10, 50), "fp32", 5),
    "quick": Scale(str(TINY_CONFIG), (2,), (5,), "fp32", 1),
}


def classnames(num_classes: int) -> list[str]:
    words = ["red", "spotted", "small", "wild", "striped", "northern", "giant", "common"]
    return [f"{words[i % len(words)]} object {i}" for i in range(num_classes)]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_side_by_side(steps: dict, device: torch.device, repeats: int) -> dict[str, float]:
    """Median seconds per call of each step, the steps taking turns so that load on a shared machine hits all
    of them alike; one warm-up call each first."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            step()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def memory_of(step, device: torch.device) -> float:
    """MiB: peak CUDA memory of one step, or on CPU the bytes autograd saves for the backward pass."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        step()
        return torch.cuda.max_memory_allocated() / 2**20
    storages: dict[int, int] = {}

    def pack(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    return sum(storages.values()) / 2**20


def guarded(measure):
    """``measure()``, or None when the setting does not fit in device memory."""
    try:
        return measure()
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        return None


def batched_loss(mediator: CoCoOpMediator, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of τ · f(x_b) · w_c(x_b) with all B×C prompts in one text pass."""
    text = mediator(features)[:, 0]  # [B, C, D]
    logits = mediator.backbone.logit_scale * torch.einsum(
        "bd,bcd->bc", features[:, 0], text.to(features.dtype)
    )
    return F.cross_entropy(logits.float(), labels)


def looped_loss(mediator: CoCoOpMediator, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The same objective with one C-prompt text pass per image (the official code's loop)."""
    logits = []
    for b in range(features.shape[0]):
        text = mediator(features[b : b + 1])[0, 0]  # [C, D]
        logits.append(mediator.backbone.logit_scale * features[b, 0] @ text.to(features.dtype).t())
    return F.cross_entropy(torch.stack(logits).float(), labels)


def make_step(loss_fn, mediator, optimizer, features, labels, truncate: bool, precision: str, device):
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )

    def step():
        mediator.backbone.truncate_text = truncate
        try:
            with autocast:
                loss = loss_fn(mediator, features, labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        finally:
            mediator.backbone.truncate_text = True

    return step


VARIANTS = (("batched", batched_loss, True), ("loop", looped_loss, True), ("loop77", looped_loss, False))


def run(scale: Scale, device: torch.device) -> list[dict]:
    torch.manual_seed(0)
    backbone = FrozenCLIP.from_config(scale.arch).to(device)
    precision = scale.precision if device.type == "cuda" else "fp32"
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"# device: {device_name}; arch: {Path(scale.arch).stem}; {precision}; threads "
        f"{torch.get_num_threads()}; torch {torch.__version__}; image features precomputed"
    )
    rows = []
    for B, C in itertools.product(scale.batches, scale.classes):
        mediator = CoCoOpMediator(backbone, classnames(C)).to(device)
        features = F.normalize(torch.randn(B, 1, backbone.embed_dim, device=device), dim=-1)
        labels = torch.randint(0, C, (B,), device=device)
        with torch.no_grad():
            difference = float(
                (batched_loss(mediator, features, labels) - looped_loss(mediator, features, labels)).abs()
            )
        row = {"B": B, "C": C, "precision": precision, "loss_diff": difference}
        # plain SGD without momentum and a tiny rate: every variant steps from (almost) the same point
        optimizer = torch.optim.SGD(mediator.parameters(), lr=1e-6)
        steps = {
            name: make_step(loss_fn, mediator, optimizer, features, labels, truncate, precision, device)
            for name, loss_fn, truncate in VARIANTS
        }
        seconds = guarded(lambda steps=steps: timed_side_by_side(steps, device, scale.steps)) or {}
        for name, step in steps.items():
            memory = guarded(lambda step=step: memory_of(step, device))
            row[f"{name}_ms"] = 1e3 * seconds.get(name, float("nan"))
            row[f"{name}_MiB"] = float("nan") if memory is None else memory
        row["loop_ratio"] = row["loop_ms"] / row["batched_ms"]
        row["loop77_ratio"] = row["loop77_ms"] / row["batched_ms"]
        row["batched_images_per_s"] = B / (row["batched_ms"] / 1e3)
        rows.append(row)
        print(format_row(row), flush=True)
    memory_kind = "peak CUDA MiB" if device.type == "cuda" else "autograd-saved MiB"
    print(
        "\n| B | C | batched ms | loop ms | loop-77 ms | loop / batched | loop-77 / batched | "
        f"batched images/s | {memory_kind} batched / loop / loop-77 | max abs loss difference |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(format_row(row))
    return rows


def format_row(r: dict) -> str:
    """One markdown row; a variant that ran out of device memory reads "OOM"."""

    def number(value: float, fmt: str) -> str:
        return "OOM" if value != value else format(value, fmt)

    return (
        f"| {r['B']} | {r['C']} | {number(r['batched_ms'], '.1f')} | {number(r['loop_ms'], '.1f')} | "
        f"{number(r['loop77_ms'], '.1f')} | {number(r['loop_ratio'], '.2f')}x | "
        f"{number(r['loop77_ratio'], '.2f')}x | {number(r['batched_images_per_s'], '.1f')} | "
        f"{number(r['batched_MiB'], '.0f')} / {number(r['loop_MiB'], '.0f')} / "
        f"{number(r['loop77_MiB'], '.0f')} | {r['loss_diff']:.1e} |"
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["auto", *SCALES], default="auto")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    scale_name = args.scale if args.scale != "auto" else ("full" if device.type == "cuda" else "small")
    return run(SCALES[scale_name], device)


if __name__ == "__main__":
    main()
