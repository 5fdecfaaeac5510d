"""The paper's printed results as labelled reference rows beside a run's measured ones.

``paper_results.json`` (next to this module) holds Tables 1–3 of the CDC paper exactly as printed, keyed by
this project's dataset names and method names. They are reference numbers, never results of this project,
and every table that shows them labels them "paper (printed)".

What a run "covers" (:func:`paper_rows`):

* base-to-new: every dataset of the run that Table 1 reports gets the paper's rows for that dataset (all the
  methods the paper prints there); the paper's Avg row is added only when the run's datasets are exactly
  Table 1's eleven, since an average over other datasets is a different number.
* cross-dataset / cross-domain: the run's source must be the paper's (ImageNet); then the source and every
  target the table reports get the paper's numbers, and the Avg column only when the run's targets are
  exactly the table's.

The paper's setting (CLIP ViT-B/16, 16 shots) is carried along, so a run with another backbone or shot count
is flagged next to the rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

PAPER_RESULTS = Path(__file__).with_name("paper_results.json")
PAPER_LABEL = "paper (printed)"
PAPER_BACKBONE, PAPER_SHOTS = "ViT-B-16", 16


@cache
def _load() -> dict[str, Any]:
    return json.loads(PAPER_RESULTS.read_text())


def load_paper_results() -> dict[str, Any]:
    """The whole transcription (a fresh copy, safe to modify)."""
    return json.loads(json.dumps(_load()))


def paper_rows(
    protocol: str,
    datasets: Sequence[str],
    targets: Sequence[str] = (),
    backbone: str | None = None,
    shots: int | None = None,
) -> dict[str, Any] | None:
    """The paper's rows for the parts of this run it reports, or None when it reports none of them.

    Returns ``{"label", "table", "setting", "setting_differs", "methods", "metrics", "datasets": {dataset:
    {method: {metric: value}}}, "average": {method: {...}} | None}``; methods are this project's names, and
    ``methods`` maps them to the names the paper prints.
    """
    table = _load().get(protocol)
    if table is None:
        return None
    if protocol == "base2new":
        wanted = list(datasets)
        full = set(datasets) == set(table["datasets"])
    else:
        if list(datasets) != [table["source"]]:
            return None
        wanted = [*datasets, *targets]
        full = set(targets) == set(table["datasets"]) - {table["source"]}
    covered = {d: table["datasets"][d] for d in wanted if d in table["datasets"]}
    if not covered:
        return None
    differs = [
        f"{name} {value}"
        for name, value, paper in (("backbone", backbone, PAPER_BACKBONE), ("shots", shots, PAPER_SHOTS))
        if value is not None and value != paper
    ]
    return {
        "label": PAPER_LABEL,
        "table": table["table"],
        "setting": _load()["setting"],
        "setting_differs": ", ".join(differs) or None,
        "methods": dict(table["methods"]),
        "metrics": list(table["metrics"]),
        "notes": table["notes"],
        "datasets": json.loads(json.dumps(covered)),
        "average": json.loads(json.dumps(table["average"])) if full else None,
    }
