"""What a tiny CLIP's frozen image features know: a linear probe per factor on held-out images.

For every categorical factor f the probe is the multinomial logistic regression of
:func:`causalvlm.evaluation.headroom.fit_linear_probe` from the L2-normalised image features E_I(x) to the
factor's value, fit on the first half of a held-out set and scored on the second half. Beside the zero-shot
accuracies of :mod:`causalvlm.worlds.zero_shot` it separates "the features know the factor" from "the text
tower names it as the image tower encodes it".
"""

from __future__ import annotations

import numpy as np
import torch

from causalvlm.evaluation.headroom import accuracy, fit_linear_probe
from causalvlm.worlds.corpus import RenderedImages, to_model_input
from causalvlm.worlds.factors import CATEGORICAL_FACTORS
from causalvlm.worlds.zero_shot import model_input_size, zero_shot_factor_accuracy

PROBE_L2 = 1e-3  # fixed: the held-out set is large (1000 images to fit), so the weight matters little


@torch.no_grad()
def image_features(model, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """L2-normalised E_I(x) [N,D] of uint8 images [N,H,W,3], on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    cfg = model.visual.preprocess_cfg
    out = []
    for start in range(0, len(images), batch_size):
        x = to_model_input(
            images[start : start + batch_size], cfg["mean"], cfg["std"], model_input_size(model)
        )
        out.append(model.encode_image(x.to(device), normalize=True).float().cpu())
    return torch.cat(out)


def factor_probe_accuracy(model, data: RenderedImages) -> dict[str, dict[str, float]]:
    """``{factor: {"accuracy": a, "chance": 1/K}}``: a linear probe fit on the first half of ``data``,
    scored (fractions, like the zero-shot summary) on the second half."""
    if len(data) < 4:
        raise ValueError(f"need at least 4 held-out images for a fit/score split, got {len(data)}")
    features = image_features(model, data.images)
    half = len(data) // 2
    out = {}
    for factor, values in CATEGORICAL_FACTORS.items():
        labels = torch.tensor([getattr(f, factor) for f in data.factors])
        probe = fit_linear_probe(features[:half], labels[:half], len(values), PROBE_L2)
        score = accuracy(probe(features[half:]), labels[half:]) / 100.0
        out[factor] = {"accuracy": score, "chance": 1.0 / len(values)}
    return out


def held_out_report(model, tokenizer, held_out: RenderedImages) -> dict[str, dict]:
    """The two tables a checkpoint command writes into its summary: per-factor zero-shot accuracy, and the
    linear probe (fit on the first half of ``held_out``, scored on the second)."""
    return {
        "zero_shot_held_out": zero_shot_factor_accuracy(model, tokenizer, held_out),
        "linear_probe_held_out": factor_probe_accuracy(model, held_out),
    }


def print_held_out_report(report: dict[str, dict]) -> None:
    """One line per factor: zero-shot, linear probe and chance, in percent."""
    probe = report["linear_probe_held_out"]
    for factor, entry in report["zero_shot_held_out"].items():
        print(
            f"{factor:18s} zero-shot {100 * entry['accuracy']:5.1f} %  linear probe "
            f"{100 * probe[factor]['accuracy']:5.1f} %  chance {100 * entry['chance']:4.1f} %",
            flush=True,
        )
