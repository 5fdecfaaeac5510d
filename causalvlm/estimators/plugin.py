"""Plug-in estimation of any identified effect on categorical data, and the back-door estimator.

    P̂(y | do(x), z) = E(P̂_N)   where E is the estimand of `identify` and P̂_N(v) = N(v) / N

Every P(A | B) in the estimand is a ratio of counts from one table N(v) over the variables the estimand
reads, built in a single ``np.bincount`` pass (or given directly as `Counts`). The back-door estimator is the
named case E = Σ_z P(y | x, z) P(z).

Undefined cells. With ``smoothing=None`` (the default) a P(A | B) whose condition B = b has no rows raises a
ValueError naming the variable and value: a value that never occurs, a positivity violation (a treatment
value never seen in a stratum that does occur), or another empty cell. With ``smoothing=α > 0``, α is added
to every cell of the count table first, so every conditional is defined.

Bootstrap. The estimate depends on the data only through N(v); resampling N rows with replacement gives
Multinomial(N, N(v)/N) tables, drawn directly (O(cells) per replicate instead of O(N)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from causalvlm.estimators.base import (
    Data,
    EffectEstimator,
    EffectInterval,
    TableOptions,
    category_cardinalities,
    check_bootstrap,
    multinomial_tables,
    read_category_columns,
)
from causalvlm.scm.evaluation import EmptyCell, JointTable, query_array
from causalvlm.scm.graph import SCM, NodeNames
from causalvlm.scm.identification import Identification, backdoor_identification, identify

MAX_CELLS = 50_000_000  # Π k_v over the estimand's variables; beyond this the count table needs > 400 MB


@dataclass(frozen=True)
class Counts:
    """A contingency table: ``table[v_1, ..., v_k]`` = number of rows (or probability) of that cell."""

    variables: tuple[str, ...]
    table: np.ndarray

    def __post_init__(self) -> None:
        table = np.asarray(self.table, dtype=np.float64)
        object.__setattr__(self, "variables", tuple(self.variables))
        if table.ndim != len(self.variables):
            raise ValueError(f"counts table has {table.ndim} axes but {len(self.variables)} variables")
        if not np.all(np.isfinite(table)) or np.any(table < 0):
            raise ValueError("counts must be finite and non-negative")
        object.__setattr__(self, "table", table)


class _CountTableEstimator(EffectEstimator, TableOptions):
    """What the plug-in estimators share: options, evaluation on a count table, the bootstrap."""

    identification: Identification | None = None  # set by fit
    counts: Counts | None = None

    def _fit_identified(self, data: Data | Counts, result: Identification, names: Sequence[str]):
        counts = data_counts(data, names, self.given_cardinalities)
        estimate = self._evaluate(result, counts)
        # assigned only after the estimate succeeded, so a failed fit leaves no half-fitted state
        self.identification, self.counts, self._estimate = result, counts, estimate
        return self

    def _evaluate(self, result: Identification, counts: Counts, where: str = "") -> np.ndarray:
        table = counts.table + (self.smoothing or 0.0)
        joint = JointTable(counts.variables, table, treatments=result.treatments)
        axes = [*result.treatments, *result.given, *result.outcomes]
        assert result.expression is not None  # only identified results reach here
        try:
            return query_array(result.expression, joint, axes)
        except EmptyCell as error:
            raise EmptyCell(f"{error}{where}") from None

    def effect(self) -> np.ndarray:
        """P(Y = y | do(X = x), Z = z) with axes ``[*treatments, *given, *outcomes]`` (graph order each)."""
        self._check_fitted()
        return self._estimate.copy()

    def bootstrap(self, n_boot: int = 200, level: float = 0.95, seed: int = 0) -> EffectInterval:
        """Percentile bootstrap interval for every entry of `effect` (resampling the count table)."""
        identification, counts = self._check_fitted()
        check_bootstrap(n_boot, level, seed)
        table = counts.table
        if not np.array_equal(table, np.round(table)):
            raise ValueError("bootstrap needs integer counts; these look like probabilities")
        rng = np.random.default_rng(seed)
        replicates = [
            self._evaluate(identification, Counts(counts.variables, d), " (in a replicate)")
            for chunk in multinomial_tables(table, n_boot, rng)
            for d in chunk
        ]
        return EffectInterval.from_replicates(self.effect(), np.stack(replicates), level, n_boot)

    def _check_fitted(self) -> tuple[Identification, Counts]:
        if self.identification is None or self.counts is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(data, treatment, outcome)")
        return self.identification, self.counts


class PluginEstimator(_CountTableEstimator):
    """Identify P(Y | do(X), Z) on ``graph``, then evaluate the estimand on the data's count table.

    Args:
        graph: the causal graph (with its latent nodes); the estimand comes from `identify` on it.
        given: conditioning variables Z for a conditional effect P(y | do(x), z) (default: none).
        smoothing: None (default) raises on empty cells; α > 0 adds α to every count.
        cardinalities: optional number of categories per column (default: observed max + 1).
    """

    def __init__(
        self,
        graph: SCM,
        given: NodeNames = (),
        smoothing: float | None = None,
        cardinalities: Mapping[str, int] | None = None,
    ) -> None:
        if not isinstance(graph, SCM):
            raise TypeError(f"graph must be a causalvlm SCM, got {type(graph).__name__}")
        super().__init__(graph, smoothing, cardinalities)
        self.given = given

    def fit(self, data: Data | Counts, treatment: NodeNames, outcome: NodeNames) -> PluginEstimator:
        """Identify, count and evaluate; raises before any state changes on a bad query or bad data."""
        graph = self.graph
        assert graph is not None  # the constructor requires it
        result = identify(graph, treatment, outcome, self.given)
        if not result.identifiable:
            raise ValueError(f"cannot estimate: {result.estimand}")
        axes = {*result.treatments, *result.given, *result.outcomes}
        names = [v for v in graph.topological_order() if v in result.variables or v in axes]
        return self._fit_identified(data, result, names)


class BackdoorEstimator(_CountTableEstimator):
    """P(y | do(x)) = Σ_z P(y | x, z) P(z) (back-door adjustment, Pearl 1993), plug-in on counts.

    Args:
        graph: if given, `fit` refuses a set that fails the back-door criterion on it, and finds the set
            itself when none is named; without a graph the adjustment set must be named.
        smoothing, cardinalities: as for `PluginEstimator`.
    """

    def fit(
        self, data: Data | Counts, treatment: str, outcome: str, adjustment: Sequence[str] | None = None
    ) -> BackdoorEstimator:
        """Estimate with the adjustment set Z (found on the graph when not given)."""
        if adjustment is None:
            if self.graph is None:
                raise ValueError("name the adjustment set, or pass graph= so that one can be found")
            result = identify(self.graph, treatment, outcome)
            if result.kind != "backdoor":
                raise ValueError(
                    f"no back-door set exists for {treatment!r} -> {outcome!r}: {result.estimand}"
                )
        else:
            z = [adjustment] if isinstance(adjustment, str) else list(adjustment)
            if treatment == outcome or {treatment, outcome} & set(z) or len(set(z)) != len(z):
                raise ValueError(f"adjustment set {z} must be distinct from {treatment!r} and {outcome!r}")
            graph = self.graph or SCM.from_edges([], nodes=[treatment, outcome, *z])
            if self.graph is not None and not self.graph.is_backdoor_set(treatment, outcome, z):
                paths = self.graph.backdoor_paths(treatment, outcome)
                raise ValueError(
                    f"{sorted(z)} is not a back-door set for {treatment!r} -> {outcome!r} on graph "
                    f"{self.graph.name or 'given'}; its back-door paths: {paths}"
                )
            result = backdoor_identification(graph, treatment, outcome, frozenset(z))
        names = [treatment, *sorted(result.adjustment_set or ()), outcome]
        return self._fit_identified(data, result, names)


def data_counts(data: Data | Counts, names: Sequence[str], given_cardinalities: Mapping[str, int]) -> Counts:
    """The count table N(v) over ``names`` (axes in that order), from rows or from a larger `Counts`."""
    if isinstance(data, Counts):
        missing = [n for n in names if n not in data.variables]
        if missing:
            raise KeyError(
                f"variable {missing[0]!r} is missing from the counts; it has {list(data.variables)}"
            )
        marginal = JointTable(data.variables, data.table).marginal(frozenset(names))
        return Counts(tuple(names), marginal.aligned(names))
    columns = read_category_columns(data, list(names))
    cards = category_cardinalities(columns, given_cardinalities)
    shape = tuple(cards[n] for n in names)
    cells = int(np.prod(shape, dtype=np.float64))
    if cells > MAX_CELLS:
        raise ValueError(f"the count table over {list(names)} has {cells} cells (limit {MAX_CELLS})")
    flat = np.ravel_multi_index(tuple(columns[n] for n in names), shape) if names else np.zeros(1, int)
    return Counts(tuple(names), np.bincount(flat, minlength=cells).reshape(shape).astype(np.float64))
