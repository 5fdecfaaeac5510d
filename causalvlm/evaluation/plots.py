"""The run's figures, drawn with matplotlib's object API (no global pyplot state) and saved atomically.

* :func:`plot_accuracy_per_epoch` — base and new accuracy after each epoch (the paper's Fig. 1b)
* :func:`plot_reliability` — reliability diagram of the fused probabilities (15 bins) with the ECE
* :func:`plot_template_accuracy` — each template's accuracy S_1..S_M next to the fused accuracy
* :func:`plot_compute` — training and inference images/s per method and M
* :func:`plot_scm` — the causal graph the classifier was checked against
* :func:`plot_rho_sweep` — HM and new-class accuracy against the strength ρ of the spurious cue
* :func:`plot_similarity_probe` — cosine of images with full / class-only / single-factor texts (Fig. 1a)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from causalvlm.evaluation.atomic import atomic_save_figure
from causalvlm.evaluation.metrics import ECE_BINS, ece_percent, reliability_bins
from causalvlm.evaluation.probe import ProbeResult
from causalvlm.scm import SCM


def plot_accuracy_per_epoch(
    histories: Mapping[str, Sequence[Mapping[str, float]]], path: str | Path, title: str = ""
) -> Path:
    """One line per (method, class set): validation accuracy in training; epoch 0 is the initial prompt."""
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    styles = {"base": "-", "new": "--"}
    for method, rows in histories.items():
        if not rows:
            continue
        for key in sorted({k for row in rows for k in row if k.endswith("_acc")}):
            points = [(row["epoch"], row[key]) for row in rows if key in row]
            set_name = key[: -len("_acc")]
            if len(points) == 1:  # a method that does not train (zero-shot) is a level line
                axes.axhline(
                    points[0][1],
                    linestyle=styles.get(set_name, ":"),
                    color="gray",
                    alpha=0.8,
                    label=f"{method} {set_name} (no training)",
                )
                continue
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                styles.get(set_name, ":"),
                marker="o",
                label=f"{method} {set_name}",
            )
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy (%)")
    axes.set_title(title or "Base / new accuracy per epoch (validation split)")
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=8)
    return atomic_save_figure(figure, path)


def plot_reliability(
    curves: Mapping[str, tuple[Tensor, Tensor]], path: str | Path, n_bins: int = ECE_BINS
) -> Path:
    """One reliability diagram per entry ``name → (probs [N,C], labels [N])``.

    Bars: accuracy per confidence bin; diagonal: perfect calibration; ECE sums the bar-to-diagonal gaps,
    weighted by bin size.
    """
    if not curves:
        raise ValueError("no predictions to draw a reliability diagram of")
    figure = Figure(figsize=(3.6 * len(curves), 3.8))
    panels = figure.subplots(1, len(curves), squeeze=False)[0]
    for axes, (name, (probs, labels)) in zip(panels, curves.items(), strict=True):
        bins = reliability_bins(probs, labels, n_bins)
        edges = bins["edges"]
        width = edges[1] - edges[0]
        filled = [i for i, count in enumerate(bins["count"]) if count > 0]
        axes.bar(
            [edges[i] + width / 2 for i in filled],
            [bins["accuracy"][i] for i in filled],
            width=width,
            edgecolor="black",
            alpha=0.7,
            label="accuracy",
        )
        axes.plot([0, 1], [0, 1], "k--", label="perfect calibration")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_xlabel("confidence")
        axes.set_title(f"{name}\nECE = {ece_percent(probs, labels, n_bins):.2f}%", fontsize=9)
    panels[0].set_ylabel("accuracy")
    panels[0].legend(loc="upper left", fontsize=7)
    return atomic_save_figure(figure, path)


def plot_template_accuracy(rows: Mapping[str, tuple[Sequence[float], float]], path: str | Path) -> Path:
    """``rows[name] = (per-template accuracies, fused accuracy)``; grouped bars S_1..S_M then "fused"."""
    figure = Figure(figsize=(max(5, 1.2 * len(rows) + 3), 4))
    axes = figure.subplots()
    group_width = 0.8
    for group, (templates, fused) in enumerate(rows.values()):
        values = [*templates, fused]
        step = group_width / len(values)
        for m, value in enumerate(values):
            is_fused = m == len(values) - 1
            axes.bar(
                group - group_width / 2 + step * (m + 0.5),
                value,
                width=step,
                color="tab:red" if is_fused else "tab:blue",
                alpha=1.0 if is_fused else 0.4 + 0.6 * m / max(1, len(templates)),
                edgecolor="black",
            )
    axes.set_xticks(range(len(rows)))
    axes.set_xticklabels(list(rows), rotation=20, ha="right", fontsize=8)
    axes.set_ylabel("accuracy (%)")
    axes.set_title("Per-template S_1..S_M (blue) vs fused P(Y|do(x)) (red)")
    axes.grid(axis="y", alpha=0.3)
    return atomic_save_figure(figure, path)


def plot_compute(report: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Training and inference throughput for each measured (method, M)."""
    figure = Figure(figsize=(max(5, 1.0 * len(report) + 3), 4))
    axes = figure.subplots()
    names = [f"{r['method']}\nM={r['templates']}" for r in report]
    positions = range(len(report))
    axes.bar(
        [p - 0.2 for p in positions], [r.get("train_images_per_s") or 0 for r in report], 0.4, label="train"
    )
    axes.bar(
        [p + 0.2 for p in positions], [r["inference_images_per_s"] for r in report], 0.4, label="inference"
    )
    axes.set_xticks(list(positions))
    axes.set_xticklabels(names, fontsize=8)
    axes.set_ylabel("images / s")
    axes.set_title("Throughput per method and number of templates M")
    axes.legend(fontsize=8)
    return atomic_save_figure(figure, path)


def plot_scm(scm: SCM, path: str | Path, highlight: Sequence[str] = ("S",)) -> Path:
    """The SCM drawn by :mod:`causalvlm.scm` (latents dashed), with the mediator highlighted."""
    figure = scm.draw(highlight=[n for n in highlight if n in scm])
    return atomic_save_figure(figure, path)


def plot_rho_sweep(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Base, new and HM accuracy on the interventional test split against ρ, one line per method.

    ``rows`` are ``{"rho", "method", "base", "base_std", "new", "new_std", "hm", "hm_std"}`` records (see
    :func:`causalvlm.training.rho_sweep.sweep_rho`); error bars are ± std over seeds.
    """
    figure = Figure(figsize=(12, 3.6))
    panels = dict(zip(("base", "new", "hm"), figure.subplots(1, 3), strict=True))
    for method in dict.fromkeys(row["method"] for row in rows):
        mine = sorted((row for row in rows if row["method"] == method), key=lambda row: row["rho"])
        rhos = [row["rho"] for row in mine]
        for key, axes in panels.items():
            values, spread = [r[key] for r in mine], [r[f"{key}_std"] for r in mine]
            axes.errorbar(rhos, values, spread, marker="o", label=method)
    labels = {
        "base": "base-class accuracy (%)",
        "new": "new-class accuracy (%)",
        "hm": "HM of base and new (%)",
    }
    for key, axes in panels.items():
        axes.set_xlabel("ρ (training colour–class agreement)")
        axes.set_ylabel(labels[key])
        axes.grid(alpha=0.3)
    panels["base"].legend(fontsize=8)
    figure.suptitle("Data misalignment: spurious colour cue of strength ρ in the few-shot training set")
    figure.tight_layout()
    return atomic_save_figure(figure, path)


def _violins(axes, cosines: Mapping[str, np.ndarray], colours: Sequence[str]) -> None:
    """One violin per entry, its mean as a dot and printed above it."""
    cosines = {kind: values[~np.isnan(values)] for kind, values in cosines.items()}
    kept = [
        (kind, values, c) for (kind, values), c in zip(cosines.items(), colours, strict=True) if values.size
    ]
    positions = list(range(1, len(kept) + 1))
    violins = axes.violinplot([values for _, values, _ in kept], positions, showextrema=False, widths=0.8)
    for body, (_, _, colour) in zip(violins["bodies"], kept, strict=True):
        body.set_facecolor(colour)
        body.set_edgecolor(colour)
        body.set_alpha(0.6)
    means = [float(values.mean()) for _, values, _ in kept]
    axes.scatter(positions, means, color="black", zorder=3, s=14)
    low = min(float(values.min()) for _, values, _ in kept)
    top = max(float(values.max()) for _, values, _ in kept)
    axes.set_ylim(low - 0.05 * (top - low), top + 0.12 * (top - low))
    for x, mean in zip(positions, means, strict=True):
        axes.annotate(
            f"{mean:.3f}", (x, top), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8
        )
    axes.set_xticks(positions)
    axes.set_xticklabels([kind.replace("_", " ") for kind, _, _ in kept], rotation=25, ha="right", fontsize=8)
    axes.grid(axis="y", alpha=0.3)


def plot_similarity_probe(result: ProbeResult, path: str | Path, title: str = "") -> Path:
    """The paper's Fig. 1a: one violin per text kind (full description, class only, each factor's phrase).

    Each violin is the distribution over images of cos(image, text); the dot is its mean, printed above.
    With the control, a second panel shows the same texts taken from another image: a factor whose cosine
    does not drop there is not read from the image.
    """
    cosines = result.cosines()
    colours = ["tab:red", "tab:blue"] + ["tab:gray"] * (len(cosines) - 2)
    panels = 1 if result.mismatched is None else 2
    figure = Figure(figsize=(max(6.0, 1.0 * len(cosines) + 2) * (1.6 if panels == 2 else 1.0), 4.4))
    axes = figure.subplots(1, panels, squeeze=False, width_ratios=[3, 2][:panels])[0]
    _violins(axes[0], cosines, colours)
    axes[0].set_ylabel("cosine(image, text)")
    axes[0].set_title(title or f"Image–text similarity, {len(result)} images (Fig. 1a)", fontsize=10)
    if result.mismatched is not None:
        _violins(axes[1], result.mismatched, ["tab:gray"] * len(cosines))
        axes[1].set_title("Control: the texts of another image", fontsize=10)
    figure.tight_layout()
    return atomic_save_figure(figure, path)
