"""The run's figures, drawn with matplotlib's object API (no global pyplot state) and saved atomically.

* :func:`plot_accuracy_per_epoch` — base and new accuracy after each epoch (the paper's Fig. 1b), one colour
  per method, base solid and new dashed
* :func:`plot_reliability` — reliability diagram of the fused probabilities (15 bins) with the ECE and the
  number of predictions in each bin, headed by the seed(s) it shows
* :func:`plot_template_accuracy` — each template's accuracy S1..SM next to the fused accuracy
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
from causalvlm.methods import find_method
from causalvlm.scm import SCM
from causalvlm.scm.drawing import draw_scm

_OTHER_COLOURS = ("tab:green", "tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
SET_STYLES = {"base": "-", "new": "--"}  # base classes solid, new classes dashed
SET_MARKERS = {"base": "o", "new": "s"}


def method_colours(methods: Sequence[str]) -> dict[str, str]:
    """One colour per method label: its registered method's colour (``"cdc[M=8]"`` → cdc's; each method's
    file sets it, zero-shot CLIP grey), else the next free one."""
    colours: dict[str, str] = {}
    spare = iter(_OTHER_COLOURS * (1 + len(methods) // len(_OTHER_COLOURS)))
    used: set[str] = set()
    for method in methods:
        family = method.split("[", 1)[0].split(" ", 1)[0]
        method_entry = find_method(family)
        colour = method_entry.colour if method_entry is not None else None
        if colour is None or colour in used:
            colour = next(c for c in spare if c not in used)
        colours[method] = colour
        used.add(colour)
    return colours


def accuracy_per_epoch_figure(
    histories: Mapping[str, Sequence[Mapping[str, float]]], title: str = "", seeds: str = ""
) -> Figure:
    """One colour per method; base accuracy solid (circles), new dashed (squares); epoch 0 is before training.

    Lines of different methods often coincide (at epoch 0 CoOp and CDC start from the zero-shot prompt): each
    later method is drawn thinner with smaller markers on top of the earlier ones, so both stay visible.
    A method that does not train (one point) is a level line across the plot. ``seeds`` says which run the
    histories come from (e.g. ``"seed 1"``); it is added to the title.
    """
    figure = Figure(figsize=(6.4, 4.2))
    axes = figure.subplots()
    methods = [m for m, rows in histories.items() if rows]
    colours = method_colours(methods)
    for order, method in enumerate(methods):
        rows = histories[method]
        width, size = max(1.0, 3.6 - 1.1 * order), max(3.0, 9.0 - 2.5 * order)
        for key in sorted({k for row in rows for k in row if k.endswith("_acc")}):
            points = [(row["epoch"], row[key]) for row in rows if key in row]
            set_name = key[: -len("_acc")]
            style: dict[str, Any] = {
                "color": colours[method],
                "linestyle": SET_STYLES.get(set_name, ":"),
                "alpha": 0.85,
            }
            if len(points) == 1:
                label = f"{method} {set_name} (no training)"
                axes.axhline(points[0][1], linewidth=width, label=label, **style)
                continue
            axes.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                linewidth=width,
                marker=SET_MARKERS.get(set_name, "^"),
                markersize=size,
                label=f"{method} {set_name}",
                **style,
            )
    axes.set_xlabel("epoch (0 = before training)")
    axes.set_ylabel("accuracy (%)")
    title = title or "Base (solid) and new (dashed) accuracy per epoch (validation split)"
    axes.set_title(title + (f"\n{seeds}" if seeds else ""), fontsize=10)
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=8, loc="best")
    return figure


def plot_accuracy_per_epoch(
    histories: Mapping[str, Sequence[Mapping[str, float]]], path: str | Path, title: str = "", seeds: str = ""
) -> Path:
    """Save :func:`accuracy_per_epoch_figure` (the paper's Fig. 1b) to ``path``."""
    return atomic_save_figure(accuracy_per_epoch_figure(histories, title, seeds), path)


def reliability_figure(
    curves: Mapping[str, tuple[Tensor, Tensor]], n_bins: int = ECE_BINS, seeds: str = ""
) -> Figure:
    """One reliability diagram per entry ``name → (probs [N,C], labels [N])``, with each bin's count below.

    Top: accuracy per confidence bin (bars) against the diagonal of perfect calibration; ECE sums the
    bar-to-diagonal gaps weighted by bin size. Bottom: how many predictions fall in each bin, so that a bar
    resting on two images is not read like one resting on two hundred. ``seeds`` says which run(s) the
    predictions come from (e.g. ``"seed 1"``); it heads the figure.
    """
    if not curves:
        raise ValueError("no predictions to draw a reliability diagram of")
    figure = Figure(figsize=(3.6 * len(curves), 5.0))
    grid = figure.subplots(2, len(curves), squeeze=False, sharex=True, height_ratios=[3, 1])
    for column, (name, (probs, labels)) in enumerate(curves.items()):
        top, bottom = grid[0][column], grid[1][column]
        bins = reliability_bins(probs, labels, n_bins)
        edges = bins["edges"]
        width = edges[1] - edges[0]
        centres = [edges[i] + width / 2 for i in range(n_bins)]
        filled = [i for i, count in enumerate(bins["count"]) if count > 0]
        top.bar(
            [centres[i] for i in filled],
            [bins["accuracy"][i] for i in filled],
            width=width,
            edgecolor="black",
            alpha=0.7,
            label="accuracy in bin",
        )
        top.plot([0, 1], [0, 1], "k--", label="perfect calibration")
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        ece = ece_percent(probs, labels, n_bins)
        top.set_title(f"{name}\nECE = {ece:.2f}%, N = {len(labels)}", fontsize=9)
        bottom.bar(centres, bins["count"], width=width, color="tab:gray", edgecolor="black")
        for i in filled:
            bottom.annotate(
                f"{int(bins['count'][i])}", (centres[i], bins["count"][i]), textcoords="offset points",
                xytext=(0, 1), ha="center", va="bottom", fontsize=6,
            )  # fmt: skip
        bottom.set_ylim(0, max(bins["count"]) * 1.3 or 1)
        bottom.set_xlabel("confidence (top-1 fused probability)")
    grid[0][0].set_ylabel("accuracy")
    grid[1][0].set_ylabel("predictions")
    grid[0][0].legend(loc="upper left", fontsize=7)
    heading = f"Reliability of the fused P(Y | do(x)), {n_bins} bins" + (f" — {seeds}" if seeds else "")
    figure.suptitle(heading, fontsize=10)
    return figure


def plot_reliability(
    curves: Mapping[str, tuple[Tensor, Tensor]], path: str | Path, n_bins: int = ECE_BINS, seeds: str = ""
) -> Path:
    """Save :func:`reliability_figure` to ``path``."""
    return atomic_save_figure(reliability_figure(curves, n_bins, seeds), path)


def template_accuracy_figure(rows: Mapping[str, tuple[Sequence[float], float]]) -> Figure:
    """``rows[name] = (per-template accuracies, fused accuracy)``: bars S1..SM, then the fused P(Y | do(x)).

    One panel per row (method and evaluation set), four to a line. Every bar is labelled (S1, S2, ...,
    fused) and carries its value. Each panel's y-axis spans its own values, not 0-100, because the point is
    a gap of a few points (one template at 88% while the fusion holds 94%).
    """
    columns = min(4, max(1, len(rows)))
    lines = max(1, -(-len(rows) // columns))
    widest = max((len(templates) + 1 for templates, _ in rows.values()), default=4)
    figure = Figure(figsize=(columns * max(3.0, 0.45 * widest + 1.2), 3.4 * lines))
    panels = figure.subplots(lines, columns, squeeze=False).ravel()
    if not rows:  # e.g. a run of zero-shot CLIP and CoOp only: one template each, nothing to compare
        panels[0].set_axis_off()
        panels[0].text(0.5, 0.5, "no method in this run has more than one template", ha="center", va="center")
        return figure
    for axes, (name, (templates, fused)) in zip(panels, rows.items(), strict=False):
        values = [*templates, fused]
        colours = ["tab:blue"] * len(templates) + ["tab:red"]
        bars = axes.bar(range(len(values)), values, width=0.8, color=colours, edgecolor="black")
        axes.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=7, padding=2)
        axes.set_xticks(range(len(values)))
        axes.set_xticklabels([f"S{m + 1}" for m in range(len(templates))] + ["fused"], fontsize=8)
        low, high = min(values), max(values)
        pad = max(1.0, 0.25 * (high - low))
        axes.set_ylim(max(0.0, low - pad), high + pad)
        axes.set_title(name.replace("\n", " · "), fontsize=9)
        axes.grid(axis="y", alpha=0.3)
    for axes in panels[len(rows) :]:
        axes.set_axis_off()
    for axes in panels[::columns]:
        axes.set_ylabel("accuracy (%)")
    heading = "Each template S1..SM alone (blue) vs the fused P(Y | do(x)) (red); y-axes do not start at 0"
    figure.suptitle(heading, fontsize=10)
    figure.tight_layout()
    return figure


def plot_template_accuracy(rows: Mapping[str, tuple[Sequence[float], float]], path: str | Path) -> Path:
    """Save :func:`template_accuracy_figure` to ``path``."""
    return atomic_save_figure(template_accuracy_figure(rows), path)


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
    """The SCM drawn by :mod:`causalvlm.scm` (latents dashed, symbols such as Ĝ_i set as math), with the
    mediator highlighted."""
    marked = [n for n in highlight if n in scm]
    figure = draw_scm(scm, highlight=marked, highlight_label="mediator (front-door set)")
    return atomic_save_figure(figure, path)


def plot_rho_sweep(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Base, new and HM accuracy on the interventional test split against ρ, one line per method.

    ``rows`` are ``{"rho", "method", "base", "base_std", "new", "new_std", "hm", "hm_std"}`` records (see
    :func:`causalvlm.experiments.rho_sweep.sweep_rho`); error bars are ± std over seeds.
    """
    figure = Figure(figsize=(12, 4.0))
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
    figure.suptitle(
        "Data misalignment: a colour cue of strength ρ in the few-shot training set\n"
        "accuracy on the interventional test split (colour independent of class), ± std over seeds"
    )
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
