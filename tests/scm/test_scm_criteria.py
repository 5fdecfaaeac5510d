"""Criteria on every shipped graph against answers derived by hand, plus d-separation facts."""

from __future__ import annotations

import pytest

from causalvlm.scm import SCM, is_path_blocked, load_graph
from causalvlm.scm.criteria import MAX_CANDIDATES

F = frozenset

# graph: (treatment, outcome, minimal back-door sets, all front-door sets, identify kind, chosen set)
# Derivations: cdc_pretraining — X and Y share the latent causes G_r, G_i and X has no directed path to Y,
# so only the empty front-door set works (D is pruned: X <- G_r <- D is an open back-door path to it).
# shapeworld — the same with G_r, G_i split into the world's latent factors.
# backdoor_example — Z3 is a confounder and a collider of Z1, Z2, so {Z3} alone opens X<-Z1->Z3<-Z2->Y.
EXPECTED = {
    "cdc_pretraining": ("X", "Y", [], [F()], "frontdoor", F()),
    "cdc_adaptation": ("X", "Y", [], [], "not_identifiable", None),
    "cdc_frontdoor": ("X", "Y", [], [F({"S"})], "frontdoor", F({"S"})),
    "smoking_tar_cancer": ("Smoking", "Cancer", [], [F({"Tar"})], "frontdoor", F({"Tar"})),
    "backdoor_example": ("X", "Y", [F({"Z1", "Z3"}), F({"Z2", "Z3"})], [], "backdoor", F({"Z1", "Z3"})),
    "bow": ("X", "Y", [], [], "not_identifiable", None),
    "shapeworld": ("X", "Y", [], [F()], "frontdoor", F()),  # as cdc_pretraining: D reaches X via shape
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_graph_criteria(name):
    x, y, backdoor_minimal, frontdoor_all, kind, chosen = EXPECTED[name]
    scm = load_graph(name)
    assert scm.backdoor_sets(x, y, minimal=True) == backdoor_minimal
    assert scm.frontdoor_sets(x, y) == frontdoor_all
    for s in frontdoor_all:
        assert scm.is_frontdoor_set(x, y, s)
    result = scm.identify(x, y)
    assert (result.kind, result.adjustment_set) == (kind, chosen)
    assert result.identifiable == (kind != "not_identifiable")


def test_backdoor_example_all_sets_and_failures():
    scm = load_graph("backdoor_example")
    assert scm.backdoor_sets("X", "Y") == [F({"Z1", "Z3"}), F({"Z2", "Z3"}), F({"Z1", "Z2", "Z3"})]
    assert not scm.is_backdoor_set("X", "Y", ["Z3"])  # opens the collider path
    assert not scm.is_backdoor_set("X", "Y", [])
    assert not scm.is_backdoor_set("X", "Y", ["Z1", "Z2"])  # leaves X <- Z3 -> Y open


def test_descendant_of_treatment_is_never_a_backdoor_set():
    scm = SCM.from_edges([("Z", "X"), ("Z", "Y"), ("X", "M"), ("M", "Y")])
    assert scm.is_backdoor_set("X", "Y", ["Z"])
    assert not scm.is_backdoor_set("X", "Y", ["Z", "M"])


def test_backdoor_paths_are_listed_shortest_first():
    scm = load_graph("backdoor_example")
    assert scm.backdoor_paths("X", "Y") == [
        ("X", "Z3", "Y"),
        ("X", "Z1", "Z3", "Y"),
        ("X", "Z3", "Z2", "Y"),
        ("X", "Z1", "Z3", "Z2", "Y"),
    ]
    assert load_graph("smoking_tar_cancer").backdoor_paths("Smoking", "Cancer") == [
        ("Smoking", "Genotype", "Cancer")
    ]
    assert load_graph("cdc_frontdoor").backdoor_paths("S", "Y") == [("S", "X", "G_i_hat", "Y")]


def test_path_blocking_follows_collider_rules():
    scm = load_graph("backdoor_example")
    path = ("X", "Z1", "Z3", "Z2", "Y")
    assert is_path_blocked(scm, path)  # Z3 is an unconditioned collider
    assert not is_path_blocked(scm, path, ["Z3"])  # conditioning on it opens the path
    assert is_path_blocked(scm, path, ["Z3", "Z1"])  # a conditioned non-collider closes it again


@pytest.mark.parametrize(
    ("graph", "x", "y", "z", "separated"),
    [
        ("smoking_tar_cancer", "Tar", "Genotype", ["Smoking"], True),
        ("smoking_tar_cancer", "Smoking", "Cancer", ["Tar"], False),  # latent path stays open
        ("backdoor_example", "Z1", "Z2", [], True),
        ("backdoor_example", "Z1", "Z2", ["Z3"], False),  # collider
        ("backdoor_example", "Z1", "Z2", ["X"], False),  # descendant of a collider
        ("cdc_pretraining", "X", "Y", ["G_r", "G_i"], True),
        ("cdc_pretraining", "D", "Y", ["G_r", "G_i"], True),
        ("cdc_pretraining", "X", "Y", ["D"], False),
        ("cdc_frontdoor", "S", "G_i_hat", ["X"], True),
    ],
)
def test_d_separation_facts(graph, x, y, z, separated):
    assert load_graph(graph).d_separated(x, y, z) is separated


def test_d_separation_sees_latent_paths():
    scm = load_graph("cdc_frontdoor")
    observed_only = SCM(scm.graph.subgraph(scm.observed))
    assert observed_only.d_separated("X", "Y", ["S"])  # what dropping latents would wrongly conclude
    assert not scm.d_separated("X", "Y", ["S"])


def _violations(edges, latents, mediators):
    return SCM.from_edges(edges, latents=latents).frontdoor_violations("X", "Y", mediators)


def test_each_frontdoor_condition_fails_on_its_own_graph():
    direct = _violations([("X", "S"), ("S", "Y"), ("X", "Y"), ("U", "X"), ("U", "Y")], ["U"], ["S"])
    assert [v[:3] for v in direct] == ["(1)"] and "X -> Y" in direct[0]
    confounded_xs = _violations([("X", "S"), ("S", "Y"), ("U", "X"), ("U", "S")], ["U"], ["S"])
    assert [v[:3] for v in confounded_xs] == ["(2)"]
    confounded_sy = _violations([("X", "S"), ("S", "Y"), ("U", "S"), ("U", "Y")], ["U"], ["S"])
    assert [v[:3] for v in confounded_sy] == ["(3)"]
    assert _violations([("X", "S"), ("S", "Y"), ("U", "X"), ("U", "Y")], ["U"], ["S"]) == []


def test_two_mediators_needed_together():
    scm = SCM.from_edges(
        [("X", "A"), ("X", "B"), ("A", "Y"), ("B", "Y"), ("U", "X"), ("U", "Y")], latents=["U"]
    )
    assert not scm.is_frontdoor_set("X", "Y", ["A"])
    assert scm.frontdoor_sets("X", "Y", minimal=True) == [F({"A", "B"})]


def test_frontdoor_condition_3_applies_to_the_set_as_a_whole():
    """M1 <- U -> M2 -> Y leaves the set through M2's own edge: not a back-door path of {M1, M2}."""
    scm = SCM.from_edges(
        [("X", "M1"), ("X", "M2"), ("M1", "Y"), ("M2", "Y"), ("U", "M1"), ("U", "M2")], latents=["U"]
    )
    assert scm.is_frontdoor_set("X", "Y", ["M1", "M2"])
    alone = scm.frontdoor_violations("X", "Y", ["M1"])
    assert [v[:3] for v in alone] == ["(1)", "(3)"]  # M1 checked on its own fails (3) on that same path


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.is_backdoor_set("X", "X", []), "same node 'X'"),
        (lambda s: s.is_frontdoor_set("U", "Y", ["S"]), "treatment 'U' is latent"),
        (lambda s: s.identify("X", "U"), "outcome 'U' is latent"),
        (lambda s: s.is_frontdoor_set("X", "Y", ["Q"]), "unknown mediator set 'Q'"),
        (lambda s: s.is_backdoor_set("X", "Y", ["U"]), "latent node 'U'"),
        (lambda s: s.is_frontdoor_set("X", "Y", ["S", "Y"]), "'Y', which is the treatment or the outcome"),
        (lambda s: s.d_separated("X", "Y", ["X"]), "disjoint"),
        (lambda s: s.identify("Nope", "Y"), "unknown treatment 'Nope'"),
    ],
)
def test_bad_queries_raise_naming_the_culprit(call, match):
    scm = SCM.from_edges([("X", "S"), ("S", "Y"), ("U", "X"), ("U", "Y")], latents=["U"])
    with pytest.raises(ValueError, match=match):
        call(scm)


def test_enumeration_refuses_too_many_candidates():
    scm = SCM.from_edges([("X", "Y")], nodes=[f"W{i}" for i in range(MAX_CANDIDATES + 1)])
    with pytest.raises(ValueError, match="candidate nodes"):
        scm.frontdoor_sets("X", "Y")


def test_identify_estimands():
    smoking = load_graph("smoking_tar_cancer").identify("Smoking", "Cancer")
    assert smoking.estimand == (
        "P(Cancer | do(Smoking)) = sum_{Tar} P(Tar | Smoking) "
        "sum_{Smoking'} P(Cancer | Smoking', Tar) P(Smoking')"
    )
    assert r"\sum_{\mathrm{Tar}}" in smoking.latex
    backdoor = load_graph("backdoor_example").identify("X", "Y")
    assert backdoor.estimand == "P(Y | do(X)) = sum_{Z1, Z3} P(Y | X, Z1, Z3) P(Z1, Z3)"
    cdc = load_graph("cdc_frontdoor").identify("X", "Y")
    assert cdc.latex.startswith(r"P(Y \mid \mathrm{do}(X)) = \sum_{S}")
    assert "not identifiable" in load_graph("bow").identify("X", "Y").estimand
    simple = SCM.from_edges([("X", "Y")]).identify("X", "Y")
    assert (simple.kind, simple.estimand) == ("backdoor", "P(Y | do(X)) = P(Y | X)")


def test_identify_on_graphs_too_large_to_enumerate():
    extra = [f"W{i}" for i in range(MAX_CANDIDATES + 1)]
    confounded = SCM.from_edges([("Z", "X"), ("Z", "Y"), ("X", "Y")], nodes=extra)
    result = confounded.identify("X", "Y")
    assert (result.kind, result.adjustment_set) == ("backdoor", F({"Z"}))
    mediated = SCM.from_edges([("X", "S"), ("S", "Y"), ("U", "X"), ("U", "Y")], latents=["U"], nodes=extra)
    result = mediated.identify("X", "Y")
    assert (result.kind, result.adjustment_set) == ("frontdoor", F({"S"}))
    bow = SCM.from_edges([("X", "Y"), ("U", "X"), ("U", "Y")], latents=["U"], nodes=extra)
    assert bow.identify("X", "Y").kind == "not_identifiable"
