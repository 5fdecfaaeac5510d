"""Estimands: expressions over the observational distribution P(V) that print as text and LaTeX.

An identified causal effect is a formula in four kinds of term (Shpitser & Pearl 2006 build theirs from the
same pieces):

- ``Prob(head, given)``  P(head | given), a conditional of the observed distribution;
- ``Product(factors)``   f_1 f_2 ... f_k (the empty product is the constant 1);
- ``Sum(over, body)``    Σ_over body — ``over`` is bound inside ``body`` only (lexical scope);
- ``Quotient(num, den)`` num / den.

Scoping matters: the front-door formula Σ_s P(s | x) Σ_x P(y | x, s) P(x) sums over a *bound* X inside a
term that also uses the *free* treatment X; printing renames the bound copy to X'. Every term lists its free
variables (``free``) and every variable it mentions (``mentioned``); :mod:`causalvlm.scm.simplify` rewrites
terms, :func:`evaluate` computes one on a probability table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

Order = Callable[[str], Any]  # sort key for variables when printing (e.g. topological position)


class Term:
    """Base class of the four term kinds; immutable and compared by value."""

    @property
    def free(self) -> frozenset[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def mentioned(self) -> frozenset[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def factors(self) -> tuple[Term, ...]:
        """The factors of a product; any other term is a product of one."""
        return (self,)


@dataclass(frozen=True)
class Prob(Term):
    """P(head | given): a marginal (``given`` empty) or conditional of the observed distribution."""

    head: frozenset[str]
    given: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "head", frozenset(self.head))
        object.__setattr__(self, "given", frozenset(self.given))
        if self.head & self.given:
            raise ValueError(f"P(head | given) with {sorted(self.head & self.given)} on both sides")

    @cached_property
    def free(self) -> frozenset[str]:
        return self.head | self.given

    @property
    def mentioned(self) -> frozenset[str]:
        return self.free


@dataclass(frozen=True)
class Product(Term):
    """f_1 f_2 ... f_k; the empty product is 1."""

    items: tuple[Term, ...]

    @cached_property
    def free(self) -> frozenset[str]:
        return frozenset().union(*(f.free for f in self.items))

    @cached_property
    def mentioned(self) -> frozenset[str]:
        return frozenset().union(*(f.mentioned for f in self.items))

    def factors(self) -> tuple[Term, ...]:
        return self.items


@dataclass(frozen=True)
class Sum(Term):
    """Σ_over body; the variables of ``over`` are bound in ``body`` and nowhere else."""

    over: frozenset[str]
    body: Term

    def __post_init__(self) -> None:
        object.__setattr__(self, "over", frozenset(self.over))

    @cached_property
    def free(self) -> frozenset[str]:
        return self.body.free - self.over

    @property
    def mentioned(self) -> frozenset[str]:
        return self.body.mentioned | self.over


@dataclass(frozen=True)
class Quotient(Term):
    """numerator / denominator."""

    numerator: Term
    denominator: Term

    @cached_property
    def free(self) -> frozenset[str]:
        return self.numerator.free | self.denominator.free

    @property
    def mentioned(self) -> frozenset[str]:
        return self.numerator.mentioned | self.denominator.mentioned


ONE = Product(())


def product(factors: Iterable[Term]) -> Term:
    """A product with nested products flattened and constant factors dropped; one factor is itself."""
    flat: list[Term] = []
    for factor in factors:
        flat.extend(f for f in factor.factors() if f != ONE and not (isinstance(f, Prob) and not f.head))
    return flat[0] if len(flat) == 1 else Product(tuple(flat))


# --- printing ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Notation:
    """How to print one kind of output: the symbols of text or LaTeX."""

    given: str
    sum: Callable[[str], str]
    product_join: str
    quotient: Callable[[str, str], str]
    symbol: Callable[[str], str]
    group: Callable[[str], str]


TEXT = Notation(
    given=" | ",
    sum=lambda vs: f"sum_{{{vs}}} ",
    product_join=" ",
    quotient=lambda n, d: f"{n} / {d}",
    symbol=lambda v: v,
    group=lambda s: f"[{s}]",
)


def latex_notation(symbol: Callable[[str], str]) -> Notation:
    return Notation(
        given=r" \mid ",
        sum=lambda vs: rf"\sum_{{{vs}}} ",
        product_join=r"\, ",
        quotient=lambda n, d: rf"\frac{{{n}}}{{{d}}}",
        symbol=symbol,
        group=lambda s: rf"\left[{s}\right]",
    )


def render(term: Term, notation: Notation = TEXT, order: Order = str, outside: Iterable[str] = ()) -> str:
    """Print ``term``; a summed variable that shadows a variable in use outside its sum — free in ``term``
    or named in ``outside`` (e.g. the query's variables) — gets primes (X')."""
    return _render(term, notation, order, {}, frozenset(term.free) | frozenset(outside))


def _render(
    term: Term, notation: Notation, order: Order, names: dict[str, int], taken: frozenset[str]
) -> str:
    """``names`` counts the primes of each renamed bound variable; ``taken`` holds the names in scope."""

    def label(v: str) -> str:
        return notation.symbol(v) + "'" * names.get(v, 0)

    def show(variables: Iterable[str]) -> str:
        return ", ".join(label(v) for v in sorted(variables, key=order))

    if isinstance(term, Prob):
        if not term.given:
            return f"P({show(term.head)})"
        return f"P({show(term.head)}{notation.given}{show(term.given)})"
    if isinstance(term, Sum):
        inner, taken_inside = dict(names), set(taken)
        for v in sorted(term.over, key=order):
            inner[v] = 0
            while v + "'" * inner[v] in taken_inside:
                inner[v] += 1
            taken_inside.add(v + "'" * inner[v])
        bound = ", ".join(notation.symbol(v) + "'" * inner[v] for v in sorted(term.over, key=order))
        return notation.sum(bound) + _render(term.body, notation, order, inner, frozenset(taken_inside))
    visible = taken | {v + "'" * names.get(v, 0) for v in term.free}
    if isinstance(term, Quotient):
        parts = []
        for side in (term.numerator, term.denominator):
            text = _render(side, notation, order, names, visible)
            grouped = notation is not TEXT or isinstance(side, Prob)  # \frac groups by itself
            parts.append(text if grouped else notation.group(text))
        return notation.quotient(*parts)
    if term == ONE:
        return "1"
    parts = []
    for index, factor in enumerate(term.factors()):
        last = index == len(term.factors()) - 1
        text = _render(factor, notation, order, names, visible)
        # a sum or quotient inside a product is bracketed unless it is the last factor (a sum runs rightwards)
        keep = isinstance(factor, Prob) or (last and isinstance(factor, Sum))
        parts.append(text if keep else notation.group(text))
    return notation.product_join.join(parts)


def query_text(
    outcomes: Sequence[str], treatments: Sequence[str], given: Sequence[str], notation: Notation = TEXT
) -> str:
    """The left-hand side P(Y | do(X), Z) (P(Y) without treatments)."""
    sym = notation.symbol
    ys = ", ".join(sym(v) for v in outcomes)
    conditions = []
    if treatments:
        do = r"\mathrm{do}" if notation is not TEXT else "do"
        conditions.append(f"{do}({', '.join(sym(v) for v in treatments)})")
    conditions += [sym(v) for v in given]
    return f"P({ys}{notation.given}{', '.join(conditions)})" if conditions else f"P({ys})"
