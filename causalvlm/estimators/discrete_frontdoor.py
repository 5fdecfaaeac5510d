"""`DiscreteFrontDoor`: the nonparametric plug-in front-door estimator for categorical data.

    P(y | do(x)) = Σ_s P(s | x) Σ_x' P(y | x', s) P(x')          (front-door adjustment, Pearl 1995)

Every probability on the right is a ratio of counts from one table N(x, s, y), built in a single
``np.bincount`` pass, so fitting is O(rows) and the estimate is O(n_x · n_s · n_y). A mediator set with
several variables is encoded as one joint state s.

Unobserved cells. The formula needs P(s | x) for every x, and P(y | x', s) for every x' and every s that
occurs. With ``smoothing=None`` (the default) a treatment value never observed, or a pair (x', s) never
observed while s itself occurs, raises a ValueError naming the cell: the plug-in is undefined there and a
silent guess would bias the estimate. With ``smoothing=α > 0`` every conditional becomes an additive
(Lidstone) estimate, e.g. P(y | x', s) = (N(x', s, y) + α) / (N(x', s) + α n_y), which is defined everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from causalvlm.estimators.base import (
    Data,
    EffectInterval,
    FrontDoorEstimator,
    TableOptions,
    category_cardinalities,
    check_bootstrap,
    joint_state,
    multinomial_tables,
    read_category_columns,
)

MAX_CELLS = 50_000_000  # n_x · n_s · n_y; beyond this the count table alone needs > 400 MB


FrontDoorInterval = EffectInterval  # the bootstrap summary, arrays [n_x, n_y]


def frontdoor_adjustment(
    counts: np.ndarray, smoothing: float | None = None, cell_name: Callable[[int, int], str] | None = None
) -> np.ndarray:
    """P(y | do(x)) = Σ_s P(s | x) Σ_x' P(y | x', s) P(x') from counts N(x, s, y).

    ``counts`` has shape ``[..., n_x, n_s, n_y]`` (leading axes are independent tables, e.g. bootstrap
    replicates); it may also hold exact probabilities P(x, s, y), since only ratios are used when
    ``smoothing`` is None. Returns ``[..., n_x, n_y]``.
    """
    N_xsy = np.asarray(counts, dtype=np.float64)
    n_x, n_s, n_y = N_xsy.shape[-3:]
    alpha = 0.0 if smoothing is None else float(smoothing)
    N_xs = N_xsy.sum(axis=-1)  # [..., n_x, n_s]
    N_x = N_xs.sum(axis=-1)  # [..., n_x]
    N = N_x.sum(axis=-1, keepdims=True)  # [..., 1]

    # 1. Refuse cells the plug-in needs but the data never showed (unless smoothing fills them).
    if smoothing is None:
        _check_observed_cells(N_x, N_xs, cell_name)

    # 2. The three conditionals of the formula.
    P_x = (N_x + alpha) / (N + alpha * n_x)  # P(x')
    P_s_given_x = (N_xs + alpha) / (N_x[..., None] + alpha * n_s)  # P(s | x)
    denominator = N_xs[..., None] + alpha * n_y
    # (x', s) cells with N = 0 only occur for states s that no x reaches, whose weight P(s | x) is 0.
    P_y_given_xs = np.divide(N_xsy + alpha, denominator, out=np.zeros_like(N_xsy), where=denominator > 0)

    # 3. Inner sum over x' (the back-door adjustment of S → Y for X), then the outer sum over s.
    inner = np.einsum("...asy,...a->...sy", P_y_given_xs, P_x)  # Σ_x' P(y | x', s) P(x')
    return np.einsum("...xs,...sy->...xy", P_s_given_x, inner)


def _check_observed_cells(
    N_x: np.ndarray, N_xs: np.ndarray, cell_name: Callable[[int, int], str] | None
) -> None:
    where = "" if N_x.ndim == 1 else " in a bootstrap replicate"
    hint = "; pass smoothing=α>0 to DiscreteFrontDoor to use additive smoothing instead"
    unseen_x = np.argwhere(N_x == 0)
    if unseen_x.size:
        x = int(unseen_x[0][-1])
        raise ValueError(f"treatment value {x} never occurs{where}, so P(s | x={x}) is undefined{hint}")
    s_occurs = N_xs.sum(axis=-2, keepdims=True) > 0  # [..., 1, n_s]
    missing = np.argwhere((N_xs == 0) & s_occurs)
    if missing.size:
        x, s = (int(v) for v in missing[0][-2:])
        name = cell_name(x, s) if cell_name else f"(x'={x}, s={s})"
        raise ValueError(f"cell {name} is never observed{where}, so P(y | x', s) is undefined{hint}")


class DiscreteFrontDoor(FrontDoorEstimator, TableOptions):
    """Plug-in front-door estimator for categorical X, S, Y.

    Args:
        graph: if given, `fit` refuses a mediator set that fails the front-door criterion on it, and
            treatment / outcome / mediators must be observed nodes of it.
        smoothing: None (default) raises on unobserved cells; α > 0 adds α to every count.
        cardinalities: optional number of categories per column (default: observed max + 1).
    """

    counts: np.ndarray | None = None  # N(x, s, y) after fit; the constructor is TableOptions's

    def fit(self, data: Data, treatment: str, outcome: str, mediators: Sequence[str]) -> DiscreteFrontDoor:
        """Count N(x, s, y) and compute the estimate; raises before counting on any bad input."""
        mediators = [mediators] if isinstance(mediators, str) else list(mediators)
        # 1. The query itself.
        if treatment == outcome:
            raise ValueError(f"treatment and outcome are the same column {treatment!r}")
        if not mediators:
            raise ValueError("the mediator set is empty; front-door adjustment needs at least one mediator")
        if len(set(mediators)) != len(mediators) or {treatment, outcome} & set(mediators):
            raise ValueError(f"mediators {mediators} must be distinct and exclude {treatment!r}, {outcome!r}")
        # 2. The criterion on the graph, so an invalid adjustment never produces a number.
        if self.graph is not None:
            failures = self.graph.frontdoor_violations(treatment, outcome, mediators)
            if failures:
                raise ValueError(
                    f"mediators {mediators} fail the front-door criterion for {treatment!r} -> {outcome!r} "
                    f"on graph {self.graph.name or 'given'}: " + "; ".join(failures)
                )
        # 3. Columns and their category counts.
        names = [treatment, *mediators, outcome]
        columns = read_category_columns(data, names)
        cards = category_cardinalities(columns, self.given_cardinalities)
        n_x, n_y = cards[treatment], cards[outcome]
        mediator_cards = [cards[m] for m in mediators]
        n_s = int(np.prod(mediator_cards))
        if n_x * n_s * n_y > MAX_CELLS:
            raise ValueError(f"{n_x}·{n_s}·{n_y} cells exceed the limit {MAX_CELLS}; coarsen the mediators")
        # 4. One pass over the rows: the flat cell index of (x, s, y), counted by bincount.
        s = joint_state([columns[m] for m in mediators], mediator_cards)
        cell = (columns[treatment] * n_s + s) * n_y + columns[outcome]
        counts = np.bincount(cell, minlength=n_x * n_s * n_y).reshape(n_x, n_s, n_y)

        # 5. The estimate; assigned only after it succeeds, so a failed fit leaves no half-fitted state.
        cell_name = _cell_namer(treatment, mediators, mediator_cards)
        effect = frontdoor_adjustment(counts, self.smoothing, cell_name)
        self.treatment, self.outcome, self.mediators = treatment, outcome, mediators
        self.cardinalities = cards
        self._cell_name = cell_name
        self._effect = effect
        self.counts = counts
        return self

    def effect(self) -> np.ndarray:
        """P(Y = y | do(X = x)) as ``[n_x, n_y]``."""
        self._check_fitted()
        return self._effect.copy()

    def bootstrap(self, n_boot: int = 200, level: float = 0.95, seed: int = 0) -> FrontDoorInterval:
        """Percentile bootstrap interval for every entry of P(y | do(x)).

        Resampling N rows with replacement changes the data only through its count table, and the resampled
        table is Multinomial(N, N(x, s, y) / N), drawn by `multinomial_tables`.
        """
        counts = self._fitted_counts()
        check_bootstrap(n_boot, level, seed)
        rng = np.random.default_rng(seed)
        effects = [
            frontdoor_adjustment(draws, self.smoothing, self._cell_name)
            for draws in multinomial_tables(counts, n_boot, rng)
        ]
        return EffectInterval.from_replicates(self.effect(), np.concatenate(effects), level, n_boot)

    def _check_fitted(self) -> None:
        self._fitted_counts()

    def _fitted_counts(self) -> np.ndarray:
        """N(x, s, y) of the fit; raises before a fit."""
        if self.counts is None:
            raise RuntimeError("DiscreteFrontDoor is not fitted; call fit(data, treatment, outcome, ...)")
        return self.counts


def _cell_namer(treatment: str, mediators: list[str], mediator_cards: list[int]) -> Callable[[int, int], str]:
    """Names a (x', s) cell by its column values, decoding the joint mediator state s."""

    def name(x: int, s: int) -> str:
        values = np.unravel_index(s, mediator_cards)
        parts = [f"{treatment}={x}"] + [f"{m}={int(v)}" for m, v in zip(mediators, values, strict=True)]
        return "(" + ", ".join(parts) + ")"

    return name
