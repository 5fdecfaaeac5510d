"""Converters: every shipped graph round-trips through networkx, pgmpy, DoWhy and y0; the optional
libraries are skipped when not installed."""

from __future__ import annotations

import sys
import warnings

import pytest

from causalvlm import interop
from causalvlm.scm import SCM, load_graph, shipped_graph_names
from causalvlm.scm.admg import ADMG

SHIPPED = shipped_graph_names()
# a latent with a parent and a chain of latents: the cases a naive import gets wrong
TRICKY = SCM.from_edges(
    [("W", "U1"), ("U1", "X"), ("U1", "U2"), ("U2", "Y"), ("X", "M"), ("M", "Y"), ("W", "Y")],
    latents=["U1", "U2"],
)


def same_structure(a: SCM, b: SCM) -> bool:
    return (
        set(a.graph.nodes) == set(b.graph.nodes)
        and set(a.graph.edges) == set(b.graph.edges)
        and (a.latents == b.latents)
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_networkx_round_trip_keeps_everything(name):
    scm = load_graph(name)
    back = interop.from_networkx(interop.to_networkx(scm), name=name)
    assert back == scm


def test_admg_projection_handles_latent_parents_and_chains():
    directed, bidirected = interop.to_networkx_admg(TRICKY)
    assert set(directed.edges) == {("X", "M"), ("M", "Y"), ("W", "X"), ("W", "Y")}
    assert {frozenset(e) for e in bidirected.edges} == {frozenset({"X", "Y"})}


@pytest.mark.parametrize("name", [*SHIPPED, "tricky"])
def test_pgmpy_round_trip(name):
    pytest.importorskip("pgmpy")
    scm = TRICKY if name == "tricky" else load_graph(name)
    dag = interop.to_pgmpy(scm)
    assert set(dag.latents) == set(scm.latents)
    back = interop.from_pgmpy(dag, name=scm.name)
    assert same_structure(back, scm)
    assert all(back.node_description(n) == scm.node_description(n) for n in scm.graph)


@pytest.mark.parametrize("name", [*SHIPPED, "tricky"])
def test_dowhy_sees_the_observed_set_and_round_trips(name):
    pytest.importorskip("dowhy")
    from dowhy.causal_graph import CausalGraph

    scm = TRICKY if name == "tricky" else load_graph(name)
    converted = interop.to_dowhy(scm)
    x, y = converted.observed_nodes[0], converted.observed_nodes[-1]
    for form in (converted.gml(), converted.graph):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seen = CausalGraph(x, y, graph=form, observed_node_names=converted.observed_nodes)
        assert set(seen.get_all_nodes(include_unobserved=False)) == scm.observed
        assert same_structure(interop.from_dowhy(seen), scm)
    assert same_structure(interop.from_dowhy(converted.gml()), scm)
    assert same_structure(interop.from_dowhy(converted.dot()), scm)
    assert same_structure(interop.from_dowhy(converted.graph, converted.observed_nodes), scm)


@pytest.mark.parametrize("name", [*SHIPPED, "tricky"])
def test_y0_round_trip_preserves_the_latent_projection(name):
    pytest.importorskip("y0")
    scm = TRICKY if name == "tricky" else load_graph(name)
    mixed = interop.to_y0(scm)
    back = interop.from_y0(mixed)
    assert ADMG.from_scm(back) == ADMG.from_scm(scm)
    again = interop.to_y0(back)
    assert set(again.directed.edges) == set(mixed.directed.edges)
    assert {frozenset(e) for e in again.undirected.edges} == {frozenset(e) for e in mixed.undirected.edges}


def test_identification_agrees_after_a_y0_round_trip():
    pytest.importorskip("y0")
    back = interop.from_y0(interop.to_y0(TRICKY))
    assert back.identify("X", "Y").identifiable and TRICKY.identify("X", "Y").identifiable


def test_a_missing_library_is_named_with_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pgmpy.base", None)  # a None entry makes the import fail
    with pytest.raises(ImportError, match=r"needs pgmpy.*causalvlm\[interop\]"):
        interop.to_pgmpy(TRICKY)


def test_dowhy_observed_list_must_name_graph_nodes():
    converted = interop.to_dowhy(TRICKY)
    with pytest.raises(ValueError, match="observed node 'Q' is not in the graph"):
        interop.from_dowhy(converted.graph, ["X", "Q"])
