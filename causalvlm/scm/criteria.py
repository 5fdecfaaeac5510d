"""Graphical criteria on an `SCM`: d-separation, back-door paths and sets, front-door sets.

All criteria are computed on the full DAG, latent nodes included: dropping latents would hide exactly the
confounding paths (X ← U → Y) the criteria exist to detect. Adjustment and mediator sets, on the other
hand, must be observed — one cannot condition on a variable that is never measured.

Terms (Pearl, *Causality*, 2009, §3.3):
- a **back-door path** from X to Y is a path that starts with an edge *into* X;
- Z satisfies the **back-door criterion** for (X, Y) if (i) no node of Z descends from X and
  (ii) Z blocks every back-door path from X to Y;
- S satisfies the **front-door criterion** for (X, Y) if (1) S intercepts every directed path X → … → Y,
  (2) no back-door path from X to S is unblocked, and (3) X blocks every back-door path from S to Y.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:  # pragma: no cover  (type-only: graph.py calls into this module, never the reverse)
    from causalvlm.scm.graph import SCM, NodeNames

MAX_CANDIDATES = 16  # subset enumeration is 2^k; beyond this the caller should name the sets to test


class TooManyCandidates(ValueError):
    """Raised when enumerating adjustment sets would visit more than 2^MAX_CANDIDATES subsets."""


def check_query(scm: SCM, treatment: str, outcome: str) -> tuple[str, str]:
    """Validate a causal query: both nodes known, distinct and observed."""
    x = scm.check_node(treatment, "treatment")
    y = scm.check_node(outcome, "outcome")
    if x == y:
        raise ValueError(f"treatment and outcome are the same node {x!r}")
    for role, node in (("treatment", x), ("outcome", y)):
        if node in scm.latents:
            raise ValueError(f"{role} {node!r} is latent; a causal query needs an observed {role}")
    return x, y


def check_observed_set(scm: SCM, nodes: NodeNames, role: str, exclude: tuple[str, ...]) -> frozenset[str]:
    """Validate an adjustment or mediator set: known, observed, disjoint from treatment and outcome."""
    members = scm.check_nodes(nodes, role)
    for node in sorted(members):
        if node in scm.latents:
            raise ValueError(f"{role} contains latent node {node!r}; only observed nodes can be adjusted for")
        if node in exclude:
            raise ValueError(f"{role} contains {node!r}, which is the treatment or the outcome")
    return members


def d_separated(scm: SCM, x: NodeNames, y: NodeNames, z: NodeNames = ()) -> bool:
    """True if every path between X and Y is blocked by Z (X ⫫ Y | Z in the DAG with latents).

    Conditioning on a latent node is allowed here because d-separation is a fact about the graph; the
    adjustment-set functions below are the ones that refuse latents.
    """
    xs, ys = scm.check_nodes(x, "node"), scm.check_nodes(y, "node")
    zs = scm.check_nodes(z, "conditioning node")
    for a, b, what in ((xs, ys, "x and y"), (xs, zs, "x and z"), (ys, zs, "y and z")):
        if a & b:
            raise ValueError(f"{what} must be disjoint; both contain {sorted(a & b)[0]!r}")
    return nx.is_d_separator(scm.graph, set(xs), set(ys), set(zs))


def is_path_blocked(scm: SCM, path: tuple[str, ...], z: NodeNames = ()) -> bool:
    """True if conditioning on Z blocks ``path`` (a sequence of adjacent nodes).

    An interior node m blocks the path if it is a non-collider in Z, or a collider (→ m ←) that is not in
    Z and has no descendant in Z.
    """
    zs = scm.check_nodes(z, "conditioning node")
    graph = scm.graph
    for before, m, after in zip(path, path[1:], path[2:], strict=False):
        collider = graph.has_edge(before, m) and graph.has_edge(after, m)
        if collider and m not in zs and not (scm.descendants(m) & zs):
            return True
        if not collider and m in zs:
            return True
    return False


def backdoor_paths(scm: SCM, treatment: str, outcome: str) -> list[tuple[str, ...]]:
    """Every simple path between X and Y whose first edge points into X, shortest first."""
    x, y = scm.check_node(treatment, "treatment"), scm.check_node(outcome, "outcome")
    if x == y:
        raise ValueError(f"treatment and outcome are the same node {x!r}")
    skeleton = scm.graph.to_undirected(as_view=True)
    paths = [tuple(p) for p in nx.all_simple_paths(skeleton, x, y) if scm.graph.has_edge(p[1], x)]
    return sorted(paths, key=lambda p: (len(p), p))


def _without_out_edges(graph: nx.DiGraph, nodes: frozenset[str]) -> nx.DiGraph:
    """The graph with every edge leaving ``nodes`` removed, so only back-door paths from them remain."""
    cut = nx.DiGraph(graph)
    cut.remove_edges_from([(u, v) for u, v in graph.edges if u in nodes])
    return cut


def is_backdoor_set(scm: SCM, treatment: str, outcome: str, adjustment: NodeNames) -> bool:
    """Back-door criterion: (i) Z ∩ de(X) = ∅ and (ii) X ⫫ Y | Z in G with X's outgoing edges removed."""
    x, y = check_query(scm, treatment, outcome)
    z = check_observed_set(scm, adjustment, "adjustment set", (x, y))
    # (i) no element of Z is a descendant of X (it could be a mediator or a collider's child).
    if z & scm.descendants(x):
        return False
    # (ii) Z blocks every path that enters X from behind.
    return nx.is_d_separator(_without_out_edges(scm.graph, frozenset({x})), {x}, {y}, set(z))


def frontdoor_violations(scm: SCM, treatment: str, outcome: str, mediators: NodeNames) -> list[str]:
    """The front-door conditions that S fails for (X, Y), as sentences; empty when S is a front-door set."""
    x, y = check_query(scm, treatment, outcome)
    s = check_observed_set(scm, mediators, "mediator set", (x, y))
    failures: list[str] = []

    # (1) S intercepts every directed path from X to Y.
    without_s = scm.graph.subgraph(set(scm.graph) - s)
    if nx.has_path(without_s, x, y):
        path = " -> ".join(nx.shortest_path(without_s, x, y))
        failures.append(f"(1) the directed path {path} does not pass through the mediators {sorted(s)}")

    # (2) There is no unblocked back-door path from X to S.
    x_cut = _without_out_edges(scm.graph, frozenset({x}))
    for m in sorted(s):
        if not nx.is_d_separator(x_cut, {x}, {m}, set()):
            failures.append(f"(2) an unblocked back-door path runs from {x!r} to mediator {m!r}")

    # (3) All back-door paths from S to Y are blocked by X.
    s_cut = _without_out_edges(scm.graph, s)
    for m in sorted(s):
        if not nx.is_d_separator(s_cut, {m}, {y}, {x}):
            failures.append(f"(3) a back-door path from mediator {m!r} to {y!r} is not blocked by {x!r}")
    return failures


def is_frontdoor_set(scm: SCM, treatment: str, outcome: str, mediators: NodeNames) -> bool:
    """True if S satisfies the three front-door conditions (see `frontdoor_violations`)."""
    return not frontdoor_violations(scm, treatment, outcome, mediators)


def _enumerate(candidates: list[str], is_valid, minimal: bool, what: str) -> list[frozenset[str]]:
    """Valid subsets, by size then name; ``minimal`` keeps those with no valid proper subset."""
    if len(candidates) > MAX_CANDIDATES:
        raise TooManyCandidates(
            f"{len(candidates)} candidate nodes for {what} sets (limit {MAX_CANDIDATES}); "
            "test specific sets with is_backdoor_set / is_frontdoor_set instead"
        )
    found: list[frozenset[str]] = []
    for size in range(len(candidates) + 1):
        for combo in combinations(sorted(candidates), size):
            subset = frozenset(combo)
            # any valid proper subset contains a minimal one, and those were all found at smaller sizes
            if minimal and any(kept < subset for kept in found):
                continue
            if is_valid(subset):
                found.append(subset)
    return found


def _first(candidates: list[str], is_valid, what: str, limit: int) -> frozenset[str] | None:
    """The first valid subset by size, then name — the one `_enumerate` would list first — or None."""
    if len(candidates) > limit:
        raise TooManyCandidates(f"{len(candidates)} candidate nodes for {what} sets (limit {limit})")
    for size in range(len(candidates) + 1):
        for combo in combinations(sorted(candidates), size):
            if is_valid(frozenset(combo)):
                return frozenset(combo)
    return None


def smallest_backdoor_set(
    scm: SCM, treatment: str, outcome: str, limit: int = MAX_CANDIDATES
) -> frozenset[str] | None:
    """The smallest back-door set (ties by name), or None; no subsets are tried when none exists.

    If any back-door set exists, the observed non-descendants of X among the ancestors of X and Y form one,
    and every minimal one lies inside that set (Tian, Paz & Pearl 1998, for d-separators in the graph with
    X's outgoing edges removed), so one test settles existence and only its subsets are searched. More than
    ``limit`` such candidates raise `TooManyCandidates`.
    """
    x, y = check_query(scm, treatment, outcome)
    ancestral = (scm.observed - {x, y} - scm.descendants(x)) & (scm.ancestors(x) | scm.ancestors(y))
    cut = _without_out_edges(scm.graph, frozenset({x}))  # (i) holds: no candidate descends from X

    def blocks(z: frozenset[str]) -> bool:  # (ii)
        return nx.is_d_separator(cut, {x}, {y}, set(z))

    if not blocks(ancestral):
        return None
    # the smallest set is minimal, and minimal d-separators lie among the ancestors of X and Y
    return _first(sorted(ancestral), blocks, "back-door", limit)


def smallest_frontdoor_set(
    scm: SCM, treatment: str, outcome: str, limit: int = MAX_CANDIDATES
) -> frozenset[str] | None:
    """The smallest front-door set (ties by name), or None; no subsets are tried when even all candidates
    together fail condition (1)."""
    x, y = check_query(scm, treatment, outcome)
    x_cut = _without_out_edges(scm.graph, frozenset({x}))
    candidates = sorted(m for m in scm.observed - {x, y} if nx.is_d_separator(x_cut, {x}, {m}, set()))
    # (1) is monotone: if all candidates together leave a directed X → Y path open, no subset closes it
    if nx.has_path(scm.graph.subgraph(set(scm.graph) - set(candidates)), x, y):
        return None
    return _first(candidates, lambda s: is_frontdoor_set(scm, x, y, s), "front-door", limit)


def backdoor_sets(scm: SCM, treatment: str, outcome: str, minimal: bool = False) -> list[frozenset[str]]:
    """All observed sets satisfying the back-door criterion (or only the minimal ones)."""
    x, y = check_query(scm, treatment, outcome)
    candidates = sorted(scm.observed - {x, y} - scm.descendants(x))
    return _enumerate(candidates, lambda z: is_backdoor_set(scm, x, y, z), minimal, "back-door")


def frontdoor_sets(scm: SCM, treatment: str, outcome: str, minimal: bool = False) -> list[frozenset[str]]:
    """All observed sets satisfying the front-door criterion (or only the minimal ones).

    The empty set qualifies exactly when X has no directed path to Y (then P(y | do(x)) = P(y)).
    """
    x, y = check_query(scm, treatment, outcome)
    x_cut = _without_out_edges(scm.graph, frozenset({x}))
    # Condition (2) holds for a set iff it holds for each member, so members failing it alone are pruned.
    candidates = sorted(m for m in scm.observed - {x, y} if nx.is_d_separator(x_cut, {x}, {m}, set()))
    return _enumerate(candidates, lambda s: is_frontdoor_set(scm, x, y, s), minimal, "front-door")
