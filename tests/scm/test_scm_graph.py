"""SCM construction, GML round trips and graph-name resolution, including every malformed input."""

from __future__ import annotations

import networkx as nx
import pytest

from causalvlm.scm import SCM, graph_dirs, load_graph, read_gml, save_graph, shipped_graph_names

SHIPPED = [
    "backdoor_example",
    "bow",
    "cdc_adaptation",
    "cdc_frontdoor",
    "cdc_pretraining",
    "shapeworld",
    "smoking_tar_cancer",
]


def test_from_edges_keeps_latents_and_descriptions():
    scm = SCM.from_edges(
        [("U", "X"), ("U", "Y"), ("X", "Y")], latents=["U"], descriptions={"X": "treatment"}, nodes=["W"]
    )
    assert scm.latents == {"U"}
    assert scm.observed == {"X", "Y", "W"}
    assert scm.node_description("X") == "treatment"
    assert scm.parents("Y") == ("U", "X")
    assert scm.topological_order().index("U") < scm.topological_order().index("X")


def test_latent_attribute_on_graph_nodes_is_read():
    graph = nx.DiGraph()
    graph.add_node("H", latent="true")
    graph.add_edge("H", "A")
    assert SCM(graph).latents == {"H"}


@pytest.mark.parametrize(
    ("edges", "latents", "match"),
    [
        ([("A", "B"), ("B", "C"), ("C", "A")], [], "cycle"),
        ([("A", "A")], [], "self-loop on node 'A'"),
        ([("A", "B")], ["Q"], "latent node 'Q'"),
        ([("A", "")], [], "non-empty strings"),
    ],
)
def test_bad_structure_is_rejected_naming_the_node(edges, latents, match):
    with pytest.raises(ValueError, match=match):
        SCM.from_edges(edges, latents=latents)


def test_description_of_unknown_node_is_rejected():
    with pytest.raises(ValueError, match="'Z'"):
        SCM.from_edges([("A", "B")], descriptions={"Z": "nothing"})


def test_bad_latent_attribute_value_names_the_node():
    graph = nx.DiGraph()
    graph.add_node("H", latent="maybe")
    with pytest.raises(ValueError, match="node 'H'"):
        SCM(graph)


def test_unknown_node_query_lists_valid_nodes():
    scm = load_graph("bow")
    with pytest.raises(ValueError, match=r"unknown node 'Q'.*\['U', 'X', 'Y'\]"):
        scm.parents("Q")


def test_every_shipped_graph_loads_and_documents_its_variables():
    assert set(SHIPPED) <= set(shipped_graph_names())
    for name in SHIPPED:
        scm = load_graph(name)
        assert scm.name == name
        assert scm.description
        assert all(scm.node_description(n) for n in scm.graph), name


def test_shipped_graphs_are_package_data_and_the_top_level_folder_links_there():
    """The .gml files live in causalvlm/graphs (shipped in the wheel); the checkout's graphs/ links there."""
    from importlib import resources
    from pathlib import Path

    packaged = resources.files("causalvlm") / "graphs"
    assert graph_dirs()[-1] == packaged
    assert {p.stem for p in packaged.glob("*.gml")} == set(SHIPPED)
    top_level = Path(__file__).resolve().parents[2] / "graphs"
    if top_level.exists():  # a checkout, not an installed package
        assert top_level.resolve() == packaged.resolve()


def test_gml_round_trip_preserves_everything(tmp_path):
    original = load_graph("cdc_frontdoor")
    path = save_graph(original, tmp_path / "copy.gml")
    loaded = read_gml(path)
    assert loaded == original
    assert loaded.latex_symbol("G_i_hat") == r"\hat{G}_i"
    assert [p.name for p in tmp_path.iterdir()] == ["copy.gml"]  # no temp file left behind


def test_save_refuses_wrong_suffix(tmp_path):
    with pytest.raises(ValueError, match="end in .gml"):
        save_graph(load_graph("bow"), tmp_path / "bow.txt")
    assert not list(tmp_path.iterdir())


def test_load_by_path_and_by_env_folder(tmp_path, monkeypatch):
    custom = SCM.from_edges([("A", "B")], description="custom")
    save_graph(custom, tmp_path / "my_graph.gml")
    assert load_graph(tmp_path / "my_graph.gml").description == "custom"
    assert load_graph(str(tmp_path / "my_graph.gml")).description == "custom"
    monkeypatch.setenv("CAUSALVLM_GRAPHS", str(tmp_path))
    assert load_graph("my_graph").description == "custom"
    assert "my_graph" in shipped_graph_names()


def test_missing_name_lists_shipped_graphs():
    with pytest.raises(FileNotFoundError, match="smoking_tar_cancer"):
        load_graph("no_such_graph")


def test_missing_path_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.gml"):
        load_graph(tmp_path / "absent.gml")


def _write(tmp_path, text: str):
    path = tmp_path / "broken.gml"
    path.write_text(text)
    return path


def test_malformed_gml_names_the_file(tmp_path):
    path = _write(tmp_path, 'graph [ directed 1 node [ id 0 label "A" ] edge [ source 0 ')
    with pytest.raises(ValueError, match=r"broken\.gml: malformed GML"):
        load_graph(path)


def test_cyclic_gml_names_file_and_node(tmp_path):
    path = _write(
        tmp_path,
        'graph [ directed 1 node [ id 0 label "A" ] node [ id 1 label "B" ] '
        "edge [ source 0 target 1 ] edge [ source 1 target 0 ] ]",
    )
    with pytest.raises(ValueError, match=r"broken\.gml: graph has a cycle .*\(at node '[AB]'\)"):
        load_graph(path)


def test_undirected_gml_is_rejected(tmp_path):
    text = 'graph [ node [ id 0 label "A" ] node [ id 1 label "B" ] edge [ source 0 target 1 ] ]'
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match="undirected"):
        load_graph(path)
