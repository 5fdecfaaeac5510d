"""CDC training step: speed and memory against a CoOp-style reference step, side by side in one run.

For every setting (M templates, C classes, precision, end-of-text truncation, cached image features) it times
one optimiser step of :class:`causalvlm.FrontDoorClassifier` (VSD mediator + DSTC aggregator + L_de + L_con)
and, for each (M, C), a reference step written the way CoOp's code does it: one template at a time, the full
context (77 tokens for CLIP), fp32, the image encoder run for every view. It prints step times, the ratio
reference / ours, peak memory (CUDA) or the bytes autograd saves for backward (CPU), the text encoder's
achieved FLOP/s (and its share of the GPU's dense bf16 peak), and inference images/s + trainable parameters
per M (the paper's compute table).

    python benchmarks/bench_training_step.py                 # auto: GPU → ViT-B-16 full grid, CPU → small
    python benchmarks/bench_training_step.py --scale full    # ViT-B-16, M∈{1,2,4,8}, C∈{10,100,500}, batch 32
    python benchmarks/bench_training_step.py --scale quick   # the smallest grid (the test suite runs this)
    python benchmarks/bench_training_step.py --grad-checkpointing   # text-encoder activation checkpointing

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
from torch.utils.flop_counter import FlopCounterMode

from causalvlm import FrontDoorClassifier
from causalvlm.backbones import FrozenCLIP

SMALL_CONFIG = Path(__file__).with_name("configs") / "bench_small_clip.json"
TINY_CONFIG = Path(__file__).with_name("configs") / "bench_tiny_clip.json"
# Dense bf16 tensor-core peaks (FLOP/s) of the GPUs this project benchmarks on.
BF16_PEAK = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


@dataclass(frozen=True)
class Scale:
    arch: str
    templates: tuple[int, ...]
    classes: tuple[int, ...]
    batch: int
    precisions: tuple[str, ...]
    steps: int


SCALES = {
    "full": Scale("ViT-B-16", (1, 2, 4, 8), (10, 100, 500), 32, ("fp32", "bf16"), 10),
    "small": Scale(str(SMALL_CONFIG), (1, 4), (10, 50), 8, ("fp32",), 3),
    "quick": Scale(str(TINY_CONFIG), (2,), (10,), 2, ("fp32",), 1),
}


def classnames(num_classes: int) -> list[str]:
    # Two-to-four-token names, like most real class names.
    words = ["red", "spotted", "small", "wild", "striped", "northern", "giant", "common"]
    return [f"{words[i % len(words)]} object {i}" for i in range(num_classes)]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(step, device: torch.device, steps: int) -> float:
    """Median seconds per call of ``step`` after one warm-up call."""
    step()
    times = []
    for _ in range(steps):
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def out_of_memory_guard(measure, device: torch.device) -> tuple[float, float]:
    """(seconds, MiB) from ``measure()``, or (nan, nan) when the setting does not fit in device memory."""
    try:
        return measure()
    except torch.OutOfMemoryError:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return float("nan"), float("nan")


def memory_of(step, device: torch.device) -> float:
    """MiB: peak CUDA memory of one step, or on CPU the bytes autograd saves for the backward pass."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        step()
        return torch.cuda.max_memory_allocated() / 2**20
    storages: dict[int, int] = {}

    def pack(tensor):
        # Count each storage once: many ops save the same activation (or a frozen weight) for backward.
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    return sum(storages.values()) / 2**20


def build_classifier(backbone: FrozenCLIP, num_templates: int, num_classes: int) -> FrontDoorClassifier:
    return FrontDoorClassifier(
        backbone,
        "vsd",
        "ds",
        beta=1.0,
        gamma=1.0,
        classnames=classnames(num_classes),
        mediator_options={"num_templates": num_templates},
    )


def sgd(params) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=2e-3, momentum=0.9, weight_decay=5e-4)


def our_step(classifier, optimizer, views, labels, cached, precision, device):
    """One step of the library's objective L = L_t-ce + β L_de + γ L_con, as the Lightning module runs it."""
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )

    def step():
        with autocast:
            if cached is not None:
                loss = classifier.loss_terms(cached, labels, features=True)["loss"]
            else:
                loss = classifier.loss_terms(views, labels)["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def reference_step(classifier, optimizer, views, labels):
    """CoOp-style: for each template separately, encode its view and its C prompts at full context, fp32.

    This is the written-out reference the library's step is compared with, so it uses the backbone and the
    mediator's prompt parameters directly on purpose (the only place outside the classifier that does).
    """
    backbone = classifier.backbone
    prompts = classifier.mediator.prompts

    def step():
        loss = 0.0
        for m, prompt in enumerate(prompts):
            image_features = F.normalize(backbone.model.encode_image(views[:, m]), dim=-1)
            embeddings, eot = prompt(backbone.context_length)
            text_features = backbone.encode_text_embeddings(embeddings, eot, truncate=False)
            logits = backbone.logit_scale * image_features @ text_features.t()
            loss = loss + F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def text_encoder_flops(classifier, precision, device) -> tuple[float, float]:
    """(FLOPs, seconds) of one forward + backward of the M×C-prompt text pass alone."""
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    )

    def step():
        with autocast:
            features = classifier.text_features()
        features.float().square().sum().backward()

    with FlopCounterMode(display=False) as counter:
        step()
    seconds = timed(step, device, steps=3)
    classifier.zero_grad(set_to_none=True)
    return float(counter.get_total_flops()), seconds


def inference_images_per_second(classifier, views, device, steps: int) -> float:
    """Images/s at test time under the default "shared" test-view policy (one clean view for all templates):
    text features once, then image encoder + logits + fusion per batch."""
    with torch.no_grad(), classifier.evaluating():
        seconds = timed(lambda: classifier(views[:, :1]), device, steps)
    return views.shape[0] / seconds


def bf16_peak(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in BF16_PEAK.items() if key in name), None)


def run(scale: Scale, device: torch.device, grad_checkpointing: bool) -> list[dict]:
    torch.manual_seed(0)
    backbone = FrozenCLIP.from_config(scale.arch).to(device)
    backbone.set_text_grad_checkpointing(grad_checkpointing)
    size = backbone.image_size
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"# device: {device_name}; arch: {Path(scale.arch).stem}; batch {scale.batch}; "
        f"text grad checkpointing: {grad_checkpointing}; torch {torch.__version__}"
    )
    rows = []
    peak = bf16_peak(device)
    for M, C in itertools.product(scale.templates, scale.classes):
        classifier = build_classifier(backbone, M, C).to(device)
        optimizer = sgd(classifier.trainable_parameters())
        views = torch.randn(scale.batch, M, 3, size, size, device=device)
        labels = torch.randint(0, C, (scale.batch,), device=device)
        with torch.no_grad():
            cached_features = classifier.encode_views(views)

        backbone.truncate_text = True
        reference = reference_step(classifier, optimizer, views, labels)
        ref_seconds, ref_memory = out_of_memory_guard(
            lambda reference=reference: (timed(reference, device, scale.steps), memory_of(reference, device)),
            device,
        )
        for precision, truncate, cached in itertools.product(scale.precisions, (True, False), (False, True)):
            backbone.truncate_text = truncate
            step = our_step(
                classifier, optimizer, views, labels, cached_features if cached else None, precision, device
            )
            seconds, memory = out_of_memory_guard(
                lambda step=step: (timed(step, device, scale.steps), memory_of(step, device)), device
            )
            optimizer.zero_grad(set_to_none=True)
            rows.append(
                {
                    "M": M,
                    "C": C,
                    "precision": precision,
                    "truncate": truncate,
                    "cached": cached,
                    "ms": 1e3 * seconds,
                    "ref_ms": 1e3 * ref_seconds,
                    "speedup": ref_seconds / seconds,
                    "MiB": memory,
                    "ref_MiB": ref_memory,
                }
            )
            print(format_row(rows[-1]), flush=True)
        backbone.truncate_text = True
        for precision in scale.precisions:
            flops, seconds = text_encoder_flops(classifier, precision, device)
            achieved = flops / seconds
            share = f"{100 * achieved / peak:.1f}% of bf16 peak" if peak and precision == "bf16" else ""
            print(
                f"text encoder M={M} C={C} {precision}: {flops / 1e9:.2f} GFLOP fwd+bwd, "
                f"{achieved / 1e9:.1f} GFLOP/s {share}"
            )
        images_per_second = inference_images_per_second(classifier, views, device, scale.steps)
        print(
            f"inference M={M} C={C}: {images_per_second:.1f} "
            f"images/s, trainable parameters {classifier.num_trainable_parameters()}"
        )
    memory_kind = "peak CUDA MiB" if device.type == "cuda" else "autograd-saved MiB"
    print(
        f"\n| M | C | precision | truncation | cached features | step ms | reference ms | speed-up | "
        f"{memory_kind} | reference {memory_kind} |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(format_row(r))
    return rows


def format_row(r: dict) -> str:
    """One markdown row; settings that ran out of device memory read "OOM"."""

    def number(value: float, fmt: str) -> str:
        return "OOM" if value != value else format(value, fmt)

    return (
        f"| {r['M']} | {r['C']} | {r['precision']} | {'on' if r['truncate'] else 'off'} | "
        f"{'on' if r['cached'] else 'off'} | {number(r['ms'], '.1f')} | {number(r['ref_ms'], '.1f')} | "
        f"{number(r['speedup'], '.2f')}x | {number(r['MiB'], '.0f')} | {number(r['ref_MiB'], '.0f')} |"
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["auto", *SCALES], default="auto")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--grad-checkpointing", action="store_true", help="checkpoint the text transformer")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    scale_name = args.scale if args.scale != "auto" else ("full" if device.type == "cuda" else "small")
    return run(SCALES[scale_name], device, args.grad_checkpointing)


if __name__ == "__main__":
    main()
