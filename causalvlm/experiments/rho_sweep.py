"""Sweep the data misalignment of the world: run one experiment per strength ρ of the spurious colour cue.

In ShapeWorld's training pool (and validation split) the object colour agrees with the class with probability
ρ (``causalvlm.worlds.sample_factors``), so every seed's few-shot draw carries the cue; the test split keeps
colour independent of the class, i.e. it samples the interventional distribution P(Y | do(x)) is about. The
sweep runs the default experiment at each ρ (ρ = 0 is the default run itself) and records base, new and HM
accuracy on that test split, so the figure shows how each method's accuracy falls as the cue strengthens: a
method that learned "colour → class" loses exactly where colour stops agreeing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

from annotated_types import Ge, Le

from causalvlm import worlds
from causalvlm.config_model import check_value
from causalvlm.evaluation.atomic import atomic_write_json, atomic_write_text
from causalvlm.evaluation.plots import plot_rho_sweep
from causalvlm.experiments.experiment import ExperimentConfig, run_experiment, validate_experiment
from causalvlm.runs.output_lock import check_output_folder


def check_rhos(rhos: Sequence[float]) -> list[float]:
    """Distinct values in [0, 1]; ValueError naming the first bad one."""
    if not rhos:
        raise ValueError("give at least one value of rho")
    for rho in rhos:
        check_value(rho, Annotated[float, Ge(0), Le(1)], "rho")
    if len(set(rhos)) != len(rhos):
        raise ValueError(f"rho values must be distinct, got {list(rhos)}")
    return [float(r) for r in rhos]


def rho_folder(rho: float) -> str:
    """The folder (under ``out``) of one value of the sweep: ``rho_0.5``."""
    return f"rho_{rho:g}"


def check_rho_folders(rhos: Sequence[float]) -> None:
    """Values that print alike (:func:`rho_folder`) would write one folder twice: ValueError naming both."""
    folders: dict[str, float] = {}
    for rho in rhos:
        tag = rho_folder(rho)
        if tag in folders:
            raise ValueError(
                f"rho values {folders[tag]!r} and {rho!r} write to the same folder {tag}; give values that "
                "differ within 6 significant digits"
            )
        folders[tag] = rho


# The sweep is about a colour cue: its worlds draw the objects filled, in colour, unless the settings name a
# style (the default world's silhouettes show no colour, so a colour cue there could not mislead anything).
SWEEP_STYLE = "filled"


def sweep_world(config: ExperimentConfig) -> dict:
    """The world settings each run of the sweep gets, before its ρ: ``style`` filled unless set."""
    return {"style": SWEEP_STYLE, **config.world}


def check_sweep(config: ExperimentConfig, rhos: Sequence[float]) -> list[float]:
    """Everything a sweep needs, checked before the first run: the ρ values, the world, the config."""
    rhos = check_rhos(rhos)
    if config.datasets != ["shapeworld"] or config.protocol != "base2new":
        raise ValueError(
            "the rho sweep runs on the generated world: datasets [shapeworld], protocol base2new"
        )
    if not config.make_world:
        raise ValueError("the rho sweep writes one world per rho: make_world must be true")
    if "rho" in config.world:
        raise ValueError("world.rho is what the sweep varies (--rho); remove it from the settings")
    check_rho_folders(rhos)
    try:  # the cue must be one the world draws (worlds.DRAWN_FACTORS): checked at the largest ρ
        worlds.task_parameters(shots=config.shots, **{**sweep_world(config), "rho": max(rhos)})
    except ValueError as error:
        raise ValueError(f"world: {error}") from None
    validate_experiment(config)  # bad options fail before the first run, not after it
    for rho in rhos:  # an earlier sweep's runs are refused (without resume/overwrite) before the first run
        check_output_folder(Path(config.out) / rho_folder(rho), config.resume, config.overwrite)
    return rhos


def sweep_rho(
    config: ExperimentConfig, rhos: Sequence[float], log: Callable[[str], None] = print
) -> list[dict]:
    """Run ``config`` once per ρ (its own world, keyed by its parameters under ``data_root``, and output
    under ``out/rho_<ρ>``); write ``out/sweep.json``, ``out/sweep.md`` and ``out/rho_sweep.png``; return
    the rows.
    """
    rhos = check_sweep(config, rhos)
    out = Path(config.out)
    rows = []
    for rho in rhos:
        tag = rho_folder(rho)
        run_config = config.replaced(world={**sweep_world(config), "rho": rho}, out=str(out / tag))
        log(f"[sweep] rho = {rho:g}")
        results = json.loads((run_experiment(run_config, log=log) / "results.json").read_text())["results"]
        for method, per_dataset in results.items():
            metrics = per_dataset["shapeworld"]
            rows.append(
                {
                    "rho": rho,
                    "method": method,
                    **{key: metrics[key]["mean"] for key in ("base", "new", "hm")},
                    **{f"{key}_std": metrics[key]["std"] for key in ("base", "new", "hm")},
                }
            )
    (out / "sweep.json").unlink(missing_ok=True)  # sweep.json is written last, after what it describes
    plot_rho_sweep(rows, out / "rho_sweep.png")
    atomic_write_text(out / "sweep.md", sweep_table(rows))
    atomic_write_json(out / "sweep.json", {"rhos": rhos, "rows": rows})
    return rows


def sweep_table(rows: Sequence[dict]) -> str:
    """Markdown table: one line per (ρ, method) with base, new and HM as mean ± std over seeds."""
    lines = ["| ρ | method | base | new | HM |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [f"{row[k]:.1f} ± {row[k + '_std']:.1f}" for k in ("base", "new", "hm")]
        lines.append(f"| {row['rho']:g} | {row['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
