"""`identify`: turn P(Y | do(X)) or P(Y | do(X), Z) into an estimand over observed quantities, or a hedge.

For one treatment and one outcome the readable adjustment formulas come first: a back-door set (smallest
minimal one, ties broken by name), then a front-door set (same rule). Everything else — sets of treatments
and outcomes, conditional queries, and single queries neither criterion covers (the napkin, Verma's graph, a
front door whose mediator shares a confounder with X) — goes to the ID / IDC algorithms
(:mod:`causalvlm.scm.id_algorithm`), which are complete: "not identifiable" then means no formula exists,
and the result carries the hedge that proves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import networkx as nx

from causalvlm.scm.admg import ADMG
from causalvlm.scm.criteria import (
    TooManyCandidates,
    check_query,
    is_frontdoor_set,
    smallest_backdoor_set,
    smallest_frontdoor_set,
)
from causalvlm.scm.estimand import (
    TEXT,
    Prob,
    Product,
    Sum,
    Term,
    latex_notation,
    product,
    query_text,
    render,
)
from causalvlm.scm.id_algorithm import Hedge, NotIdentifiable, id_algorithm, idc_algorithm

if TYPE_CHECKING:  # pragma: no cover  (type-only: graph.py calls into this module, never the reverse)
    from causalvlm.scm.graph import SCM, NodeNames

# Subsets tried in the search for the smallest back-door / front-door set grow as 2^k; above k candidates
# `identify` takes networkx's minimal d-separator (minimal, not always smallest) and the nodes on X → Y paths.
SEARCH_LIMIT = 10
Kind = Literal["backdoor", "frontdoor", "id", "not_identifiable"]


@dataclass(frozen=True)
class Identification:
    """The result of `identify`.

    Attributes:
        treatments, outcomes, given: the query P(outcomes | do(treatments), given), names in graph order.
        kind: ``"backdoor"``, ``"frontdoor"``, ``"id"`` (the ID / IDC algorithm) or ``"not_identifiable"``.
        adjustment_set: the back-door set Z or front-door set S used; ``None`` otherwise.
        estimand: the formula as plain text.
        latex: the same formula in LaTeX.
        expression: the right-hand side as an evaluable term (:mod:`causalvlm.scm.estimand`); ``None`` when
            not identifiable.
        hedge: the witness F, F' when not identifiable; ``None`` otherwise.
    """

    treatments: tuple[str, ...]
    outcomes: tuple[str, ...]
    kind: Kind
    adjustment_set: frozenset[str] | None
    estimand: str
    latex: str
    expression: Term | None = None
    hedge: Hedge | None = None
    given: tuple[str, ...] = ()

    @property
    def treatment(self) -> str:
        """The treatment's name (names joined by ", " for a set)."""
        return ", ".join(self.treatments)

    @property
    def outcome(self) -> str:
        """The outcome's name (names joined by ", " for a set)."""
        return ", ".join(self.outcomes)

    @property
    def identifiable(self) -> bool:
        return self.kind != "not_identifiable"

    @property
    def variables(self) -> frozenset[str]:
        """Every variable the estimand mentions, summed-over ones included (empty when not identifiable)."""
        return frozenset() if self.expression is None else self.expression.mentioned

    def __str__(self) -> str:
        chosen = "" if self.adjustment_set is None else f" with {{{', '.join(sorted(self.adjustment_set))}}}"
        return f"{self.kind}{chosen}: {self.estimand}"


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


def identify(scm: SCM, treatment: NodeNames, outcome: NodeNames, given: NodeNames = ()) -> Identification:
    """Identify P(outcome | do(treatment), given); each argument is a node name or a collection of names.

    One treatment and one outcome without ``given``: back-door, else front-door adjustment, else ID. With
    more than `SEARCH_LIMIT` candidate nodes the sets are not enumerated: networkx's minimal d-separator
    gives a back-door set, and the observed nodes on X → Y paths are tried as S. Anything else goes
    straight to ID (no ``given``) or IDC.
    """
    xs, ys, zs = check_id_query(scm, treatment, outcome, given)
    general = _general(scm, xs, ys, zs)
    # ID is complete: when it finds a hedge no back-door or front-door set exists, so none is searched for
    if general.identifiable and len(xs) == 1 and len(ys) == 1 and not zs:
        return _adjustment(scm, xs[0], ys[0]) or general
    return general


def _adjustment(scm: SCM, treatment: str, outcome: str) -> Identification | None:
    """The back-door or front-door identification of a single query, or None if neither applies."""
    x, y = check_query(scm, treatment, outcome)
    try:
        z = smallest_backdoor_set(scm, x, y, SEARCH_LIMIT)
    except TooManyCandidates:
        z = _large_graph_backdoor(scm, x, y)
    if z is not None:
        return backdoor_identification(scm, x, y, z)
    try:
        s = smallest_frontdoor_set(scm, x, y, SEARCH_LIMIT)
    except TooManyCandidates:
        s = _large_graph_frontdoor(scm, x, y)
    if s is not None:
        # Σ_s P(s | x) Σ_x' P(y | x', s) P(x'): the inner sum binds its own copy of X
        X, Y = frozenset({x}), frozenset({y})
        inner = Sum(X, Product((Prob(X), Prob(Y, X | s))))
        expression = Sum(s, Product((Prob(s, X), inner))) if s else Prob(Y)
        return Identification((x,), (y,), "frontdoor", s, *frontdoor_estimand(scm, x, y, s), expression)
    return None


def backdoor_identification(scm: SCM, x: str, y: str, z: frozenset[str]) -> Identification:
    """The back-door result for a set Z already known to satisfy the criterion: Σ_z P(y | x, z) P(z)."""
    X, Y = frozenset({x}), frozenset({y})
    expression = Sum(z, product([Prob(Y, X | z), Prob(z)])) if z else Prob(Y, X)
    return Identification((x,), (y,), "backdoor", z, *backdoor_estimand(scm, x, y, z), expression)


def _general(scm: SCM, xs: tuple[str, ...], ys: tuple[str, ...], zs: tuple[str, ...]) -> Identification:
    """ID (no ``given``) or IDC; a variable the estimand keeps but the query does not name is averaged out."""
    graph = ADMG.from_scm(scm)
    position = {v: i for i, v in enumerate(graph.order)}
    lhs = query_text(ys, xs, zs), query_text(ys, xs, zs, latex_notation(scm.latex_symbol))
    try:
        if zs:
            expression = idc_algorithm(graph, frozenset(ys), frozenset(xs), frozenset(zs))
        else:
            expression = id_algorithm(graph, frozenset(ys), frozenset(xs))
    except NotIdentifiable as failure:
        text = f"{lhs[0]} is not identifiable: hedge {failure.hedge}"
        forests = [
            ", ".join(scm.latex_symbol(v) for v in sorted(f))
            for f in (failure.hedge.forest, failure.hedge.sub_forest)
        ]
        latex = (
            rf"{lhs[1]}\ \text{{not identifiable: hedge }} F = \{{{forests[0]}\}},\ F' = \{{{forests[1]}\}}"
        )
        return Identification(xs, ys, "not_identifiable", None, text, latex, hedge=failure.hedge, given=zs)
    # ID line 3 can leave variables free that the value does not depend on (the napkin's R: P_x(y) =
    # P_{x,r}(y) for every r); averaging them with weights P(extra) gives the same number and an estimand
    # over the query variables only.
    extra = expression.free - set(xs) - set(ys) - set(zs)
    if extra:
        expression = Sum(extra, product([Prob(extra), expression]))
    order, query = position.__getitem__, (*xs, *ys, *zs)
    text = f"{lhs[0]} = {render(expression, TEXT, order, query)}"
    latex = f"{lhs[1]} = {render(expression, latex_notation(scm.latex_symbol), order, query)}"
    return Identification(xs, ys, "id", None, text, latex, expression, given=zs)


_ROLE = {"treatment": "a treatment", "outcome": "an outcome", "given": "a conditioning node (given)"}


def check_id_query(
    scm: SCM, treatment: NodeNames, outcome: NodeNames, given: NodeNames = ()
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Treatments, outcomes and conditions in graph order; each bad node is named on its own."""
    roles = {}
    for role, value, required in (
        ("treatment", treatment, True),
        ("outcome", outcome, True),
        ("given", given, False),
    ):
        names = [value] if isinstance(value, str) else list(value)
        if required and not names:
            raise ValueError(f"no {role} given; name at least one node")
        for node in names:
            scm.check_node(node, role)
            if node in scm.latents:
                raise ValueError(f"{role} {node!r} is latent; a causal query needs an observed {role}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{role} {repeated[0]!r} is named twice")
        roles[role] = set(names)
    for (a, first), (b, second) in (
        (("treatment", roles["treatment"]), ("outcome", roles["outcome"])),
        (("treatment", roles["treatment"]), ("given", roles["given"])),
        (("outcome", roles["outcome"]), ("given", roles["given"])),
    ):
        both = sorted(first & second)
        if both:
            raise ValueError(
                f"node {both[0]!r} is both {_ROLE[a]} and {_ROLE[b]}; the roles must be disjoint"
            )
    order = scm.topological_order()

    def ordered(role: str) -> tuple[str, ...]:
        return tuple(n for n in order if n in roles[role])

    return ordered("treatment"), ordered("outcome"), ordered("given")
