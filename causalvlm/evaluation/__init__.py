"""Metrics (accuracy, HM, ECE via torchmetrics), cached features, results tables (the paper's rules, Δ, the
paper's printed rows), plots, the compute report and the similarity probe of Fig. 1a."""

from __future__ import annotations

from causalvlm.evaluation.atomic import (
    atomic_save_figure,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temp_files,
)
from causalvlm.evaluation.compute import measure_throughput
from causalvlm.evaluation.delta import build_delta, choose_baseline
from causalvlm.evaluation.features import FeatureCache, encode_images
from causalvlm.evaluation.metrics import (
    ECE_BINS,
    EvalResult,
    accuracy_percent,
    ece_percent,
    evaluate_batches,
    evaluate_features,
    harmonic_mean,
    reliability_bins,
)
from causalvlm.evaluation.paper import load_paper_results, paper_rows
from causalvlm.evaluation.probe import Description, ProbeResult, similarity_probe, world_descriptions
from causalvlm.evaluation.probe_csv import read_probe_csv
from causalvlm.evaluation.report import FIGURES, PROBE_FIGURE, build_payload, write_report
from causalvlm.evaluation.results import ResultsCollector, hm_of_means, summarize, write_results
from causalvlm.evaluation.tables import results_markdown

__all__ = [
    "ECE_BINS",
    "FIGURES",
    "PROBE_FIGURE",
    "Description",
    "EvalResult",
    "FeatureCache",
    "ProbeResult",
    "ResultsCollector",
    "accuracy_percent",
    "atomic_save_figure",
    "atomic_write_json",
    "atomic_write_text",
    "build_delta",
    "build_payload",
    "choose_baseline",
    "ece_percent",
    "encode_images",
    "evaluate_batches",
    "evaluate_features",
    "harmonic_mean",
    "hm_of_means",
    "load_paper_results",
    "measure_throughput",
    "paper_rows",
    "read_probe_csv",
    "reliability_bins",
    "remove_stale_temp_files",
    "results_markdown",
    "similarity_probe",
    "summarize",
    "world_descriptions",
    "write_report",
    "write_results",
]
