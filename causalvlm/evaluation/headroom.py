"""How much a task's frozen image features know beyond what the class-only prompt reads: the headroom.

Two accuracies of the same frozen image features f(x) (L2-normalised CLIP features), on the base and on the
new classes of a base-to-new task:

* **zero-shot**: ŷ = argmax_c cos(f(x), g(template(c))), the hand-crafted prompt of the dataset;
* **K-shot linear probe**: multinomial logistic regression on the K-shot training images of the same classes,
  fit by L-BFGS (CLIP's and CoOp's linear-probe baseline)::

      min_{W,b}  (1/N) Σ_i CE(W z_i + b, y_i) + λ ‖W‖²,      z = (f(x) − μ) / σ,

  with μ, σ the per-dimension mean and std of the training features (so λ does not depend on the feature
  scale). λ is chosen from :data:`L2_GRID` by accuracy on the task's validation images (ties: the larger λ),
  and the probe fit with that λ is the one tested.

On real CLIP the 16-shot probe beats zero-shot by 10–30 points on most of CoOp's datasets: the features
carry the class and the class-only prompt reads them poorly (the task misalignment). A probe that does
*not* beat zero-shot says that the features hold nothing more for a prompt learner to find. Both are computed
on the images the run is tested on, one K-shot draw per seed (the seed's own draw).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from causalvlm.backbones import FrozenCLIP
from causalvlm.data import DatasetSplits
from causalvlm.evaluation.features import FeatureCache, data_key

L2_GRID: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
MAX_ITER = 200  # L-BFGS iterations; the problem is small and convex


def fit_linear_probe(
    features: Tensor, labels: Tensor, num_classes: int, l2: float, max_iter: int = MAX_ITER
) -> Callable[[Tensor], Tensor]:
    """Multinomial logistic regression (the module equation) fit by L-BFGS; returns x ↦ logits.

    The fit starts from zero weights and is deterministic on a given device.
    """
    if features.ndim != 2 or len(features) != len(labels) or len(labels) == 0:
        raise ValueError(f"need features [N,D] and N labels, got {tuple(features.shape)} and {len(labels)}")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    x = features.detach().double()
    mean, std = x.mean(0), x.std(0, unbiased=False).clamp_min(1e-6)
    z = (x - mean) / std
    y = labels.long()
    weight = torch.zeros(x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9
    )

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ weight + bias, y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    weight, bias = weight.detach(), bias.detach()
    return lambda f: ((f.detach().double() - mean) / std) @ weight + bias


def accuracy(logits: Tensor, labels: Tensor) -> float:
    """Top-1 accuracy in percent."""
    return 100.0 * (logits.argmax(1) == labels).double().mean().item()


def linear_probe_accuracy(
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor],
    num_classes: int,
    val: tuple[Tensor, Tensor] | None = None,
    l2_grid: Sequence[float] = L2_GRID,
) -> tuple[float, float]:
    """(test accuracy, chosen λ) of the probe fit on ``train``; λ chosen on ``val`` (ties → larger λ).

    Without validation images the largest λ of the grid is used.
    """
    if not l2_grid:
        raise ValueError("give at least one l2 value")
    if val is None or not len(val[1]):
        chosen = max(l2_grid)
        return accuracy(fit_linear_probe(*train, num_classes, chosen)(test[0]), test[1]), chosen
    # each fit starts from zero and is deterministic: the probe chosen on validation is tested as it is
    probes = {l2: fit_linear_probe(*train, num_classes, l2) for l2 in l2_grid}
    chosen = max((accuracy(probe(val[0]), val[1]), l2) for l2, probe in probes.items())[1]
    return accuracy(probes[chosen](test[0]), test[1]), chosen


@torch.no_grad()
def zero_shot_accuracy(
    backbone: FrozenCLIP, splits: DatasetSplits, features: Tensor, labels: Tensor
) -> float:
    """Accuracy of argmax_c cos(f(x), g(template(c))) with the dataset's hand-crafted template."""
    text = backbone.encode_text([splits.template.format(c) for c in splits.classnames]).float().cpu()
    return accuracy(features.float() @ text.T, labels)


@dataclass
class Headroom:
    """Per half ("base", "new"): the seeds' linear-probe and zero-shot accuracies (percent) and chosen λ."""

    shots: int
    seeds: list[int]
    linear_probe: dict[str, list[float]]
    zero_shot: dict[str, list[float]]
    l2: dict[str, list[float]]

    def summary(self) -> dict:
        """The results.json entry: means and per-seed values; ``gap`` = probe − zero-shot (the headroom)."""
        out: dict = {"shots": self.shots, "seeds": list(self.seeds), "l2_grid": list(L2_GRID)}
        for half in self.linear_probe:
            probe, zero = float(np.mean(self.linear_probe[half])), float(np.mean(self.zero_shot[half]))
            out[half] = {
                "linear_probe": probe,
                "zero_shot": zero,
                "gap": probe - zero,
                "linear_probe_values": list(self.linear_probe[half]),
                "l2": list(self.l2[half]),
            }
        return out


def task_headroom(
    backbone: FrozenCLIP,
    build: Callable[[str, int], DatasetSplits],
    seeds: Sequence[int],
    shots: int,
    features: FeatureCache | None = None,
    halves: Sequence[str] = ("base", "new"),
) -> Headroom:
    """Zero-shot and K-shot linear-probe accuracy of ``backbone``'s frozen features on each half.

    ``build(subsample, seed)`` returns the splits a run of that seed trains and tests on (its K-shot
    ``train_x``, ``val`` and ``test``); every seed's probe is fit on its own draw.
    """
    if not seeds:
        raise ValueError("give at least one seed")
    features = features or FeatureCache(backbone)
    probe: dict[str, list[float]] = {h: [] for h in halves}
    zero: dict[str, list[float]] = {h: [] for h in halves}
    l2s: dict[str, list[float]] = {h: [] for h in halves}
    for seed in seeds:
        for half in halves:
            splits = build(half, seed)
            test = features.get(splits.test)
            # λ is chosen on validation images, never on the test images (ImageNet validates on test)
            own_val = splits.val and data_key(splits.val) != data_key(splits.test)
            val = features.get(splits.val) if own_val else None
            score, l2 = linear_probe_accuracy(features.get(splits.train_x), test, splits.num_classes, val)
            probe[half].append(score)
            l2s[half].append(l2)
            if seed == seeds[0]:  # zero-shot reads no training image: the same on every seed
                zero[half] = [zero_shot_accuracy(backbone, splits, *test)]
    return Headroom(shots, list(seeds), probe, zero, l2s)
