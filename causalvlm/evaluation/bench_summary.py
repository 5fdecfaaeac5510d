"""The benchmark suite's summary: each table's headline numbers side by side, with its wall time.

Each table's own ``results.md`` / ``results.json`` and figures stay in ``<out>/<table>/``; the summary reads
the headline of each (:func:`table_summary`) and writes ``<out>/summary.md``, ``<out>/summary.png`` (one
panel per table, one bar per method) and, last, ``<out>/summary.json``.

Headlines, as the paper's tables print them:

* base2new: the Avg row over datasets (Base, New, HM = HM(mean base, mean new)); with one dataset, its row;
* cross-dataset / cross-domain: the source accuracy and the mean accuracy over the targets (Avg).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from causalvlm.evaluation.atomic import atomic_save_figure, atomic_write_json, atomic_write_text
from causalvlm.evaluation.plots import method_colours

SUMMARY_FIGURE = "summary.png"
HEADLINE = {"base2new": "hm", "cross-dataset": "avg", "cross-domain": "avg"}  # the number each panel shows
COLUMNS = {
    "base2new": ("base", "new", "hm"),
    "cross-dataset": ("source", "avg"),
    "cross-domain": ("source", "avg"),
}
TITLES = {
    "base2new": "Base-to-new (HM)",
    "cross-dataset": "Cross-dataset (Avg)",
    "cross-domain": "Cross-domain (Avg)",
}


def _mean(entry: Mapping[str, Any] | None) -> float | None:
    return None if entry is None else entry.get("mean")


def table_summary(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A table's protocol and, per method, its headline numbers (means over seeds) from its results.json."""
    protocol = payload["protocol"]
    results, average = payload["results"], payload.get("average") or {}
    rows: dict[str, dict[str, float | None]] = {}
    for method, by_dataset in results.items():
        if protocol == "base2new":
            row = average.get(method) or next(iter(by_dataset.values()))
            rows[method] = {key: _mean(row.get(key)) for key in COLUMNS[protocol]}
        else:
            source = payload["config"]["datasets"][0]
            rows[method] = {
                "source": _mean(by_dataset.get(source, {}).get("acc")),
                "avg": _mean(average.get(method, {}).get("acc")),
            }
    targets = payload["config"].get("targets") or []
    return {"protocol": protocol, "datasets": payload["config"]["datasets"], "targets": targets, "rows": rows}


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    lines = [
        "# Benchmark suite",
        "",
        "Means over seeds, accuracy in percent; each table's own results.md has ± std.",
    ]
    tables = summary["tables"]
    methods = list(dict.fromkeys(m for t in tables.values() for m in t["rows"]))
    header = ["Method"] + [TITLES[t["protocol"]] for t in tables.values()]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method in methods:
        cells = [_number(t["rows"].get(method, {}).get(HEADLINE[t["protocol"]])) for t in tables.values()]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    for name, table in tables.items():
        columns = COLUMNS[table["protocol"]]
        where = ", ".join(table["datasets"]) + (
            f" → {', '.join(table['targets'])}" if table["targets"] else ""
        )
        lines += ["", f"## {name} ({table['wall_s']:.0f} s wall): {where}", ""]
        lines.append(f"Config `{table['config']}`, results in `{table['out']}`.")
        lines += ["", "| Method | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        for method, row in table["rows"].items():
            lines.append(f"| {method} | " + " | ".join(_number(row[c]) for c in columns) + " |")
    for name, why in summary.get("skipped", {}).items():
        lines += ["", f"Not run: {name} ({why})."]
    total = sum(t["wall_s"] for t in tables.values())
    lines += ["", f"Total wall time {total:.0f} s."]
    return "\n".join(lines) + "\n"


def summary_figure(summary: Mapping[str, Any]) -> Figure:
    """One panel per table: each method's headline number (HM or the targets' Avg) as a bar."""
    tables = summary["tables"]
    figure = Figure(figsize=(max(7.0, 4.2 * len(tables)), 3.8))  # wide enough for the title
    axes_list = figure.subplots(1, max(1, len(tables)), squeeze=False)[0]
    for axes, table in zip(axes_list, tables.values(), strict=False):
        key = HEADLINE[table["protocol"]]
        methods = [m for m, row in table["rows"].items() if row.get(key) is not None]
        colours = method_colours(methods)
        values = [table["rows"][m][key] for m in methods]
        bars = axes.bar(range(len(methods)), values, color=[colours[m] for m in methods])
        axes.bar_label(bars, fmt="%.1f", fontsize=7)
        axes.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
        axes.set_title(f"{TITLES[table['protocol']]}, {table['wall_s']:.0f} s", fontsize=10)
        axes.set_ylabel("accuracy (%)")
        axes.grid(axis="y", alpha=0.3)
        if values:
            axes.set_ylim(max(0.0, min(values) - 10), min(100.0, max(values) + 5))
    figure.suptitle("The paper's three tables on the world: each method's headline number (mean over seeds)")
    figure.tight_layout()
    return figure


def write_summary(out: str | Path, summary: Mapping[str, Any]) -> list[Path]:
    """``summary.md``, ``summary.png`` and, last, ``summary.json`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(out / "summary.md", summary_markdown(summary))]
    if summary["tables"]:
        written.append(atomic_save_figure(summary_figure(summary), out / SUMMARY_FIGURE))
    written.append(atomic_write_json(out / "summary.json", dict(summary)))
    return written


__all__ = ["SUMMARY_FIGURE", "summary_figure", "summary_markdown", "table_summary", "write_summary"]
