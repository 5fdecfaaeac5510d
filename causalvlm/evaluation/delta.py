"""The Δ column of the paper's Table 1: a method's HM minus a chosen baseline's HM.

The paper prints Δ = HM(CDC) − HM(MaPLe), MaPLe being the strongest baseline it compares against. Here the
baseline is chosen once per run and used for every dataset and for the Avg row:

* ``delta_vs`` (``--delta-vs METHOD`` / YAML ``delta_vs``) names it: a row label of the run (``coop``,
  ``cdc[M=1]``, ...);
* otherwise it is the strongest *other* method of the run: the non-CDC method with the highest Avg HM
  (base-to-new) or Avg target accuracy (cross-*). A run without a non-CDC method, or without a CDC row, has
  no Δ unless ``delta_vs`` is given.

Δ is filled for every row except the baseline's own; each Δ is computed from the unrounded numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from causalvlm.methods import find_method


def delta_metric(protocol: str) -> str:
    """HM for base-to-new (Table 1); target accuracy for the cross-* protocols (Tables 2, 3)."""
    return "hm" if protocol == "base2new" else "acc"


def is_cdc(spec: Mapping[str, Any]) -> bool:
    """A row of "ours" (the registered method says so: CDC and its variants); an unknown method is not."""
    method = find_method(str(spec.get("method", "")))
    return method is not None and method.ours


def check_delta_vs(delta_vs: str | None, labels: Sequence[str]) -> None:
    """ValueError naming ``delta_vs`` and the valid row labels when it is not a method of the run."""
    if delta_vs is not None and delta_vs not in labels:
        raise ValueError(
            f"delta_vs {delta_vs!r} is not a method of this run; choose one of: {', '.join(labels)}"
        )


def choose_baseline(
    average: Mapping[str, Mapping[str, Any]],
    methods: Mapping[str, Mapping[str, Any]],
    metric: str,
    delta_vs: str | None = None,
) -> tuple[str | None, str]:
    """``(baseline label or None, how it was chosen)``; see the module docstring for the rule."""
    if delta_vs is not None:
        check_delta_vs(delta_vs, list(methods))
        return delta_vs, "delta_vs"
    if not any(is_cdc(spec) for spec in methods.values()):
        return None, "no CDC row in the run"
    scores = {
        label: average.get(label, {}).get(metric, {}).get("mean")
        for label, spec in methods.items()
        if not is_cdc(spec)
    }
    scores = {label: score for label, score in scores.items() if score is not None}
    if not scores:
        return None, "no other method in the run"
    best = max(scores, key=lambda label: scores[label])  # first listed wins a tie
    return best, f"strongest other method by average {metric.upper()}"


def delta_values(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    average: Mapping[str, Mapping[str, Any]],
    baseline: str,
    metric: str,
) -> dict[str, dict[str, Any]]:
    """``{label: {"datasets": {dataset: Δ}, "average": Δ}}`` for every row but the baseline's."""

    def value(entry: Mapping[str, Any] | None) -> float | None:
        return None if not entry else entry.get(metric, {}).get("mean")

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    out: dict[str, dict[str, Any]] = {}
    for label, by_dataset in results.items():
        if label == baseline:
            continue
        out[label] = {
            "datasets": {
                dataset: minus(value(metrics), value(results.get(baseline, {}).get(dataset)))
                for dataset, metrics in by_dataset.items()
            },
            "average": minus(value(average.get(label)), value(average.get(baseline))),
        }
    return out


def build_delta(
    protocol: str,
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    average: Mapping[str, Mapping[str, Any]],
    methods: Mapping[str, Mapping[str, Any]],
    delta_vs: str | None = None,
) -> dict[str, Any]:
    """The ``delta`` block of results.json."""
    metric = delta_metric(protocol)
    baseline, chosen_by = choose_baseline(average, methods, metric, delta_vs)
    values = {} if baseline is None else delta_values(results, average, baseline, metric)
    return {"metric": metric, "baseline": baseline, "chosen_by": chosen_by, "values": values}
