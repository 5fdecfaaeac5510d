"""results.md: the run's numbers as the paper's tables, with the Δ column and the paper's printed rows.

Cells are mean ± std over seeds for accuracies and ECE; HM is one number, HM(mean base, mean new), as in the
paper (see :mod:`causalvlm.evaluation.results` for the rules). Δ is a row's HM (base-to-new) or average target
accuracy (cross-*) minus the baseline's (:mod:`causalvlm.evaluation.delta`). Where the run covers the paper's
datasets, the paper's printed numbers follow each measured table under a "paper (printed)" heading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _cell(entry: Mapping[str, Any] | None) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    if "rule" in entry:  # a derived number (HM of means): no spread beside it
        return f"{entry['mean']:.2f}"
    if len(entry.get("values", [])) > 1:
        return f"{entry['mean']:.2f} ± {entry['std']:.2f}"
    return f"{entry['mean']:.2f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _delta_header(payload: Mapping[str, Any]) -> str | None:
    delta = payload.get("delta") or {}
    if not delta.get("baseline"):
        return None
    return f"Δ {delta['metric'].upper()} vs {delta['baseline']}"


def _delta_cell(payload: Mapping[str, Any], method: str, dataset: str | None) -> str:
    values = (payload.get("delta") or {}).get("values", {}).get(method)
    if values is None:
        return "(baseline)"
    return _signed(values["average"] if dataset is None else values["datasets"].get(dataset))


def _paper_note(paper: Mapping[str, Any]) -> str:
    label, table, setting = paper["label"].capitalize(), paper["table"], paper["setting"]
    note = f"{label}: {table} of the paper ({setting}); not measured here."
    if paper.get("setting_differs"):
        note += f" This run differs: {paper['setting_differs']}."
    return note


# --------------------------------------------------------------------------- base-to-new (Table 1)
def base2new_markdown(payload: Mapping[str, Any]) -> list[str]:
    """A table per dataset (the Avg row first), methods as rows: Base, New, HM, Δ, ECE (Table 1)."""
    results, lines = payload["results"], []
    paper = payload.get("paper")
    datasets = list(dict.fromkeys(d for by_dataset in results.values() for d in by_dataset))
    blocks: list[tuple[str, str | None, Mapping[str, Any]]] = [
        (d, d, {m: results[m].get(d) for m in results}) for d in datasets
    ]
    if len(datasets) > 1:
        title = f"Average over {len(datasets)} datasets (mean Base, mean New, HM of the two)"
        blocks.insert(0, (title, None, payload.get("average", {})))
    delta_header = _delta_header(payload)
    for title, dataset, by_method in blocks:
        lines += [f"### {title}", ""]
        header = [
            "Method",
            "Base",
            "New",
            "HM",
            *([delta_header] if delta_header else []),
            "ECE base",
            "ECE new",
        ]
        rows = []
        for method, metrics in by_method.items():
            if not metrics:
                continue
            delta = [_delta_cell(payload, method, dataset)] if delta_header else []
            rows.append(
                [method]
                + [_cell(metrics.get(k)) for k in ("base", "new", "hm")]
                + delta
                + [_cell(metrics.get(k)) for k in ("ece_base", "ece_new")]
            )
        lines += _table(header, rows)
        if paper:
            printed = paper["average"] if dataset is None else paper["datasets"].get(dataset)
            if printed:
                lines += _paper_base2new(paper, printed)
    return lines


def _paper_base2new(paper: Mapping[str, Any], printed: Mapping[str, Mapping[str, float]]) -> list[str]:
    header = ["Method", "Base", "New", "HM", "Δ HM vs MaPLe (printed)"]
    rows = [
        [f"{paper['methods'][m]}, {paper['label']}"]
        + [_number(printed[m].get(k)) for k in ("base", "new", "hm")]
        + [_signed(printed[m]["delta"]) if "delta" in printed[m] else ""]
        for m in paper["methods"]
        if m in printed
    ]
    return [_paper_note(paper), ""] + _table(header, rows)


# --------------------------------------------------------------------------- cross-* (Tables 2, 3)
def cross_markdown(payload: Mapping[str, Any], metric: str = "acc") -> list[str]:
    """Methods as rows, source then targets as columns, the target average and Δ (Tables 2, 3)."""
    results = payload["results"]
    datasets = list(dict.fromkeys(d for by_dataset in results.values() for d in by_dataset))
    delta_header = _delta_header(payload) if metric == "acc" else None
    header = [
        "Method",
        *datasets,
        "Average (targets)",
        *([delta_header + " (average)"] if delta_header else []),
    ]
    rows = []
    for method, by_dataset in results.items():
        average = payload.get("average", {}).get(method, {}).get(metric)
        rows.append(
            [method]
            + [_cell(by_dataset.get(d, {}).get(metric)) for d in datasets]
            + [_cell(average)]
            + ([_delta_cell(payload, method, None)] if delta_header else [])
        )
    title = "Accuracy (%)" if metric == "acc" else "ECE (%)"
    lines = [f"### {title}", ""] + _table(header, rows)
    paper = payload.get("paper")
    if paper and metric == "acc":
        printed_rows = []
        for m, name in paper["methods"].items():
            cells = [paper["datasets"].get(d, {}).get(m, {}).get("acc") for d in datasets]
            average = (paper.get("average") or {}).get(m, {}).get("acc")
            printed_rows.append([f"{name}, {paper['label']}", *map(_number, cells), _number(average)])
        lines += [_paper_note(paper), ""] + _table(header[: len(datasets) + 2], printed_rows)
    return lines


# --------------------------------------------------------------------------- the rest
def template_markdown(payload: Mapping[str, Any]) -> list[str]:
    """Per-template accuracy S_1..S_M next to the fused P(Y | do(x)) accuracy and the plain mean of the
    templates' probabilities; then each template's mean uncertainty u_1..u_M (what the fusion weighs)."""
    sets = [  # (template accuracies, fused accuracy, mean-of-probabilities accuracy, uncertainties, set)
        ("template_base", "base", "mean_prob_base", "template_u_base", "base"),
        ("template_new", "new", "mean_prob_new", "template_u_new", "new"),
        ("template_acc", "acc", "mean_prob_acc", "template_u", "acc"),
    ]
    # (method, set, per-template cells, trailing cells) per row
    Row = tuple[str, str, list[str], list[str]]
    accuracy_rows: list[Row] = []
    uncertainty_rows: list[Row] = []
    width = 0
    for method, by_dataset in payload["results"].items():
        for dataset, metrics in by_dataset.items():
            for template_key, fused_key, mean_key, u_key, name in sets:
                if template_key not in metrics:
                    continue
                cells = [_cell(e) for e in metrics[template_key]]
                width = max(width, len(cells))
                label = f"{dataset} ({name})"
                accuracy_rows.append(
                    (method, label, cells, [_cell(metrics[fused_key]), _cell(metrics.get(mean_key))])
                )
                if u_key in metrics and len(metrics[u_key]) > 1:
                    uncertainty_rows.append((method, label, [_fraction(e) for e in metrics[u_key]], []))
    if not accuracy_rows:
        return []

    def padded(rows: list) -> list[list[str]]:
        return [[m, s, *(c + [""] * (width - len(c))), *rest] for m, s, c, rest in rows]

    templates = [f"S{m + 1}" for m in range(width)]
    lines = ["### Per-template accuracy vs fused", ""]
    lines += _table(["Method", "Set", *templates, "Fused", "Mean of probs"], padded(accuracy_rows))
    if uncertainty_rows:
        note = (
            "Mean uncertainty of each template's opinion over the set (DSTC: u = C / S; the averaging "
            "aggregators: normalised entropy). The fusion weighs a template by its evidence, so a template "
            "with low u leads the fused prediction whether or not it is accurate."
        )
        lines += ["### Per-template uncertainty", "", note, ""]
        lines += _table(["Method", "Set", *[f"u{m + 1}" for m in range(width)]], padded(uncertainty_rows))
    return lines


def _fraction(entry: Mapping[str, Any] | None) -> str:
    """A value in [0, 1] (an uncertainty): three decimals, ± std over seeds when there are several."""
    if not entry or entry.get("mean") is None:
        return "–"
    if len(entry.get("values", [])) > 1:
        return f"{entry['mean']:.3f} ± {entry['std']:.3f}"
    return f"{entry['mean']:.3f}"


def compute_markdown(report: Sequence[Mapping[str, Any]]) -> list[str]:
    if not report:
        return []
    header = ["Method", "M", "Trainable params", "Train images/s", "Inference images/s", "Fit images/s"]
    rows = [
        [
            str(r["method"]),
            str(r["templates"]),
            f"{r['trainable_params']:,}",
            "–" if r.get("train_images_per_s") is None else f"{r['train_images_per_s']:.1f}",
            f"{r['inference_images_per_s']:.1f}",
            "–" if r.get("fit_images_per_s") is None else f"{r['fit_images_per_s']:.1f}",
        ]
        for r in report
    ]
    device = report[0].get("device") or "this machine"
    note = (
        f"Measured on {device}. Train / inference: one batch through the full image path (forward + backward "
        "/ forward); fit: the whole training run as Lightning's ThroughputMonitor counts it (data loading "
        "included, validation excluded)."
    )
    return ["### Compute", "", note, ""] + _table(header, rows)


def probe_markdown(probe: Mapping[str, Any] | None) -> list[str]:
    """Mean cosine of each image with its full description, the class-only prompt and each factor's phrase,
    and (the control) with the same kind of text taken from another image."""
    if not probe:
        return []
    rows = [
        [
            kind,
            f"{entry['mean']:.3f}",
            f"{entry['std']:.3f}",
            "–" if entry.get("mismatched_mean") is None else f"{entry['mismatched_mean']:.3f}",
            str(entry["count"]),
        ]
        for kind, entry in probe["cosine"].items()
        if entry["mean"] is not None
    ]
    note = (
        f"{probe['images']} images; full description above class-only prompt for "
        f"{100 * probe['full_above_class']:.1f} % of them (figure: {probe['figure']}). Control: the same "
        "kind of text from another image; a cosine that does not drop there is not read from the image."
    )
    header = ["Text", "Mean cosine", "Std", "Mean cosine, another image's text", "Images"]
    return ["### Similarity probe (Fig. 1a)", "", note, ""] + _table(header, rows)


def headroom_markdown(headroom: Mapping[str, Any] | None) -> list[str]:
    """Per dataset: the K-shot linear-probe and zero-shot accuracy of the frozen features, base and new."""
    if not headroom:
        return []
    rows = []
    for dataset, entry in headroom.items():
        for half in ("base", "new"):
            if half in entry:
                e = entry[half]
                values = ", ".join(f"{v:.1f}" for v in e["linear_probe_values"])
                rows.append(
                    [dataset, half, f"{e['zero_shot']:.2f}", f"{e['linear_probe']:.2f} ({values})",
                     f"{e['gap']:+.2f}"]
                )  # fmt: skip
    shots = next(iter(headroom.values())).get("shots")
    note = (
        f"Headroom of the frozen image features: zero-shot (the dataset's template) against a {shots}-shot "
        "linear probe (logistic regression by L-BFGS on each seed's few-shot draw, L2 weight chosen on "
        "validation images), both on the test images. A probe far above zero-shot means the features know "
        "the classes and the class-only prompt reads them poorly; a probe at or below zero-shot leaves a "
        "prompt learner little to find."
    )
    header = ["Dataset", "Classes", "Zero-shot", "Linear probe (per seed)", "Probe − zero-shot"]
    return ["### Headroom", "", note, ""] + _table(header, rows)


def _option(value: Any) -> str:
    """A world option as results.md prints it: numbers short (0.3), words as they are (silhouette)."""
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _shift_note(source: Mapping[str, Any], task: Mapping[str, Any]) -> str:
    """What a world dataset made from the source changes (its task.json against the source's)."""
    changed = {k: v for k, v in task.items() if k != "world_options" and source.get(k) != v}
    changed |= {
        k: v for k, v in task.get("world_options", {}).items() if source.get("world_options", {}).get(k) != v
    }
    return ", ".join(f"{k} = {_option(v)}" for k, v in changed.items()) or "the source world"


def results_markdown(payload: Mapping[str, Any]) -> str:
    protocol = payload["protocol"]
    seeds = ", ".join(str(s) for s in payload.get("seeds", []))
    lines = [
        f"# Results: {protocol}",
        "",
        f"Mean ± std over seeds {seeds}; accuracy and ECE in percent.",
    ]
    if protocol == "base2new":
        lines.append(
            "HM = HM(mean base, mean new) per dataset; the average row is mean Base, mean New and HM of "
            "those two (the paper's rule)."
        )
    if payload.get("world"):  # the generated world's task.json: say which world the numbers are from
        world = payload["world"]
        options = ", ".join(f"{k} = {_option(v)}" for k, v in world.get("world_options", {}).items())
        names = f", classes named by {world['class_names']} names" if world.get("class_names") else ""
        lines.append(f"World: ρ = {world.get('rho', 0):g}, {options}{names}.")
        lines += [
            f"{name}: {_shift_note(world, task)}." for name, task in payload.get("world_datasets", {}).items()
        ]
    delta = payload.get("delta") or {}
    if delta.get("baseline"):
        lines.append(
            f"Δ = a row's {delta['metric'].upper()} minus {delta['baseline']}'s ({delta['chosen_by']})."
        )
    lines.append("")
    if protocol == "base2new":
        lines += base2new_markdown(payload)
    else:
        lines += cross_markdown(payload, "acc") + cross_markdown(payload, "ece")
    lines += headroom_markdown(payload.get("headroom"))
    lines += template_markdown(payload) + compute_markdown(payload.get("compute", []))
    lines += probe_markdown(payload.get("probe"))
    return "\n".join(lines).rstrip() + "\n"
