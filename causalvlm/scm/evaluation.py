"""Evaluate an estimand on a table of the observed distribution (exact probabilities or counts).

A `JointTable` holds one non-negative array with an axis per variable — counts N(v) or probabilities P(v);
only ratios are used, so either works. Each term becomes a `Factor` (named axes + array), and

    P(A | B) = P(A, B) / P(B),   Π f_i = broadcast product,   Σ_W f = sum over W's axes,   f / g

are computed in numpy with lexical scope respected (a sum's variable is gone from its result).

A P(A | B) whose conditioning cell B = b has probability 0 is undefined; `evaluate` raises `EmptyCell`
naming the variable and value: a value that never occurs at all, a treatment value never seen within a
stratum that does occur (a positivity violation), or another empty cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from causalvlm.scm.estimand import TEXT, Prob, Quotient, Sum, Term, render


class EmptyCell(ValueError):
    """A probability the estimand divides by is zero in the data; the message names the cell."""


@dataclass(frozen=True)
class Factor:
    """An array whose axes are the named variables, in ``variables`` order."""

    variables: tuple[str, ...]
    table: np.ndarray

    def aligned(self, order: Sequence[str]) -> np.ndarray:
        """The table transposed to ``order`` (a superset of its variables), with size-1 axes for the rest."""
        present = [v for v in order if v in self.variables]
        moved = np.transpose(self.table, [self.variables.index(v) for v in present])
        return moved.reshape([moved.shape[present.index(v)] if v in present else 1 for v in order])


class JointTable:
    """Counts or probabilities over named variables, with cached marginals.

    Args:
        variables: one name per axis of ``table``.
        table: non-negative numbers, e.g. N(v) from data or P(v) from a model.
        treatments: names whose zero-probability cells are reported as positivity violations.
    """

    def __init__(self, variables: Sequence[str], table: np.ndarray, treatments: Sequence[str] = ()) -> None:
        self.variables = tuple(variables)
        self.table = np.asarray(table, dtype=np.float64)
        if self.table.ndim != len(self.variables):
            raise ValueError(f"table has {self.table.ndim} axes for {len(self.variables)} variables")
        self.treatments = frozenset(treatments)
        self._marginals: dict[frozenset[str], Factor] = {}

    def cardinality(self, variable: str) -> int:
        return self.table.shape[self.variables.index(variable)]

    def marginal(self, variables: frozenset[str]) -> Factor:
        """Σ over the other variables, axes in table order (unnormalised: counts stay counts)."""
        if variables not in self._marginals:
            missing = sorted(variables - set(self.variables))
            if missing:
                raise KeyError(f"the estimand needs {missing[0]!r}, which the data does not have")
            keep = tuple(v for v in self.variables if v in variables)
            drop = tuple(i for i, v in enumerate(self.variables) if v not in variables)
            self._marginals[variables] = Factor(keep, self.table.sum(axis=drop))
        return self._marginals[variables]

    def conditional(self, head: frozenset[str], given: frozenset[str]) -> Factor:
        """P(head | given) = N(head, given) / N(given); raises `EmptyCell` where N(given) = 0."""
        joint = self.marginal(head | given)
        base = self.marginal(given) if given else Factor((), np.asarray(self.table.sum()))
        empty = np.argwhere(base.table == 0)
        if empty.size:
            raise EmptyCell(self._describe_empty(base, empty[0], Prob(head, given)))
        return Factor(joint.variables, joint.table / base.aligned(joint.variables))

    def _describe_empty(self, base: Factor, cell: np.ndarray, term: Prob) -> str:
        values = dict(zip(base.variables, (int(v) for v in cell), strict=True))
        shown = ", ".join(f"{v}={k}" for v, k in values.items())
        what = f"so {render(term, TEXT)} is undefined there"
        hint = "; pass smoothing=α>0 to use additive smoothing instead"
        if not base.variables:
            return f"the data has no rows, {what}"
        for variable in base.variables:  # a value that never occurs explains every empty cell it is in
            unseen = np.flatnonzero(self.marginal(frozenset({variable})).table == 0)
            if unseen.size:
                return f"value {variable}={int(unseen[0])} never occurs in the data, {what}{hint}"
        stratum = {v: k for v, k in values.items() if v not in self.treatments}
        treated = {v: k for v, k in values.items() if v in self.treatments}
        if treated and stratum:
            rest = self.marginal(frozenset(stratum))
            if rest.table[tuple(stratum[v] for v in rest.variables)] > 0:
                inside = ", ".join(f"{v}={k}" for v, k in stratum.items())
                setting = ", ".join(f"{v}={k}" for v, k in treated.items())
                occurs = f"no rows have {setting} where {inside} (which occurs)"
                return f"positivity violation: {occurs}, {what}{hint}"
        return f"empty cell ({shown}): no rows have it, {what}{hint}"


def evaluate(term: Term, table: JointTable) -> Factor:
    """The value of ``term`` for every combination of its free variables (axes in sorted order)."""
    if isinstance(term, Prob):
        return table.conditional(term.head, term.given)
    if isinstance(term, Sum):
        body = evaluate(term.body, table)
        axes = tuple(i for i, v in enumerate(body.variables) if v in term.over)
        result = body.table.sum(axis=axes) if axes else body.table
        for absent in sorted(term.over - set(body.variables)):  # Σ_w c = k_w c
            result = result * table.cardinality(absent)
        return Factor(tuple(v for v in body.variables if v not in term.over), result)
    if isinstance(term, Quotient):
        top, bottom = evaluate(term.numerator, table), evaluate(term.denominator, table)
        order = tuple(sorted(set(top.variables) | set(bottom.variables)))
        denominator = bottom.aligned(order)
        zero = np.argwhere(denominator == 0)
        if zero.size:
            cell = ", ".join(
                f"{v}={int(k)}" for v, k in zip(order, zero[0], strict=True) if v in bottom.variables
            )
            raise EmptyCell(
                f"the denominator of {render(term, TEXT)} is 0 at ({cell}); the data has no support there"
            )
        return Factor(order, top.aligned(order) / denominator)
    factors = [evaluate(f, table) for f in term.factors()]
    order = tuple(sorted(set().union(*(f.variables for f in factors))))
    result = np.ones([1] * len(order))
    for factor in factors:
        result = result * factor.aligned(order)
    return Factor(order, result)


def query_array(term: Term, table: JointTable, axes: Sequence[str]) -> np.ndarray:
    """``term`` as an array with exactly ``axes``; a query variable the value ignores is broadcast."""
    factor = evaluate(term, table)
    extra = sorted(set(factor.variables) - set(axes))
    if extra:
        raise ValueError(f"the estimand leaves {extra} unsummed; it must depend on the query only")
    sizes = [table.cardinality(v) for v in axes]
    return np.broadcast_to(factor.aligned(axes), sizes).copy()
