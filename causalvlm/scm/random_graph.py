"""`random_scm`: random causal graphs with latent confounders, for tests, sweeps and benchmarks."""

from __future__ import annotations

import numpy as np

from causalvlm.scm.graph import SCM


def random_scm(
    n_observed: int,
    seed: int | np.random.Generator = 0,
    p_edge: float = 0.35,
    max_latents: int = 3,
    p_latent_parent: float = 0.3,
) -> SCM:
    """A random DAG over V0..V{n-1} (edges only from lower to higher index, each with probability p_edge)
    plus 1..max_latents latent confounders U_k of two random observed nodes; with probability
    p_latent_parent a latent also gets an observed parent that precedes both of its children."""
    if n_observed < 2:
        raise ValueError(f"n_observed must be at least 2, got {n_observed}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    names = [f"V{i}" for i in range(n_observed)]
    edges = [
        (names[i], names[j])
        for i in range(n_observed)
        for j in range(i + 1, n_observed)
        if rng.random() < p_edge
    ]
    latents = []
    for k in range(int(rng.integers(1, max_latents + 1))):
        a, b = sorted(int(v) for v in rng.choice(n_observed, 2, replace=False))
        edges += [(f"U{k}", names[a]), (f"U{k}", names[b])]
        latents.append(f"U{k}")
        parent = int(rng.integers(0, n_observed))
        if parent < a and rng.random() < p_latent_parent:
            edges.append((names[parent], f"U{k}"))
    return SCM.from_edges(edges, latents=latents, nodes=names)


def random_queries(scm: SCM, rng: np.random.Generator) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """One single, one set-valued and one conditional query (treatments, outcomes, given) on ``scm``."""
    observed = sorted(scm.observed)

    def shuffled() -> list[str]:
        return [str(v) for v in rng.permutation(observed)]

    single, pair, conditional = shuffled(), shuffled(), shuffled()
    return {
        "single": (single[:1], single[1:2], []),
        "set": (pair[:2], pair[2:4], []),
        "conditional": (conditional[: int(rng.integers(1, 3))], conditional[2:3], conditional[3:5]),
    }
