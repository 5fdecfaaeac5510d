"""`DiscreteSCM`: conditional probability tables on an `SCM`, simulation, and exact interventions.

Every variable v (latents included) takes values 0..k_v-1 and has a CPT P(v | pa(v)) stored as an array of
shape ``(k_p1, ..., k_pm, k_v)``, parents in ``scm.parents(v)`` order (sorted by name). The joint is the
Markov factorisation P(v_1..v_n) = Π_v P(v | pa(v)).

Exact queries contract that product with ``np.einsum`` (greedy contraction order, i.e. variable
elimination), so they are exact up to float rounding — the ground truth for tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from causalvlm.scm.graph import SCM


class DiscreteSCM:
    """A causal Bayesian network: an `SCM` plus one CPT per node.

    Args:
        scm: the causal graph.
        cardinalities: number of states k_v of every node.
        cpts: node → array of shape ``(*[k_p for p in scm.parents(node)], k_node)``, rows summing to 1.
    """

    def __init__(self, scm: SCM, cardinalities: Mapping[str, int], cpts: Mapping[str, np.ndarray]) -> None:
        self.scm = scm
        self.cardinalities = _check_cardinalities(scm, cardinalities)
        extra = sorted(set(cpts) - set(scm.graph))
        if extra:
            raise ValueError(f"CPT given for unknown node {extra[0]!r}; nodes: {sorted(scm.graph)}")
        self.cpts: dict[str, np.ndarray] = {}
        for node in scm.topological_order():
            if node not in cpts:
                raise ValueError(f"missing CPT for node {node!r}")
            table = np.asarray(cpts[node], dtype=np.float64)
            shape = tuple(self.cardinalities[p] for p in scm.parents(node)) + (self.cardinalities[node],)
            if table.shape != shape:
                raise ValueError(
                    f"CPT of {node!r} has shape {table.shape}; expected {shape} "
                    f"(parents {list(scm.parents(node))} then {node!r})"
                )
            if not np.all(np.isfinite(table)) or np.any(table < 0):
                raise ValueError(f"CPT of {node!r} has negative or non-finite entries")
            if not np.allclose(table.sum(axis=-1), 1.0, atol=1e-8):
                raise ValueError(f"CPT of {node!r}: rows over {node!r} must sum to 1")
            self.cpts[node] = table

    @classmethod
    def random(
        cls, scm: SCM, cardinalities: int | Mapping[str, int] = 2, seed: int = 0, concentration: float = 1.0
    ) -> DiscreteSCM:
        """Random CPTs: each row P(v | pa(v) = u) drawn from Dirichlet(concentration · 1)."""
        if concentration <= 0:
            raise ValueError(f"concentration must be > 0, got {concentration}")
        if isinstance(cardinalities, int):
            cardinalities = {n: cardinalities for n in scm.graph}
        cards = _check_cardinalities(scm, cardinalities)
        rng = np.random.default_rng(seed)
        cpts = {}
        for node in scm.topological_order():
            parent_shape = tuple(cards[p] for p in scm.parents(node))
            rows = rng.dirichlet(np.full(cards[node], concentration), size=int(np.prod(parent_shape)))
            cpts[node] = rows.reshape(*parent_shape, cards[node])
        return cls(scm, cards, cpts)

    # --- simulation ------------------------------------------------------------------------------
    def sample(
        self, n: int, seed: int = 0, include_latents: bool = False, structured: bool = False
    ) -> dict[str, np.ndarray] | np.ndarray:
        """Draw ``n`` i.i.d. rows by ancestral sampling.

        Returns a dict name → int64 array of the observed columns (all columns with ``include_latents``),
        or, with ``structured=True``, one numpy structured array with those fields in topological order.
        """
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        values: dict[str, np.ndarray] = {}
        for node in self.scm.topological_order():
            parents = self.scm.parents(node)
            k = self.cardinalities[node]
            rows = self.cpts[node].reshape(-1, k)
            if parents:
                shape = tuple(self.cardinalities[p] for p in parents)
                row = np.ravel_multi_index(tuple(values[p] for p in parents), shape)
            else:
                row = np.zeros(n, dtype=np.int64)
            values[node] = _inverse_cdf_draw(rows, row, rng.random(n))
        keep = [v for v in self.scm.topological_order() if include_latents or v not in self.scm.latents]
        if not structured:
            return {v: values[v] for v in keep}
        table = np.empty(n, dtype=[(v, np.int64) for v in keep])
        for v in keep:
            table[v] = values[v]
        return table

    # --- exact queries ---------------------------------------------------------------------------
    def marginal(self, nodes: Iterable[str]) -> np.ndarray:
        """Exact observational joint P(nodes), an array with one axis per node in the given order."""
        wanted = self._check_query_nodes(nodes)
        return self._contract(wanted, dropped=None)

    def interventional(self, outcome: str, treatment: str) -> np.ndarray:
        """Exact P(y | do(x)) as an array ``[k_x, k_y]`` (row x is the distribution of Y under do(X=x)).

        Graph surgery: P_x(v) = Π_{v ≠ X} P(v | pa(v)) evaluated at X = x (the truncated factorisation);
        leaving X's index free in the contraction yields every x at once.
        """
        y = self.scm.check_node(outcome, "outcome")
        x = self.scm.check_node(treatment, "treatment")
        if x == y:
            raise ValueError(f"treatment and outcome are the same node {x!r}")
        return self._contract([x, y], dropped=(x,))

    def do(
        self, outcomes: str | Iterable[str], treatments: str | Iterable[str], given: str | Iterable[str] = ()
    ) -> np.ndarray:
        """Exact P(y | do(x), z) for sets, as an array with axes ``[*treatments, *given, *outcomes]``.

        P_x(y, z) = Σ_{rest} Π_{v ∉ X} P(v | pa(v)) (truncated factorisation), then
        P_x(y | z) = P_x(y, z) / Σ_y P_x(y, z). A cell with P_x(z) = 0 is NaN.
        """
        xs = self._check_query_nodes(treatments)
        ys = self._check_query_nodes(outcomes)
        given = [given] if isinstance(given, str) else list(given)  # once: a generator is read only once
        zs = self._check_query_nodes(given) if given else []
        names = [*xs, *zs, *ys]
        if len(set(names)) != len(names):
            raise ValueError(f"treatments, given and outcomes must be disjoint, got {xs}, {zs}, {ys}")
        joint = self._contract(names, dropped=tuple(xs))
        y_axes = tuple(range(len(xs) + len(zs), len(names)))
        total = joint.sum(axis=y_axes, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return joint / total

    def _check_query_nodes(self, nodes: Iterable[str]) -> list[str]:
        wanted = [self.scm.check_node(n) for n in ([nodes] if isinstance(nodes, str) else nodes)]
        if len(set(wanted)) != len(wanted) or not wanted:
            raise ValueError(f"query nodes must be distinct and non-empty, got {wanted}")
        return wanted

    def _contract(self, keep: list[str], dropped: tuple[str, ...] | None) -> np.ndarray:
        """Σ over all nodes not in ``keep`` of Π_v P(v | pa(v)), skipping the factors of ``dropped``."""
        axis = {v: i for i, v in enumerate(self.scm.topological_order())}
        operands: list = []
        for node, table in self.cpts.items():
            if dropped and node in dropped:
                continue
            operands += [table, [axis[p] for p in self.scm.parents(node)] + [axis[node]]]
        for node in dropped or ():
            # a do()-node may have no child left in the product; a flat factor keeps its axis in the output
            operands += [np.ones(self.cardinalities[node]), [axis[node]]]
        return np.einsum(*operands, [axis[v] for v in keep], optimize="greedy")


def _check_cardinalities(scm: SCM, cardinalities: Mapping[str, int]) -> dict[str, int]:
    cards = {}
    for node in scm.graph:
        if node not in cardinalities:
            raise ValueError(f"missing cardinality for node {node!r}")
        k = cardinalities[node]
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"cardinality of {node!r} must be a positive integer, got {k!r}")
        cards[node] = int(k)
    extra = sorted(set(cardinalities) - set(scm.graph))
    if extra:
        raise ValueError(f"cardinality given for unknown node {extra[0]!r}; nodes: {sorted(scm.graph)}")
    return cards


def _inverse_cdf_draw(rows: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw category c ~ rows[row[i]] for every i at once.

    Row r's CDF is shifted by r so all rows fit one sorted array; ``searchsorted(r + u)`` then lands in
    row r's block. The clip guards against r + u rounding up to r + 1 in floating point.
    """
    k = rows.shape[1]
    cdf = np.cumsum(rows, axis=1)
    cdf[:, -1] = 1.0
    shifted = (cdf + np.arange(rows.shape[0])[:, None]).ravel()
    flat = np.searchsorted(shifted, row + u, side="right")
    return np.minimum(flat - row * k, k - 1).astype(np.int64)
