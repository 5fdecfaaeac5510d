"""The ID and IDC algorithms: P(Y | do(X)) and P(Y | do(X), Z) as estimands, or a hedge when impossible.

ID (Shpitser & Pearl 2006, "Identification of joint interventional distributions in recursive
semi-Markovian causal models", Fig. 3), on the latent projection G of the SCM, with π its topological order
and P the current distribution over G's nodes (P(V) at the top)::

    ID(y, x, P, G)
    1  if x = ∅:                        return Σ_{v \\ y} P(v)
    2  if V ≠ An(Y)_G:                  return ID(y, x ∩ An(Y), Σ_{V \\ An(Y)} P, G[An(Y)])
    3  W = (V \\ X) \\ An(Y)_{G_{\\bar X}};  if W ≠ ∅: return ID(y, x ∪ w, P, G)
    4  if C(G \\ X) = {S_1, …, S_k}, k>1: return Σ_{v \\ (y ∪ x)} Π_i ID(s_i, v \\ s_i, P, G)
       else C(G \\ X) = {S}:
    5    if C(G) = {G}:                 FAIL — G and S form a hedge
    6    if S ∈ C(G):                   return Σ_{s \\ y} Π_{V_i ∈ S} P(v_i | v_π^(i-1))
    7    if S ⊂ S' ∈ C(G):              return ID(y, x ∩ S', P', G[S']) with
                P' = Π_{V_i ∈ S'} P(V_i | V_π^(i-1) ∩ S', v_π^(i-1) \\ S')

C(G) are the c-components (Tian & Pearl 2002). IDC (Shpitser & Pearl 2006, "Identification of conditional
interventional distributions", Fig. 4)::

    IDC(y, x, z, P, G)
    1  if ∃ Z ∈ z with (Y ⫫ Z | X, z \\ {Z}) in G_{\\bar X, \\underline Z}:
           return IDC(y, x ∪ {Z}, z \\ {Z}, P, G)
    2  P' = ID(y ∪ z, x, P, G);  return P' / Σ_y P'

Both are complete: when they fail, no formula exists (the hedge is the witness).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from causalvlm.scm.admg import ADMG
from causalvlm.scm.estimand import Prob, Quotient, Term, product
from causalvlm.scm.simplify import divide, simplify, sum_out


@dataclass(frozen=True)
class Hedge:
    """The witness of non-identifiability: two C-forests F' ⊂ F with the same roots R ⊆ An(Y), F ∩ X ≠ ∅ and
    F' ∩ X = ∅ (Shpitser & Pearl 2006, Def. 5). Two models that agree on P(V) but differ on P(y | do(x))
    can be built on it."""

    forest: frozenset[str]  # F
    sub_forest: frozenset[str]  # F'
    treatments: frozenset[str] = frozenset()  # the query P(outcomes | do(treatments)) it refutes
    outcomes: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"F = {{{', '.join(sorted(self.forest))}}}, F' = {{{', '.join(sorted(self.sub_forest))}}}"


class NotIdentifiable(ValueError):
    """Raised inside ID at line 5; carries the hedge."""

    def __init__(self, hedge: Hedge) -> None:
        super().__init__(f"not identifiable: hedge {hedge}")
        self.hedge = hedge


def id_algorithm(graph: ADMG, outcomes: frozenset[str], treatments: frozenset[str]) -> Term:
    """P(y | do(x)) as a simplified estimand over the observed distribution, or raise `NotIdentifiable`."""
    return simplify(_identify_or_hedge(graph, outcomes, treatments), merge=True)


def _identify_or_hedge(graph: ADMG, outcomes: frozenset[str], treatments: frozenset[str]) -> Term:
    """ID from the top, with the query recorded on the hedge if it fails."""
    try:
        return _identify(outcomes, treatments, Prob(graph.nodes), graph)
    except NotIdentifiable as failure:
        hedge = Hedge(failure.hedge.forest, failure.hedge.sub_forest, treatments, outcomes)
        raise NotIdentifiable(hedge) from None


def idc_algorithm(
    graph: ADMG, outcomes: frozenset[str], treatments: frozenset[str], given: frozenset[str]
) -> Term:
    """P(y | do(x), z): IDC's line 1 moves each removable Z into the treatments, then line 2 divides."""
    moved = True
    while moved:
        moved = False
        for z in sorted(given):
            rest = given - {z}
            if _rule2_applies(graph, outcomes, treatments, z, rest):
                treatments, given = treatments | {z}, rest
                moved = True
                break
    both = _identify_or_hedge(graph, outcomes | given, treatments)
    if not given:
        return simplify(both, merge=True)
    ratio = Quotient(both, sum_out(frozenset(outcomes), both))
    return simplify(ratio, merge=True)


def _rule2_applies(graph: ADMG, y: frozenset[str], x: frozenset[str], z: str, rest: frozenset[str]) -> bool:
    """(Y ⫫ Z | X, rest) in G_{\\bar X, \\underline Z}: rule 2 of the do-calculus swaps do(z) and seeing z."""
    dag = graph.without_incoming(x).as_dag()
    dag.remove_edges_from([(z, child) for child in list(dag.successors(z)) if isinstance(child, str)])
    return nx.is_d_separator(dag, set(y), {z}, set(x | rest))


def _conditional(distribution: Term, graph: ADMG, node: str, before: frozenset[str]) -> Term:
    """P(v_i | v_π^(i-1)) of the current distribution: Σ_{later} P / Σ_{v_i, later} P.

    While P is still the observed marginal P(V) of an ancestral set V (lines 1–6 never leave one), the
    ordered local Markov property of ADMGs (Richardson 2003) shortens the condition to v_i's Markov pillow:
    P(v_i | v_π^(i-1)) = P(v_i | mp(v_i)), mp = (D ∪ pa(D)) \\ {v_i} for D the district of v_i in
    G[v_π^(i-1) ∪ {v_i}].
    """
    if isinstance(distribution, Prob) and not distribution.given and distribution.head == graph.nodes:
        upto = graph.subgraph(before | {node})
        (district,) = [d for d in upto.c_components() if node in d]
        parents = frozenset().union(*(upto.parents(v) for v in district))
        return Prob(frozenset({node}), (district | parents) - {node})
    later = graph.nodes - before - {node}
    numerator = sum_out(later, distribution)
    denominator = sum_out(later | {node}, distribution)
    return divide(numerator, denominator)


def _identify(y: frozenset[str], x: frozenset[str], P: Term, G: ADMG) -> Term:
    V = G.nodes
    # line 1
    if not x:
        return sum_out(V - y, P)
    # line 2
    ancestors = G.ancestors(y)
    if ancestors != V:
        return _identify(y, x & ancestors, sum_out(V - ancestors, P), G.subgraph(ancestors))
    # line 3
    W = (V - x) - G.without_incoming(x).ancestors(y)
    if W:
        return _identify(y, x | W, P, G)
    # line 4
    districts = G.subgraph(V - x).c_components()
    if len(districts) > 1:
        factors = [_identify(s, V - s, P, G) for s in districts]
        return sum_out(V - (y | x), product(factors))
    (S,) = districts
    components = G.c_components()
    # line 5
    if components == [V]:
        raise NotIdentifiable(Hedge(V, S))
    # line 6
    position = {v: i for i, v in enumerate(G.order)}
    if S in components:
        factors = [_conditional(P, G, v, frozenset(G.order[: position[v]])) for v in G.order if v in S]
        return sum_out(S - y, product(factors))
    # line 7
    (bigger,) = [c for c in components if S < c]
    factors = [_conditional(P, G, v, frozenset(G.order[: position[v]])) for v in G.order if v in bigger]
    return _identify(y, x & bigger, product(factors), G.subgraph(bigger))


def hedge_violations(graph: ADMG, hedge: Hedge) -> list[str]:
    """The conditions of a hedge (Shpitser & Pearl 2006, Def. 5) that ``hedge`` fails; empty when it is one.

    A set F is an R-rooted C-forest when it is one c-component and its directed edges contain a forest whose
    roots (nodes without a child in the forest) are R: every node of F has a directed path inside F to R,
    and every node without children inside F is in R. The roots R are those of F' (its childless nodes).
    (1) F' ⊊ F, F ∩ X ≠ ∅, F' ∩ X = ∅; (2) F and F' are single c-components; (3) both are R-rooted;
    (4) R ⊆ An(Y) in G_{\\bar X}.
    """
    F, F_prime, X, Y = hedge.forest, hedge.sub_forest, hedge.treatments, hedge.outcomes
    failures = []
    # (1)
    if not F_prime < F:
        failures.append(f"(1) F' = {sorted(F_prime)} is not a proper subset of F = {sorted(F)}")
    if not F & X or F_prime & X:
        failures.append(f"(1) F must meet X = {sorted(X)} and F' must not")
    R = F_prime - {a for a, _ in graph.subgraph(F_prime).directed}
    for name, forest in (("F", F), ("F'", F_prime)):
        inside = graph.subgraph(forest)
        # (2)
        if len(inside.c_components()) != 1:
            failures.append(f"(2) {name} is not a single c-component")
        # (3)
        childless = forest - {a for a, _ in inside.directed}
        if inside.ancestors(R & forest) != forest or not childless <= R:
            failures.append(f"(3) {name} is not a C-forest rooted at {sorted(R)}")
    # (4)
    if not R <= graph.without_incoming(X).ancestors(Y):
        failures.append(f"(4) the roots {sorted(R)} are not all ancestors of Y in G without edges into X")
    return failures
