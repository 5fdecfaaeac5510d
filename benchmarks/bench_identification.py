"""Identification (back-door / front-door / ID / IDC) and plug-in estimation time against graph size.

For each number of observed nodes, random graphs with 1–3 (``--max-latents``) latent confounders
(`random_scm`) each get one single, one set-valued and one conditional query (`random_queries`). The
script prints, per size and kind:

- how many queries were identified, and — up to ``--exact-max`` observed nodes — how many of those
  estimands, evaluated on the exact observed joint of a random binary model, equal the exact do() to 1e-9;
- how many were not identifiable, and how many of those carry a hedge that passes `hedge_violations`;
- the median and worst identification time per query, and the median plug-in estimation time on
  ``--rows`` sampled rows (count table + evaluation).

It ends with one side-by-side ratio: `PluginEstimator` (general estimand) against `DiscreteFrontDoor`
(hand-written front-door sum) on the same rows of the smoking–tar–cancer model.

    .venv/bin/python benchmarks/bench_identification.py [--sizes 4 6 8 12 16 24] [--graphs 100]
        [--rows 100000] [--max-latents 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import numpy as np

from causalvlm.estimators import Counts, DiscreteFrontDoor, PluginEstimator
from causalvlm.scm import DiscreteSCM, identify, load_graph
from causalvlm.scm.admg import ADMG
from causalvlm.scm.id_algorithm import hedge_violations
from causalvlm.scm.random_graph import random_queries, random_scm

KINDS = ("single", "set", "conditional")


def sweep(
    size: int, graphs: int, rows: int, exact: bool, seed: int, max_latents: int = 3
) -> dict[str, dict[str, float]]:
    """Counts and timings for one graph size, one entry per query kind."""
    rng = np.random.default_rng(seed)
    stats = {
        k: {"queries": 0, "identified": 0, "exact": 0, "by_id": 0, "hedged": 0, "valid_hedge": 0}
        for k in KINDS
    }
    times = {k: {"identify": [], "estimate": []} for k in KINDS}
    worst = 0.0
    for index in range(graphs):
        scm = random_scm(size, rng, max_latents=max_latents)
        model = DiscreteSCM.random(scm, 2, seed=index, concentration=2.0)
        observed = [v for v in scm.topological_order() if v not in scm.latents]
        joint = Counts(observed, model.marginal(observed)) if exact else None
        data = model.sample(rows, seed=index)
        for kind, (xs, ys, zs) in random_queries(scm, rng).items():
            row = stats[kind]
            row["queries"] += 1
            start = time.perf_counter()
            result = identify(scm, xs, ys, zs)
            times[kind]["identify"].append(time.perf_counter() - start)
            if not result.identifiable:
                row["hedged"] += 1
                row["valid_hedge"] += not hedge_violations(ADMG.from_scm(scm), result.hedge)
                continue
            row["identified"] += 1
            row["by_id"] += result.kind == "id"
            if exact:
                estimate = PluginEstimator(scm, given=zs).fit(joint, xs, ys).effect()
                truth = model.do(list(result.outcomes), list(result.treatments), list(result.given))
                error = float(np.nanmax(np.abs(estimate - truth)))
                worst = max(worst, error)
                row["exact"] += error <= 1e-9
            start = time.perf_counter()
            try:
                PluginEstimator(scm, given=zs, smoothing=0.5).fit(data, xs, ys)
            except ValueError:  # a table too large for --rows; the count is reported as missing time
                continue
            times[kind]["estimate"].append(time.perf_counter() - start)
    for kind in KINDS:
        t_id, t_est = times[kind]["identify"], times[kind]["estimate"]
        stats[kind]["id_ms"] = 1e3 * statistics.median(t_id) if t_id else float("nan")
        stats[kind]["id_worst_ms"] = 1e3 * max(t_id) if t_id else float("nan")
        stats[kind]["est_ms"] = 1e3 * statistics.median(t_est) if t_est else float("nan")
        stats[kind]["max_error"] = worst
    return stats


def frontdoor_ratio(rows: int, repeats: int) -> tuple[float, float, float]:
    """Best time of PluginEstimator and DiscreteFrontDoor on the same rows, and their largest difference."""
    scm = load_graph("smoking_tar_cancer")
    model = DiscreteSCM.random(
        scm, {"Genotype": 2, "Smoking": 2, "Tar": 20, "Cancer": 2}, seed=0, concentration=5.0
    )
    data = model.sample(rows, seed=0)
    best_plugin = best_frontdoor = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        general = PluginEstimator(scm).fit(data, "Smoking", "Cancer").effect()
        best_plugin = min(best_plugin, time.perf_counter() - start)
        start = time.perf_counter()
        special = DiscreteFrontDoor(scm).fit(data, "Smoking", "Cancer", ["Tar"]).effect()
        best_frontdoor = min(best_frontdoor, time.perf_counter() - start)
    return best_plugin, best_frontdoor, float(np.abs(general - special).max())


def main(argv: Sequence[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 6, 8, 12, 16, 24])
    parser.add_argument("--graphs", type=int, default=100, help="random graphs per size")
    parser.add_argument("--rows", type=int, default=100_000, help="sampled rows for the estimation timing")
    parser.add_argument("--exact-max", type=int, default=8, help="check exactness up to this many nodes")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the front-door ratio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-latents", type=int, default=3, help="latent confounders per graph: 1 to this")
    args = parser.parse_args(argv)

    header = f"{'nodes':>5} {'kind':<12}{'queries':>8}{'ident.':>8}{'by ID':>7}{'exact':>7}{'hedged':>8}"
    print(header + f"{'valid':>7}{'id ms':>8}{'worst':>8}{'est ms':>8}")
    table = []
    for size in args.sizes:
        stats = sweep(
            size, args.graphs, args.rows, size <= args.exact_max, args.seed + size, args.max_latents
        )
        for kind in KINDS:
            s = stats[kind]
            exact = f"{int(s['exact'])}" if size <= args.exact_max else "-"
            print(
                f"{size:>5} {kind:<12}{int(s['queries']):>8}{int(s['identified']):>8}{int(s['by_id']):>7}"
                f"{exact:>7}{int(s['hedged']):>8}{int(s['valid_hedge']):>7}"
                f"{s['id_ms']:>8.2f}{s['id_worst_ms']:>8.1f}{s['est_ms']:>8.1f}"
            )
            table.append({"nodes": size, "kind": kind, **s})
        print(f"{'':>5} largest |estimand - exact do()| at {size} nodes: {stats['single']['max_error']:.1e}")
    plugin, frontdoor, diff = frontdoor_ratio(args.rows * 10, args.repeats)
    print(
        f"front-door on {args.rows * 10} rows: PluginEstimator {1e3 * plugin:.1f} ms, DiscreteFrontDoor "
        f"{1e3 * frontdoor:.1f} ms, ratio {plugin / frontdoor:.2f}, max difference {diff:.1e}"
    )
    return table


if __name__ == "__main__":
    main()
