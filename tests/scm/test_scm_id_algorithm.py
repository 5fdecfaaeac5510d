"""The ID / IDC algorithms against ground truth: every identified estimand, evaluated on the exact observed
joint of a random discrete SCM, equals the exact interventional distribution (truncated factorisation), and
every "not identifiable" carries a hedge that satisfies the definition."""

from __future__ import annotations

import numpy as np
import pytest

from causalvlm.scm import SCM, DiscreteSCM, identify
from causalvlm.scm.admg import ADMG
from causalvlm.scm.estimand import Prob, Quotient, Sum, Term
from causalvlm.scm.evaluation import JointTable, query_array
from causalvlm.scm.id_algorithm import Hedge, hedge_violations
from causalvlm.scm.random_graph import random_queries, random_scm

TEXTBOOK = {
    "napkin": SCM.from_edges(
        [("W", "R"), ("R", "X"), ("X", "Y"), ("U1", "W"), ("U1", "X"), ("U2", "W"), ("U2", "Y")],
        latents=["U1", "U2"],
    ),
    # Verma's graph: X -> A -> B -> Y with X <-> B and A <-> Y
    "verma": SCM.from_edges(
        [("X", "A"), ("A", "B"), ("B", "Y"), ("U1", "X"), ("U1", "B"), ("U2", "A"), ("U2", "Y")],
        latents=["U1", "U2"],
    ),
    "bow": SCM.from_edges([("X", "Y"), ("U", "X"), ("U", "Y")], latents=["U"]),
    "m_graph": SCM.from_edges([("A", "M"), ("B", "M"), ("A", "X"), ("B", "Y"), ("X", "Y")]),
    # front door whose observed covariate C confounds X, M and Y, plus a latent X <-> Y
    "frontdoor_covariate": SCM.from_edges(
        [("C", "X"), ("C", "M"), ("C", "Y"), ("X", "M"), ("M", "Y"), ("U", "X"), ("U", "Y")], latents=["U"]
    ),
    # a latent with a parent of its own: W -> U -> {X, Y}
    "latent_with_parent": SCM.from_edges(
        [("W", "U"), ("U", "X"), ("U", "Y"), ("X", "M"), ("M", "Y"), ("W", "Z")], latents=["U"]
    ),
}
IDENTIFIABLE = {  # graph → (treatments, outcomes, given, expected kind)
    "napkin": ("X", "Y", (), "id"),
    "verma": ("X", "Y", (), "id"),
    "m_graph": ("X", "Y", (), "backdoor"),
    "frontdoor_covariate": ("X", "Y", (), "id"),
    "latent_with_parent": ("X", "Y", (), "frontdoor"),
}


def exact_check(scm: SCM, treatments, outcomes, given=(), seed: int = 0):
    """Identify, then compare the estimand on the exact joint with the exact do(); returns the result."""
    result = identify(scm, treatments, outcomes, given)
    if not result.identifiable:
        assert result.hedge is not None
        assert hedge_violations(ADMG.from_scm(scm), result.hedge) == []
        return result
    model = DiscreteSCM.random(scm, 2, seed=seed)
    observed = [v for v in scm.topological_order() if v not in scm.latents]
    table = JointTable(observed, model.marginal(observed))
    query = set(result.treatments) | set(result.outcomes) | set(result.given)
    assert result.expression.free <= query, f"unsummed non-query variables in {result.estimand}"
    assert not redundant_sums(result.expression), f"redundant sums in {result.estimand}"
    estimate = query_array(result.expression, table, [*result.treatments, *result.given, *result.outcomes])
    truth = model.do(list(result.outcomes), list(result.treatments), list(result.given))
    np.testing.assert_allclose(estimate, truth, atol=1e-9, rtol=0)
    return result


def redundant_sums(term: Term) -> list[str]:
    """Summed variables the simplifier should have removed: unused ones, and ones only a single P(A | B)
    uses in its head (Σ_a P(a, b | c) = P(b | c)) or only one inner sum uses."""
    found = []
    if isinstance(term, Sum):
        for w in term.over:
            users = [f for f in term.body.factors() if w in f.free]
            if not users or (len(users) == 1 and isinstance(users[0], Prob) and w in users[0].head):
                found.append(w)
            elif len(users) == 1 and isinstance(users[0], Sum):
                found.append(w)
        return found + redundant_sums(term.body)
    if isinstance(term, Quotient):
        return redundant_sums(term.numerator) + redundant_sums(term.denominator)
    if isinstance(term, Prob):
        return []
    return [w for f in term.factors() for w in redundant_sums(f)]


def test_the_redundancy_check_can_fail():
    assert redundant_sums(Sum({"A"}, Prob({"A", "B"}))) == ["A"]
    assert redundant_sums(Sum({"A"}, Prob({"B"}))) == ["A"]
    assert redundant_sums(Sum({"A"}, Prob({"B"}, {"A"}))) == []


@pytest.mark.parametrize("name", sorted(IDENTIFIABLE))
def test_textbook_graphs_are_identified_exactly(name):
    x, y, z, kind = IDENTIFIABLE[name]
    result = exact_check(TEXTBOOK[name], x, y, z)
    assert result.kind == kind, result.estimand


def test_the_napkin_estimand_reads_like_the_textbook():
    result = identify(TEXTBOOK["napkin"], "X", "Y")
    assert result.estimand == (
        "P(Y | do(X)) = sum_{R} P(R) [[sum_{W} P(W) P(X, Y | W, R)] / [sum_{W} P(W) P(X | W, R)]]"
    )
    assert r"\frac{\sum_{W} P(W)\, P(X, Y \mid W, R)}" in result.latex
    assert result.variables == {"W", "R", "X", "Y"}


def test_the_bow_is_not_identifiable_and_its_hedge_is_the_bow():
    result = identify(TEXTBOOK["bow"], ["X"], ["Y"])
    assert not result.identifiable and result.expression is None
    assert result.hedge == Hedge(frozenset("XY"), frozenset("Y"), frozenset("X"), frozenset("Y"))
    assert "hedge F = {X, Y}, F' = {Y}" in result.estimand


def test_a_hedge_that_is_not_one_is_caught():
    """The hedge check can fail: F' must be a proper subset of F, F must contain a treatment, ..."""
    graph = ADMG.from_scm(TEXTBOOK["bow"])
    assert hedge_violations(graph, Hedge(frozenset("Y"), frozenset("Y"), frozenset("X"), frozenset("Y")))
    assert hedge_violations(graph, Hedge(frozenset("XY"), frozenset("X"), frozenset("X"), frozenset("Y")))
    m = ADMG.from_scm(TEXTBOOK["m_graph"])  # no bidirected edges: {X, Y} is not one c-component
    assert hedge_violations(m, Hedge(frozenset("XY"), frozenset("Y"), frozenset("X"), frozenset("Y")))


def test_front_door_with_a_shadowed_treatment_prints_a_prime():
    result = identify(TEXTBOOK["latent_with_parent"], "X", "Y")
    assert result.estimand == "P(Y | do(X)) = sum_{M} P(M | X) sum_{X'} P(Y | X', M) P(X')"


def test_set_and_conditional_queries_on_textbook_graphs():
    verma = TEXTBOOK["verma"]
    exact_check(verma, ["X", "A"], ["B", "Y"])
    exact_check(verma, "X", "Y", given="A")
    exact_check(TEXTBOOK["frontdoor_covariate"], "X", "Y", given="C")
    exact_check(TEXTBOOK["napkin"], ["X", "R"], ["Y", "W"])
    exact_check(TEXTBOOK["napkin"], "R", ["Y", "W"])


def test_treatment_lists_no_longer_fail_and_unknown_nodes_are_named_one_by_one():
    scm = TEXTBOOK["verma"]
    assert identify(scm, ["X", "A"], "Y").treatments == ("X", "A")
    with pytest.raises(ValueError, match="unknown treatment 'Q'"):
        identify(scm, ["X", "Q"], "Y")
    with pytest.raises(ValueError, match="unknown given 'Q2'"):
        identify(scm, "X", "Y", given=["A", "Q2"])
    with pytest.raises(ValueError, match=r"node 'A' is both a treatment and a conditioning node \(given\)"):
        identify(scm, ["X", "A"], "Y", given="A")
    with pytest.raises(ValueError, match="outcome 'U2' is latent"):
        identify(scm, "X", ["Y", "U2"])
    with pytest.raises(ValueError, match="treatment 'X' is named twice"):
        identify(scm, ["X", "X"], "Y")


def query_stream(seed: int, graphs: int):
    """Single, set-valued and conditional queries on random graphs with 4–8 observed nodes."""
    rng = np.random.default_rng(seed)
    for _ in range(graphs):
        scm = random_scm(int(rng.integers(4, 9)), rng)
        for kind, (xs, ys, zs) in random_queries(scm, rng).items():
            yield scm, kind, xs, ys, zs


@pytest.mark.parametrize("seed", range(4))
def test_random_queries_are_exact_or_hedged(seed):
    kinds = set()
    for index, (scm, kind, xs, ys, zs) in enumerate(query_stream(seed, 12)):
        result = exact_check(scm, xs, ys, zs, seed=index)
        kinds.add((kind, result.identifiable))
    assert ("conditional", True) in kinds and ("set", True) in kinds


@pytest.mark.slow
def test_random_sweep_is_exact_or_hedged():
    for index, (scm, _kind, xs, ys, zs) in enumerate(query_stream(100, 400)):
        exact_check(scm, xs, ys, zs, seed=index)


def test_smallest_sets_agree_with_full_enumeration():
    """The early-stopping searches `identify` uses return the set the full enumeration would pick."""
    from causalvlm.scm.criteria import (
        backdoor_sets,
        frontdoor_sets,
        smallest_backdoor_set,
        smallest_frontdoor_set,
    )

    rng = np.random.default_rng(7)
    for _ in range(60):
        scm = random_scm(int(rng.integers(4, 8)), rng)
        x, y = (str(v) for v in rng.choice(sorted(scm.observed), 2, replace=False))
        for smallest, every in (
            (smallest_backdoor_set, backdoor_sets),
            (smallest_frontdoor_set, frontdoor_sets),
        ):
            listed = every(scm, x, y, minimal=True)
            expected = min(listed, key=lambda s: (len(s), sorted(s)), default=None)
            assert smallest(scm, x, y) == expected
