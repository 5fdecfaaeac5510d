"""`identify`: which adjustment turns P(Y | do(X)) into observational quantities, with the estimand.

Order of preference: a back-door set (smallest minimal one, ties broken by name), then a front-door set
(same rule); otherwise the effect is reported as not identifiable *by these two criteria* — the full
do-calculus may still identify some such graphs (e.g. the napkin graph), which this module does not try.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import networkx as nx

from causalvlm.scm.criteria import (
    TooManyCandidates,
    backdoor_sets,
    check_query,
    frontdoor_sets,
    is_frontdoor_set,
)

if TYPE_CHECKING:  # pragma: no cover  (type-only: graph.py calls into this module, never the reverse)
    from causalvlm.scm.graph import SCM

Kind = Literal["backdoor", "frontdoor", "not_identifiable"]


@dataclass(frozen=True)
class Identification:
    """The result of `identify`.

    Attributes:
        treatment, outcome: the query P(outcome | do(treatment)).
        kind: ``"backdoor"``, ``"frontdoor"`` or ``"not_identifiable"``.
        adjustment_set: the back-door set Z or front-door set S used; ``None`` when not identifiable.
        estimand: the formula as plain text.
        latex: the same formula in LaTeX.
    """

    treatment: str
    outcome: str
    kind: Kind
    adjustment_set: frozenset[str] | None
    estimand: str
    latex: str

    @property
    def identifiable(self) -> bool:
        return self.kind != "not_identifiable"

    def __str__(self) -> str:
        chosen = "" if self.adjustment_set is None else f" with {{{', '.join(sorted(self.adjustment_set))}}}"
        return f"{self.kind}{chosen}: {self.estimand}"


def _pick(sets: list[frozenset[str]]) -> frozenset[str] | None:
    return min(sets, key=lambda s: (len(s), sorted(s)), default=None)


def backdoor_estimand(scm: SCM, x: str, y: str, z: frozenset[str]) -> tuple[str, str]:
    """P(y | do(x)) = Σ_z P(y | x, z) P(z)  (back-door adjustment; P(y | x) when Z = ∅)."""
    lhs_t, lhs_l = f"P({y} | do({x}))", rf"P({scm.latex_symbol(y)} \mid \mathrm{{do}}({scm.latex_symbol(x)}))"
    if not z:
        return f"{lhs_t} = P({y} | {x})", rf"{lhs_l} = P({scm.latex_symbol(y)} \mid {scm.latex_symbol(x)})"
    zt = ", ".join(sorted(z))
    zl = ", ".join(scm.latex_symbol(n) for n in sorted(z))
    text = f"{lhs_t} = sum_{{{zt}}} P({y} | {x}, {zt}) P({zt})"
    latex = rf"{lhs_l} = \sum_{{{zl}}} P({scm.latex_symbol(y)} \mid {scm.latex_symbol(x)}, {zl})\, P({zl})"
    return text, latex


def frontdoor_estimand(scm: SCM, x: str, y: str, s: frozenset[str]) -> tuple[str, str]:
    """P(y | do(x)) = Σ_s P(s | x) Σ_x' P(y | x', s) P(x')  (front-door adjustment; P(y) when S = ∅)."""
    xl, yl = scm.latex_symbol(x), scm.latex_symbol(y)
    lhs_t, lhs_l = f"P({y} | do({x}))", rf"P({yl} \mid \mathrm{{do}}({xl}))"
    if not s:
        return f"{lhs_t} = P({y})  (no directed path from {x} to {y})", rf"{lhs_l} = P({yl})"
    st = ", ".join(sorted(s))
    sl = ", ".join(scm.latex_symbol(n) for n in sorted(s))
    text = f"{lhs_t} = sum_{{{st}}} P({st} | {x}) sum_{{{x}'}} P({y} | {x}', {st}) P({x}')"
    latex = rf"{lhs_l} = \sum_{{{sl}}} P({sl} \mid {xl}) \sum_{{{xl}'}} P({yl} \mid {xl}', {sl})\, P({xl}')"
    return text, latex


def _large_graph_backdoor(scm: SCM, x: str, y: str) -> frozenset[str] | None:
    """A minimal back-door set found by networkx when there are too many candidates to enumerate."""
    cut = nx.DiGraph(scm.graph)
    cut.remove_edges_from(list(scm.graph.out_edges(x)))
    allowed = set(scm.observed - scm.descendants(x) - {x, y})
    found = nx.find_minimal_d_separator(cut, {x}, {y}, restricted=allowed)
    return None if found is None else frozenset(found)


def _large_graph_frontdoor(scm: SCM, x: str, y: str) -> frozenset[str] | None:
    """The observed nodes on directed X → Y paths, if they form a front-door set (no enumeration)."""
    on_paths = frozenset((scm.descendants(x) & scm.ancestors(y)) & scm.observed)
    return on_paths if is_frontdoor_set(scm, x, y, on_paths) else None


def identify(scm: SCM, treatment: str, outcome: str) -> Identification:
    """Identify P(outcome | do(treatment)) by back-door, else front-door adjustment.

    On graphs with more than `MAX_CANDIDATES` candidate nodes the sets are not enumerated: networkx's
    minimal d-separator gives a back-door set, and the observed nodes on X → Y paths are tried as S.
    """
    x, y = check_query(scm, treatment, outcome)
    try:
        z = _pick(backdoor_sets(scm, x, y, minimal=True))
    except TooManyCandidates:
        z = _large_graph_backdoor(scm, x, y)
    if z is not None:
        return Identification(x, y, "backdoor", z, *backdoor_estimand(scm, x, y, z))
    try:
        s = _pick(frontdoor_sets(scm, x, y, minimal=True))
    except TooManyCandidates:
        s = _large_graph_frontdoor(scm, x, y)
    if s is not None:
        return Identification(x, y, "frontdoor", s, *frontdoor_estimand(scm, x, y, s))
    text = f"P({y} | do({x})) is not identifiable by back-door or front-door adjustment"
    latex = rf"P({scm.latex_symbol(y)} \mid \mathrm{{do}}({scm.latex_symbol(x)}))\ \text{{not identified}}"
    return Identification(x, y, "not_identifiable", None, text, latex)
