"""Converters between `SCM` and other causal libraries' graphs: networkx, pgmpy, DoWhy, y0.

The libraries are optional (``pip install causalvlm[interop]``); each converter imports its library only
when called and says how to install it if it is missing. The causal core never imports this module.

What each library sees:

- **networkx**: a ``DiGraph`` whose nodes carry ``latent`` (bool), ``description`` and ``latex`` — the
  SCM as stored; or, with `to_networkx_admg`, the latent projection as a directed plus a bidirected graph.
- **pgmpy**: a ``pgmpy.base.DAG`` with the latent nodes in its ``latents`` set.
- **DoWhy**: DoWhy reads which nodes are observed from a list (``observed_node_names``, i.e. the data's
  columns), not from any attribute of a GML file; `to_dowhy` therefore returns the graph *and* that list,
  and marks each node ``observed "yes"/"no"`` as DoWhy's own ``CausalGraph`` does.
- **y0**: an ``NxMixedGraph`` over the observed nodes, built from the latent projection (`ADMG`), so a
  latent with parents or a chain of latents projects correctly; coming back, each bidirected edge a ↔ b
  becomes a latent ``U_a_b`` with edges into a and b.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from causalvlm.scm.admg import ADMG
from causalvlm.scm.graph import SCM


def _require(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"this converter needs {package}, which is not installed; "
            f"pip install {package}  (or: pip install 'causalvlm[interop]')"
        ) from error


# --- networkx ----------------------------------------------------------------------------------------
def to_networkx(scm: SCM) -> nx.DiGraph:
    """A mutable copy of the SCM's DAG; nodes keep ``latent``, ``description`` and ``latex``."""
    graph = nx.DiGraph(description=scm.description, name=scm.name)
    for node in scm.topological_order():
        graph.add_node(node, **scm.graph.nodes[node])
    graph.add_edges_from(sorted(scm.graph.edges))
    return graph


def from_networkx(graph: nx.DiGraph, latents: Iterable[str] = (), name: str = "") -> SCM:
    """An SCM from a DiGraph; latent nodes are those in ``latents`` or with a true ``latent`` attribute."""
    return SCM(graph, latents=latents, description=str(graph.graph.get("description", "")), name=name)


def to_networkx_admg(scm: SCM) -> tuple[nx.DiGraph, nx.Graph]:
    """The latent projection over the observed nodes: its directed edges and its bidirected edges."""
    admg = ADMG.from_scm(scm)
    directed, bidirected = nx.DiGraph(), nx.Graph()
    directed.add_nodes_from(admg.order)
    bidirected.add_nodes_from(admg.order)
    directed.add_edges_from(sorted(admg.directed))
    bidirected.add_edges_from(sorted(tuple(sorted(pair)) for pair in admg.bidirected))
    return directed, bidirected


def from_admg(
    nodes: Iterable[str], directed: Iterable[tuple[str, str]], bidirected: Iterable[Iterable[str]]
) -> SCM:
    """An SCM from a mixed graph: each bidirected edge a ↔ b becomes a latent ``U_a_b`` (primes if taken)."""
    nodes = [str(n) for n in nodes]
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((str(a), str(b)) for a, b in directed)
    latents = []
    for pair in sorted(tuple(sorted(str(v) for v in pair)) for pair in bidirected):
        latent = f"U_{pair[0]}_{pair[1]}"
        while latent in graph:
            latent += "'"
        graph.add_edges_from([(latent, pair[0]), (latent, pair[1])])
        latents.append(latent)
    return SCM(graph, latents=latents)


# --- pgmpy -------------------------------------------------------------------------------------------
def to_pgmpy(scm: SCM) -> Any:
    """A ``pgmpy.base.DAG`` with ``latents`` set; node descriptions travel as node attributes."""
    base = _require("pgmpy.base", "pgmpy")
    dag = base.DAG(sorted(scm.graph.edges), latents=set(scm.latents))
    for node in scm.topological_order():
        dag.add_node(node)
        dag.nodes[node].update({k: v for k, v in scm.graph.nodes[node].items() if k != "latent"})
    return dag


def from_pgmpy(dag: Any, name: str = "") -> SCM:
    """An SCM from a pgmpy DAG (its ``latents`` set, and any node with a true ``latent`` attribute)."""
    graph = nx.DiGraph()
    for node, attrs in dag.nodes(data=True):
        graph.add_node(node, **{k: v for k, v in attrs.items() if k in ("description", "latex", "latent")})
    graph.add_edges_from(dag.edges)
    return SCM(graph, latents=set(getattr(dag, "latents", ())), name=name)


# --- DoWhy -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoWhyGraph:
    """A graph in the forms DoWhy accepts, with the observed node list it needs alongside.

    Pass ``observed_nodes`` as ``observed_node_names`` (``CausalGraph``) or ``observed_nodes``
    (``identify_effect``), or give ``CausalModel`` a data frame with exactly these columns.
    """

    graph: nx.DiGraph  # nodes carry observed="yes"/"no"
    observed_nodes: list[str]

    def gml(self) -> str:
        """The GML string DoWhy parses (``graph=...``)."""
        return "".join(nx.generate_gml(self.graph))

    def dot(self) -> str:
        """The DOT string DoWhy parses (``graph=...``; DoWhy needs pydot or pygraphviz for it)."""
        lines = ["digraph {"]
        for node, observed in self.graph.nodes(data="observed"):
            lines.append(f'  "{node}" [observed="{observed}"];')
        lines += [f'  "{a}" -> "{b}";' for a, b in self.graph.edges]
        return "\n".join([*lines, "}"])


def to_dowhy(scm: SCM) -> DoWhyGraph:
    """The SCM for DoWhy: every node marked observed "yes" or "no", and the observed node list."""
    graph = nx.DiGraph()
    for node in scm.topological_order():
        graph.add_node(node, observed="no" if node in scm.latents else "yes")
    graph.add_edges_from(sorted(scm.graph.edges))
    return DoWhyGraph(graph, [n for n in scm.topological_order() if n not in scm.latents])


def from_dowhy(graph: Any, observed_nodes: Iterable[str] | None = None, name: str = "") -> SCM:
    """An SCM from DoWhy's graph forms: a DiGraph, a GML or DOT string, or a ``CausalGraph``.

    Latent nodes are those not in ``observed_nodes`` when it is given, else those marked ``observed "no"``.
    """
    if hasattr(graph, "_graph") and isinstance(graph._graph, nx.DiGraph):  # dowhy.causal_graph.CausalGraph
        graph = graph._graph
    if isinstance(graph, str):
        text = graph.strip()
        if text.startswith("graph"):
            graph = nx.DiGraph(nx.parse_gml(text, label="label"))
        elif "digraph" in text.split("{", 1)[0]:
            pydot = _require("pydot", "pydot")
            (parsed,) = pydot.graph_from_dot_data(text)
            graph = nx.DiGraph(nx.nx_pydot.from_pydot(parsed))
        else:
            raise ValueError(f"not a GML or DOT graph: {text[:40]!r}...")
    if not isinstance(graph, nx.DiGraph):
        raise TypeError(
            f"expected a DoWhy graph (DiGraph, GML/DOT string, CausalGraph), got {type(graph).__name__}"
        )
    clean = nx.DiGraph()
    clean.add_nodes_from(str(node).strip('"') for node in graph.nodes)
    clean.add_edges_from((str(a).strip('"'), str(b).strip('"')) for a, b in graph.edges)
    if observed_nodes is not None:
        seen = set(observed_nodes)
        unknown = sorted(seen - set(clean))
        if unknown:
            raise ValueError(f"observed node {unknown[0]!r} is not in the graph; nodes: {sorted(clean)}")
        latents = set(clean) - seen
    else:
        latents = {
            str(n).strip('"') for n, obs in graph.nodes(data="observed") if str(obs).strip('"') == "no"
        }
    return SCM(clean, latents=latents, name=name)


# --- y0 ----------------------------------------------------------------------------------------------
def to_y0(scm: SCM) -> Any:
    """A y0 ``NxMixedGraph`` over the observed nodes: the latent projection of the SCM."""
    graph_module = _require("y0.graph", "y0")
    directed, bidirected = to_networkx_admg(scm)
    return graph_module.NxMixedGraph.from_str_edges(
        nodes=list(directed.nodes), directed=list(directed.edges), undirected=list(bidirected.edges)
    )


def from_y0(graph: Any) -> SCM:
    """An SCM from a y0 ``NxMixedGraph``: each bidirected edge a ↔ b becomes a latent ``U_a_b``."""
    return from_admg(
        (v.name for v in graph.nodes()),
        ((a.name, b.name) for a, b in graph.directed.edges),
        ((a.name, b.name) for a, b in graph.undirected.edges),
    )
