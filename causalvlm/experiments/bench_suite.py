"""The benchmark suite: the paper's three tables (base-to-new, cross-dataset, cross-domain) as one config
each, run by one command (``causalvlm bench``) into one folder with a summary.

A suite file (``examples/cdc/bench.yaml``) names each table's experiment config, relative to the
suite file, and the folder the tables go to::

    out: outputs/bench
    tables:
      base2new: bench_base2new.yaml
      cross-dataset: bench_cross_dataset.yaml
      cross-domain: bench_cross_domain.yaml

Each config is an ordinary experiment config (``python examples/cdc/run.py --config <it>`` runs the same
table); the suite sets its ``out`` to ``<suite out>/<table>`` and checks that its ``protocol`` is the
table's. Every table asked for is loaded and checked (settings, data roots, weights) before the first one
runs, so a bad third config fails before the first table trains. ``all`` runs every table of the suite
whose config file exists and says which it skipped; a table asked for by name must have its file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import field_validator

from causalvlm.config_model import ConfigError, SettingsModel
from causalvlm.evaluation.bench_summary import table_summary, write_summary
from causalvlm.experiments.config import PROTOCOLS, ExperimentConfig
from causalvlm.experiments.experiment import run_experiment, validate_experiment
from causalvlm.experiments.layers import build_experiment, load_yaml

TABLES = PROTOCOLS  # one table per protocol: base2new (Table 1), cross-dataset (2), cross-domain (3)
ALL = "all"
SUITE_YAML = "examples/cdc/bench.yaml"  # the suite of this checkout (run from its root)


class BenchSuite(SettingsModel):
    """A suite file: where the tables go, and each table's experiment config (relative to the suite file)."""

    out: str = "outputs/bench"  # each table writes to <out>/<table>, the summary to <out>
    tables: dict[str, str]  # table (a protocol) → its experiment config file

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, tables: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(tables) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; valid tables: {', '.join(TABLES)}")
        if not tables:
            raise ValueError("name at least one table's config file")
        empty = [name for name, path in tables.items() if not path.strip()]
        if empty:
            raise ValueError(f"table {empty[0]!r} names no config file")
        return tables


@dataclass
class BenchPlan:
    """The tables a ``causalvlm bench`` call runs (checked configs, in suite order) and those it skips."""

    out: Path
    tables: dict[str, ExperimentConfig] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # table → why it is not run


def plan_suite(
    suite_path: str | Path, names: Sequence[str], overrides: Mapping[str, Any] | None = None
) -> BenchPlan:
    """Load the suite file and every table ``names`` asks for (``all``: every table with a config file),
    check each config as ``causalvlm run`` would, and return the plan; ConfigError names the file at fault.

    ``overrides`` (ExperimentConfig settings, e.g. ``{"resume": True}``) apply to every table; ``out`` in
    them is the suite's folder.
    """
    suite_path = Path(suite_path)
    try:
        suite = BenchSuite.from_settings(load_yaml(suite_path))
    except ConfigError as error:
        raise error.named(source=error.source or str(suite_path)) from None
    settings = dict(overrides or {})
    out = Path(settings.pop("out", suite.out))
    wanted = _wanted(names, suite, suite_path)
    run_all = not names or ALL in names
    plan = BenchPlan(out)
    for name in wanted:
        path = suite_path.parent / suite.tables[name]
        if not path.is_file():
            if run_all:
                plan.skipped[name] = f"no config file {path}"
                continue
            raise ConfigError(f"tables.{name}", f"config file {path} does not exist").named(
                source=str(suite_path)
            )
        config = build_experiment(path, {**settings, "out": str(out / name)})
        if config.protocol != name:
            raise ConfigError(
                "protocol",
                f"the suite runs this file as the {name} table, but its protocol is {config.protocol}",
            ).named(source=str(path))
        try:
            validate_experiment(config)
        except ConfigError as error:
            raise error.named(source=error.source or str(path)) from None
        plan.tables[name], plan.files[name] = config, path
    if not plan.tables:
        raise ConfigError("tables", f"none of {', '.join(wanted)} has a config file").named(
            source=str(suite_path)
        )
    return plan


def _wanted(names: Sequence[str], suite: BenchSuite, suite_path: Path) -> list[str]:
    """The tables asked for, in suite order; ``all`` with other names, or a table the suite lacks: error."""
    names = list(names) or [ALL]
    unknown = [n for n in names if n not in (*TABLES, ALL)]
    if unknown:
        raise ConfigError("tables", f"unknown table {unknown[0]!r}; choose from {', '.join((*TABLES, ALL))}")
    if ALL in names:
        if len(names) > 1:
            raise ConfigError("tables", f"'{ALL}' runs every table; give it alone, not with {names}")
        return [t for t in TABLES if t in suite.tables]
    missing = [n for n in names if n not in suite.tables]
    if missing:
        raise ConfigError(
            "tables", f"the suite has no {missing[0]!r} table (it has {', '.join(suite.tables)})"
        ).named(source=str(suite_path))
    return [t for t in TABLES if t in names]


def run_suite(plan: BenchPlan, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every planned table (one experiment each) and return the summary (timings and headline rows)."""
    summary: dict[str, Any] = {"out": str(plan.out), "tables": {}, "skipped": dict(plan.skipped)}
    for name, config in plan.tables.items():
        log(f"== {name}: {plan.files[name]} → {config.out}")
        start = time.perf_counter()
        out = run_experiment(config, log=log)
        wall = time.perf_counter() - start
        payload = json.loads((Path(out) / "results.json").read_text(encoding="utf-8"))
        summary["tables"][name] = {
            "config": str(plan.files[name]),
            "out": str(out),
            "wall_s": round(wall, 1),
            **table_summary(payload),
        }
        log(f"== {name}: {wall:.0f} s wall")
    write_summary(plan.out, summary)
    return summary


__all__ = ["ALL", "SUITE_YAML", "TABLES", "BenchPlan", "BenchSuite", "plan_suite", "run_suite"]
