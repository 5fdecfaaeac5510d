"""Collect per-seed metrics and summarise them the way the paper's tables are computed.

The rules (CoOp's ``parse_test_res`` and the paper's Table 1):

* **Per dataset:** every accuracy and ECE is averaged over seeds first (mean ± population std, CoOp's
  convention). HM is then the harmonic mean of the two *means*, HM(mean base, mean new) — not the mean of
  per-seed HMs.
* **Average over datasets ("Avg" row):** mean Base and mean New over the datasets, and HM of those two — not
  the mean of the per-dataset HMs. On the paper's CoOp rows the two rules give 71.66 and 70.85.

Layout of ``results.json`` (accuracies and ECE in percent)::

    {"protocol": ..., "seeds": [...], "methods": {label: spec}, "config": {...},
     "results": {label: {dataset: {metric: {"mean", "std", "values"}, "template_...": [{...} per m]}}},
     "average": {label: {metric: {"mean", "std", "values"}}},   # over datasets (base2new) / targets (cross-*)
     "delta": {"metric", "baseline", "chosen_by", "values": {label: {"datasets": {...}, "average": ...}}},
     "paper": {...} | null,                                      # the paper's printed rows, when covered
     "history": ..., "compute": [...], "figures": {...}}

Base-to-new metrics: ``base``, ``new``, ``hm``, ``ece_base``, ``ece_new``, ``template_base``,
``template_new`` (each template's accuracy), ``template_u_base``, ``template_u_new`` (each template's mean
uncertainty u^m), ``mean_prob_base``, ``mean_prob_new`` (accuracy of the plain mean of the templates'
probabilities, the reference for the fusion); ``values`` are the per-seed numbers. The ``hm`` entry
carries ``"rule"``: its ``mean`` is HM(mean base, mean new), its ``values`` / ``std`` are the per-seed HMs
and their spread (for error bars). In ``average``, ``values`` are per-seed averages over the datasets.
Cross-dataset / cross-domain metrics: ``acc``, ``ece``, ``template_acc``, ``template_u``, ``mean_prob_acc``
per dataset.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from causalvlm.evaluation.atomic import atomic_write_text
from causalvlm.evaluation.metrics import harmonic_mean
from causalvlm.evaluation.tables import results_markdown

Metric = float | list[float]
HM_RULE = "HM(mean base, mean new)"  # the per-dataset and the Avg-row rule of the paper's Table 1
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "std", "values"}`` over seeds; NaN values become None so the JSON stays strict."""
    array = np.asarray(values, dtype=float)
    clean = [None if math.isnan(v) else float(v) for v in array]
    finite = array[~np.isnan(array)]
    if finite.size == 0:
        return {"mean": None, "std": None, "values": clean}
    return {"mean": float(finite.mean()), "std": float(finite.std()), "values": clean}


def hm_of_means(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The ``hm`` entry from the ``base`` and ``new`` summaries: HM = 2 · B̄ · N̄ / (B̄ + N̄).

    B̄ and N̄ are the means over seeds (or, in the Avg row, over datasets). ``values`` holds the per-seed HMs,
    HM(base_s, new_s), and ``std`` their population std: the spread, not the reported number.
    """
    per_seed = [
        float("nan") if b is None or n is None else harmonic_mean(b, n)
        for b, n in zip(base["values"], new["values"], strict=True)
    ]
    entry = summarize(per_seed)
    missing = base["mean"] is None or new["mean"] is None
    entry["mean"] = None if missing else harmonic_mean(base["mean"], new["mean"])
    entry["rule"] = HM_RULE
    return entry


class ResultsCollector:
    """Accumulates ``metrics`` per (method label, dataset, seed) and summarises them over seeds."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self._rows: dict[str, dict[str, dict[int, dict[str, Metric]]]] = {}
        self.history: dict[str, dict[str, list[dict[str, float]]]] = {}

    def add(self, method: str, dataset: str, seed: int, metrics: Mapping[str, Metric]) -> None:
        per_seed = self._rows.setdefault(method, {}).setdefault(dataset, {})
        if seed in per_seed:
            raise ValueError(f"results for method {method!r}, dataset {dataset!r}, seed {seed} added twice")
        per_seed[seed] = dict(metrics)

    def add_history(self, method: str, dataset: str, rows: Sequence[Mapping[str, float]]) -> None:
        """Per-epoch validation rows; the first seed's curve is kept (Fig. 1b shows one run)."""
        self.history.setdefault(method, {}).setdefault(dataset, [dict(r) for r in rows])

    @property
    def methods(self) -> list[str]:
        return list(self._rows)

    def datasets(self, method: str) -> list[str]:
        return list(self._rows.get(method, {}))

    def seeds(self) -> list[int]:
        return sorted({s for by_dataset in self._rows.values() for d in by_dataset.values() for s in d})

    def summary(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per method and dataset: each metric over seeds; ``hm`` = HM(mean base, mean new)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for method, by_dataset in self._rows.items():
            for dataset, by_seed in by_dataset.items():
                seeds = sorted(by_seed)
                out.setdefault(method, {})[dataset] = _summarize_seeds([by_seed[s] for s in seeds])
        return out

    def average(self, datasets: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Per method, the "Avg" row over ``datasets`` (default: all of the method's datasets).

        ``mean``: the mean over datasets of each dataset's seed mean; ``values``: for each seed that every
        dataset has, the mean over datasets, and ``std`` their spread; ``hm``: HM of the averaged base and
        new accuracy (:func:`hm_of_means`).
        """
        out: dict[str, dict[str, Any]] = {}
        for method, by_dataset in self._rows.items():
            names = [d for d in (datasets or list(by_dataset)) if d in by_dataset]
            if not names:
                continue
            seeds = sorted(set.intersection(*(set(by_dataset[d]) for d in names)))
            first = by_dataset[names[0]][min(by_dataset[names[0]])]
            row: dict[str, Any] = {}
            for key, value in first.items():
                if isinstance(value, list):
                    continue
                if key == "hm":  # derived below from the averaged base and new; kept in column order
                    row[key] = None
                    continue
                entry = summarize([_mean([by_dataset[d][s][key] for d in names]) for s in seeds])
                mean = _mean([_mean([r[key] for r in by_dataset[d].values()]) for d in names])
                entry["mean"] = None if math.isnan(mean) else mean
                row[key] = entry
            if "base" in row and "new" in row:
                row["hm"] = hm_of_means(row["base"], row["new"])
            out[method] = {k: v for k, v in row.items() if v is not None}
        return out


def _mean(values: Sequence[Any]) -> float:
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return float(np.mean(finite)) if finite else float("nan")


def _summarize_seeds(rows: list[dict[str, Metric]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key, first in rows[0].items():
        if isinstance(first, list):
            per_template = [cast(list[float], row[key]) for row in rows]
            summary[key] = [summarize([values[m] for values in per_template]) for m in range(len(first))]
        else:
            summary[key] = summarize([cast(float, row[key]) for row in rows])
    if "base" in summary and "new" in summary:
        summary["hm"] = hm_of_means(summary["base"], summary["new"])
    return summary


def write_results(out_dir: str | Path, payload: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``results.md``, then ``results.json`` into ``out_dir``, each atomically; returns (json, md).

    results.json comes last: a run killed in between leaves no results.json claiming a table it lacks.
    """
    out_dir = Path(out_dir)
    markdown = results_markdown(payload)  # build both before touching either file
    text = json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"
    md_path = atomic_write_text(out_dir / RESULTS_MD, markdown)
    json_path = atomic_write_text(out_dir / RESULTS_JSON, text)
    return json_path, md_path
