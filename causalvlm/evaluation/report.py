"""Everything a run leaves in its output folder: results.json, results.md and the figures.

The payload (results.json) carries the per-seed numbers, their summaries by the paper's rules, the Δ column,
the paper's printed rows where the run covers them and, on the world, the similarity probe's summary.

Every file is written atomically (temp file + ``os.replace``), so an interrupted run never leaves a
truncated results file; files are written only after all numbers exist. ``results.json`` is the commit mark:
the previous one is removed first and the new one is written last, after results.md and every figure, so
whenever a results.json exists, the figures and the table beside it are complete and come from the same run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from causalvlm.evaluation.delta import build_delta
from causalvlm.evaluation.metrics import ECE_BINS, EvalResult
from causalvlm.evaluation.paper import paper_rows
from causalvlm.evaluation.plots import (
    plot_accuracy_per_epoch,
    plot_compute,
    plot_reliability,
    plot_scm,
    plot_similarity_probe,
    plot_template_accuracy,
)
from causalvlm.evaluation.probe import ProbeResult
from causalvlm.evaluation.results import RESULTS_JSON, ResultsCollector, write_results
from causalvlm.scm import SCM

FIGURES = {
    "accuracy_per_epoch": "accuracy_per_epoch.png",
    "reliability": "reliability.png",
    "scm": "scm.png",
    "template_accuracy": "template_accuracy.png",
    "compute": "compute.png",
}
PROBE_FIGURE = "similarity_probe.png"  # Fig. 1a; written when the run has a probe (the world)


def build_payload(
    protocol: str,
    collector: ResultsCollector,
    compute: Sequence[Mapping[str, Any]],
    methods: Mapping[str, Mapping[str, Any]],
    config: Mapping[str, Any],
    targets: Sequence[str] = (),
    delta_vs: str | None = None,
    probe: ProbeResult | None = None,
) -> dict[str, Any]:
    """The results.json document (see :mod:`causalvlm.evaluation.results` for its layout).

    ``delta_vs`` names the Δ baseline (default: the strongest other method); ``probe`` adds the similarity
    probe's summary and its figure.
    """
    average = collector.average(list(targets) if protocol != "base2new" and targets else None)
    results = collector.summary()
    methods = {label: dict(spec) for label, spec in methods.items()}
    datasets = list(config.get("datasets") or dict.fromkeys(d for m in results.values() for d in m))
    if protocol != "base2new":
        datasets = [d for d in datasets if d not in targets]
    figures = dict(FIGURES)
    if probe is not None:
        figures["similarity_probe"] = PROBE_FIGURE
    return {
        "protocol": protocol,
        "seeds": collector.seeds(),
        "units": {"accuracy": "percent", "ece": "percent", "ece_bins": ECE_BINS},
        "methods": methods,
        "config": dict(config),
        "results": results,
        "average": average,
        "delta": build_delta(protocol, results, average, methods, delta_vs),
        "paper": paper_rows(
            protocol, datasets, list(targets), backbone=config.get("backbone"), shots=config.get("shots")
        ),
        "history": collector.history,
        "compute": [dict(row) for row in compute],
        "probe": None if probe is None else {**probe.summary(), "figure": PROBE_FIGURE},
        "figures": figures,
    }


def write_report(
    out_dir: str | Path,
    payload: Mapping[str, Any],
    evaluations: Mapping[str, Mapping[str, EvalResult]],
    scm: SCM,
    probe: ProbeResult | None = None,
) -> list[Path]:
    """Write the figures, results.md and, last, results.json into ``out_dir``; returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RESULTS_JSON).unlink(missing_ok=True)  # no results.json until everything beside it is new
    written: list[Path] = []

    # Fig. 1b: one curve pair per method on the first dataset (its first seed), on validation images.
    histories = {
        method: next(iter(by_dataset.values()))
        for method, by_dataset in payload.get("history", {}).items()
        if by_dataset
    }
    seeds = _first_seed_note(payload)
    written.append(plot_accuracy_per_epoch(histories, out_dir / FIGURES["accuracy_per_epoch"], seeds=seeds))

    # Reliability of each method on the first evaluation set it has (base classes / source dataset). The
    # evaluations are those of the run's first seed (the protocol keeps one set of predictions per method).
    curves = {}
    for method, by_set in evaluations.items():
        name, result = next(iter(by_set.items()))
        curves[f"{method} ({name})"] = (result.probs, result.labels)
    written.append(plot_reliability(curves, out_dir / FIGURES["reliability"], seeds=seeds))

    written.append(plot_scm(scm, out_dir / FIGURES["scm"]))

    rows = {}
    for method, by_set in evaluations.items():
        for name, result in by_set.items():
            if len(result.template_accuracy) > 1:
                rows[f"{method}\n{name}"] = (result.template_accuracy, result.accuracy)
    written.append(plot_template_accuracy(rows, out_dir / FIGURES["template_accuracy"]))

    if payload.get("compute"):
        written.append(plot_compute(payload["compute"], out_dir / FIGURES["compute"]))
    if probe is not None:
        written.append(plot_similarity_probe(probe, out_dir / PROBE_FIGURE))
    written += write_results(out_dir, payload)  # results.md, then results.json: the last file written
    return written


def _first_seed_note(payload: Mapping[str, Any]) -> str:
    """ "seed 1 (first of 1, 2, 3)": the run whose predictions the reliability diagram shows."""
    seeds = list(payload.get("config", {}).get("seeds") or payload.get("seeds") or [])
    if not seeds:
        return ""
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    return f"seed {seeds[0]} (first of {', '.join(str(s) for s in seeds)})"
