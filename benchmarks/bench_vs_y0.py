"""Identification side by side with y0 (the one other library with ID/IDC): time, agreement, who is right.

Random graphs with 4–8 observed nodes and up to ``--max-latents`` latent confounders each get one single,
one set-valued and one conditional query. Both libraries decide identifiability on the same latent
projection (`causalvlm.interop.to_y0`). Where they disagree, our side is checked against ground truth: an
estimand must equal the exact do() of a random binary model to 1e-9, a hedge must pass `hedge_violations`.
Needs y0 (``pip install 'causalvlm[interop]'``).

    .venv/bin/python benchmarks/bench_vs_y0.py [--graphs 300] [--max-latents 5] [--seed 123]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence

import numpy as np

from causalvlm.interop import to_y0
from causalvlm.scm import ADMG, DiscreteSCM, hedge_violations, identify
from causalvlm.scm.evaluation import JointTable, query_array
from causalvlm.scm.random_graph import random_queries, random_scm


def ours_is_right(scm, result, seed: int) -> bool:
    """An estimand equal to the exact do(), or a hedge that satisfies the definition."""
    if not result.identifiable:
        return not hedge_violations(ADMG.from_scm(scm), result.hedge)
    model = DiscreteSCM.random(scm, 2, seed=seed)
    observed = [v for v in scm.topological_order() if v not in scm.latents]
    axes = [*result.treatments, *result.given, *result.outcomes]
    estimate = query_array(result.expression, JointTable(observed, model.marginal(observed)), axes)
    truth = model.do(list(result.outcomes), list(result.treatments), list(result.given))
    return bool(np.abs(estimate - truth).max() < 1e-9)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=300)
    parser.add_argument("--max-latents", type=int, default=5)
    parser.add_argument("--seed", type=int, default=123)
    args = parser.parse_args(argv)
    from y0.algorithm.identify import identify_outcomes
    from y0.dsl import Variable

    rng = np.random.default_rng(args.seed)
    counts = dict(queries=0, agree=0, y0_raised=0, disagree=0, ours_verified=0, ours_s=0.0, y0_s=0.0)
    for index in range(args.graphs):
        scm = random_scm(int(rng.integers(4, 9)), rng, max_latents=args.max_latents)
        mixed = to_y0(scm)
        for xs, ys, zs in random_queries(scm, rng).values():
            counts["queries"] += 1
            start = time.perf_counter()
            ours = identify(scm, xs, ys, zs)
            counts["ours_s"] += time.perf_counter() - start
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    variables = [{Variable(v) for v in group} for group in (xs, ys, zs)]
                    theirs = identify_outcomes(mixed, variables[0], variables[1], variables[2] or None)
            except Exception:  # noqa: BLE001 (any failure of the reference is counted, not fatal)
                counts["y0_raised"] += 1
                continue
            finally:
                counts["y0_s"] += time.perf_counter() - start
            if ours.identifiable == (theirs is not None):
                counts["agree"] += 1
            else:
                counts["disagree"] += 1
                counts["ours_verified"] += ours_is_right(scm, ours, index)
    print(
        f"{counts['queries']} queries: same verdict {counts['agree']}, y0 raised {counts['y0_raised']}, "
        f"different verdict {counts['disagree']} (ours verified against ground truth in "
        f"{counts['ours_verified']})"
    )
    print(
        f"identification time: causalvlm {counts['ours_s']:.2f} s, y0 {counts['y0_s']:.2f} s, "
        f"ratio y0 / causalvlm {counts['y0_s'] / counts['ours_s']:.2f}"
    )
    return counts


if __name__ == "__main__":
    main()
