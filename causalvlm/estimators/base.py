"""The estimator interfaces and the checks every tabular estimator applies to its options and data.

`EffectEstimator` is the interface: ``fit(data, treatment, outcome, ...)`` returns the estimator and
``effect()`` the estimated P(Y | do(X)). `FrontDoorEstimator` adds the mediator set to ``fit``.

Data is a mapping ``column name → 1-D integer array``, a numpy structured array (the two forms
`DiscreteSCM.sample` returns) or a data frame with a ``columns`` attribute (pandas, if installed; it is not
a dependency). Categories are the integers 0..k-1.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from annotated_types import Ge, Gt, Lt

from causalvlm.config_model import ConfigError, check_value, shown

if TYPE_CHECKING:  # pragma: no cover
    from causalvlm.scm.graph import SCM

Data = Mapping[str, Any] | np.ndarray

BOOTSTRAP_CHUNK_CELLS = 4_000_000  # bootstrap replicates are drawn in chunks of at most this many cells


class EffectEstimator(ABC):
    """Estimates an interventional distribution P(Y | do(X)) from observational data."""

    @abstractmethod
    def fit(self, data: Data, treatment: Any, outcome: Any, *args: Any) -> EffectEstimator:
        """Learn whatever the estimate needs from ``data``; returns ``self``."""

    @abstractmethod
    def effect(self) -> np.ndarray:
        """The estimate as an array, one axis per treatment then per outcome; it sums to 1 over outcomes."""


@dataclass(frozen=True)
class EffectInterval:
    """Bootstrap summary of an estimate; every array has the estimate's shape."""

    estimate: np.ndarray  # the plug-in estimate on the full data
    low: np.ndarray  # lower percentile bound
    high: np.ndarray  # upper percentile bound
    std: np.ndarray  # bootstrap standard deviation
    level: float  # e.g. 0.95
    n_boot: int

    @classmethod
    def from_replicates(
        cls, estimate: np.ndarray, replicates: np.ndarray, level: float, n_boot: int
    ) -> EffectInterval:
        """The percentile interval of ``replicates`` (first axis: bootstrap replicate)."""
        low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2], axis=0)
        return cls(estimate, low, high, replicates.std(axis=0, ddof=1), level, n_boot)


class FrontDoorEstimator(EffectEstimator):
    """Estimates P(Y | do(X)) from observational data through a mediator set S."""

    @abstractmethod
    def fit(self, data: Data, treatment: str, outcome: str, mediators: Sequence[str]) -> FrontDoorEstimator:
        """Learn whatever the estimate needs from ``data``; returns ``self``."""

    @abstractmethod
    def effect(self) -> np.ndarray:
        """P(Y = y | do(X = x)) as an array ``[n_x, n_y]`` whose rows sum to 1."""


class TableOptions:
    """The constructor shared by the count-table estimators: an optional graph to check queries against,
    the smoothing α and given cardinalities, all checked at construction."""

    def __init__(
        self,
        graph: SCM | None = None,
        smoothing: float | None = None,
        cardinalities: Mapping[str, int] | None = None,
    ) -> None:
        self.graph = graph
        self.smoothing = check_smoothing(smoothing)
        self.given_cardinalities = check_cardinalities(cardinalities)


def check_smoothing(smoothing: object) -> float | None:
    """None or a finite number > 0 (the α of additive smoothing)."""
    if smoothing is not None and not (
        isinstance(smoothing, (int, float, np.number))
        and not isinstance(smoothing, bool)
        and np.isfinite(smoothing)
        and smoothing > 0
    ):
        raise ConfigError("smoothing", f"must be None or a finite number > 0, got {shown(smoothing)}")
    return None if smoothing is None else float(smoothing)


def check_bootstrap(n_boot: object, level: object, seed: object) -> None:
    """A bootstrap's arguments: at least 2 replicates, a level strictly inside (0, 1), a seed >= 0."""
    check_value(n_boot, Annotated[int, Ge(2)], "n_boot")
    check_value(level, Annotated[float, Gt(0), Lt(1)], "level")
    check_value(seed, Annotated[int, Ge(0)], "seed")


def check_cardinalities(cardinalities: object) -> dict[str, int]:
    """A mapping column → number of categories (integers ≥ 1), or {} for None."""
    if cardinalities is not None and not isinstance(cardinalities, Mapping):
        raise ConfigError(
            "cardinalities", f"expected a mapping column → number of categories, got {shown(cardinalities)}"
        )
    for name, count in (cardinalities or {}).items():
        check_value(count, Annotated[int, Ge(1)], f"cardinalities[{name!r}]")  # 3.5 categories: no cut to 3
    return {name: int(count) for name, count in (cardinalities or {}).items()}


def category_cardinalities(columns: Mapping[str, np.ndarray], given: Mapping[str, int]) -> dict[str, int]:
    """Categories per column: the given number, else observed max + 1; a given number too small raises."""
    cards = {}
    for name, values in columns.items():
        seen = int(values.max()) + 1
        chosen = given.get(name, seen)
        if chosen < seen:
            raise ValueError(f"column {name!r} has category {seen - 1} but cardinality {chosen} was given")
        cards[name] = int(chosen)
    return cards


def column_names(data: Data) -> list[str]:
    if hasattr(data, "columns") and not isinstance(data, (np.ndarray, Mapping)):  # a data frame
        return [str(c) for c in data.columns]
    if isinstance(data, np.ndarray):
        if data.dtype.names is None:
            raise ValueError("data must be a mapping of columns or a structured array with named fields")
        return list(data.dtype.names)
    if isinstance(data, Mapping):
        return list(data.keys())
    raise TypeError(f"data must be a mapping of columns or a structured array, got {type(data).__name__}")


def read_category_columns(data: Data, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named columns as int64 arrays after checking them: present, 1-D, equal length, non-empty,
    integer-typed and non-negative. Every error names the column at fault."""
    available = column_names(data)
    for name in names:
        if name not in available:
            raise KeyError(f"column {name!r} is missing from the data; columns: {sorted(available)}")
    columns: dict[str, np.ndarray] = {}
    for name in names:
        values = np.asarray(data[name])
        if values.ndim != 1:
            raise ValueError(f"column {name!r} must be 1-D, got shape {values.shape}")
        if values.dtype == bool:
            values = values.astype(np.int64)
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"column {name!r} must hold integer categories 0..k-1, got dtype {values.dtype}")
        if values.size == 0:
            raise ValueError(f"data is empty: column {name!r} has no rows")
        lowest = values.min()
        if lowest < 0:
            row = int(np.argmin(values))
            raise ValueError(f"column {name!r} has negative category {int(lowest)} (row {row})")
        columns[name] = values.astype(np.int64, copy=False)
    lengths = {name: len(v) for name, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns have different lengths: {lengths}")
    return columns


def joint_state(columns: Sequence[np.ndarray], cardinalities: Sequence[int]) -> np.ndarray:
    """Encode several category columns as one joint category (row-major: the last column varies fastest)."""
    if len(columns) == 1:
        return columns[0]
    return np.ravel_multi_index(tuple(columns), tuple(cardinalities))


def multinomial_tables(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """``n_boot`` resampled count tables Multinomial(N, counts / N), shaped ``[k, *counts.shape]``, in
    chunks of at most `BOOTSTRAP_CHUNK_CELLS` cells (at least one table each), so memory stays bounded.

    Resampling N rows with replacement changes the data only through its count table; drawing the table
    directly costs O(cells) per replicate instead of O(N). The chunks draw the same random stream as one
    ``size=n_boot`` draw.
    """
    flat = counts.ravel()
    n_rows = int(flat.sum())
    per_chunk = max(1, BOOTSTRAP_CHUNK_CELLS // flat.size)
    for start in range(0, n_boot, per_chunk):
        size = min(per_chunk, n_boot - start)
        yield rng.multinomial(n_rows, flat / n_rows, size=size).reshape(size, *counts.shape)
