"""`SCM`: a causal DAG over named variables with an explicit set of latent (unobserved) variables.

The graph is validated once, at construction: node names are non-empty strings, there are no self-loops and
no cycles, and every latent or described node exists. After that the graph is frozen, so every criterion
computed on it (see :mod:`causalvlm.scm.criteria`) sees the same structure.

Each node carries two attributes that survive a GML round trip: ``latent`` (bool) and ``description``
(what the variable means); an optional ``latex`` attribute gives its symbol for LaTeX estimands.

Imports inside ``causalvlm.scm`` run one way: ``gml_io`` and ``discrete`` build on this module; this module's
convenience methods (``identify``, ``is_frontdoor_set``, ``draw``, ...) call into ``criteria``,
``identification`` and ``drawing``, which see :class:`SCM` only in type hints. Write a graph with
:func:`causalvlm.scm.save_graph`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from causalvlm.scm.identification import Identification

NodeNames = str | Iterable[str]


def parse_latent_flag(node: str, value: object) -> bool:
    """Read a ``latent`` attribute written as a bool, 0/1, or the strings "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError(f"node {node!r}: attribute 'latent' must be 0/1 or true/false, got {value!r}")


class SCM:
    """A causal DAG whose latent nodes are explicit.

    Args:
        graph: a ``networkx.DiGraph`` whose nodes are variable names; node attributes ``latent``,
            ``description`` and ``latex`` are read if present. The graph is copied.
        latents: names of unobserved variables (added to any node already marked ``latent``).
        description: what the whole model describes.
        name: short name (the file stem for shipped graphs).
    """

    def __init__(
        self, graph: nx.DiGraph, latents: Iterable[str] = (), description: str = "", name: str = ""
    ) -> None:
        if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
            raise TypeError(f"SCM needs a networkx.DiGraph, got {type(graph).__name__}")
        for node in graph.nodes:
            if not isinstance(node, str) or not node.strip():
                raise ValueError(f"node names must be non-empty strings, got {node!r}")
        loops = sorted(nx.nodes_with_selfloops(graph))
        if loops:
            raise ValueError(f"self-loop on node {loops[0]!r}: a variable cannot cause itself")
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            loop = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
            raise ValueError(f"graph has a cycle {loop}; an SCM must be acyclic (at node {cycle[0][0]!r})")
        latent_set = set(latents) if not isinstance(latents, str) else {latents}
        unknown = sorted(latent_set - set(graph.nodes))
        if unknown:
            raise ValueError(f"latent node {unknown[0]!r} is not in the graph; nodes: {sorted(graph.nodes)}")

        frozen = nx.DiGraph()
        for node, attrs in graph.nodes(data=True):
            flagged = parse_latent_flag(node, attrs["latent"]) if "latent" in attrs else False
            frozen.add_node(
                node,
                latent=flagged or node in latent_set,
                description=str(attrs.get("description", "")),
                **({"latex": str(attrs["latex"])} if attrs.get("latex") else {}),
            )
        frozen.add_edges_from(graph.edges)
        self._graph = nx.freeze(frozen)
        self.description = description
        self.name = name

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[str, str]],
        latents: Iterable[str] = (),
        nodes: Iterable[str] = (),
        descriptions: Mapping[str, str] | None = None,
        description: str = "",
        name: str = "",
    ) -> SCM:
        """Build from ``(cause, effect)`` pairs; ``nodes`` adds isolated variables."""
        graph = nx.DiGraph()
        graph.add_nodes_from(nodes)
        for edge in edges:
            if len(edge) != 2:
                raise ValueError(f"an edge is a (cause, effect) pair, got {edge!r}")
            graph.add_edge(*edge)
        for node, text in (descriptions or {}).items():
            if node not in graph:
                raise ValueError(f"description given for unknown node {node!r}; nodes: {sorted(graph)}")
            graph.nodes[node]["description"] = text
        return cls(graph, latents=latents, description=description, name=name)

    # --- structure -------------------------------------------------------------------------------
    @property
    def graph(self) -> nx.DiGraph:
        """The frozen DAG, latent nodes included (criteria must see them to find confounding paths)."""
        return self._graph

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self.topological_order())

    @property
    def latents(self) -> frozenset[str]:
        return frozenset(n for n, latent in self._graph.nodes(data="latent") if latent)

    @property
    def observed(self) -> frozenset[str]:
        return frozenset(self._graph.nodes) - self.latents

    def topological_order(self) -> list[str]:
        """Topological order, ties broken by name so results are reproducible."""
        return list(nx.lexicographical_topological_sort(self._graph))

    def node_description(self, node: str) -> str:
        return self._graph.nodes[self.check_node(node)]["description"]

    def latex_symbol(self, node: str) -> str:
        """LaTeX symbol: the ``latex`` attribute, else the name (upright if longer than one letter)."""
        attrs = self._graph.nodes[self.check_node(node)]
        if attrs.get("latex"):
            return attrs["latex"]
        return node if len(node) == 1 else r"\mathrm{" + node.replace("_", r"\_") + "}"

    def parents(self, node: str) -> tuple[str, ...]:
        """Parents sorted by name; this is the axis order of a node's CPT in `DiscreteSCM`."""
        return tuple(sorted(self._graph.predecessors(self.check_node(node))))

    def children(self, node: str) -> tuple[str, ...]:
        return tuple(sorted(self._graph.successors(self.check_node(node))))

    def ancestors(self, node: str) -> frozenset[str]:
        return frozenset(nx.ancestors(self._graph, self.check_node(node)))

    def descendants(self, node: str) -> frozenset[str]:
        return frozenset(nx.descendants(self._graph, self.check_node(node)))

    def check_node(self, node: str, role: str = "node") -> str:
        """Return ``node`` if it is in the graph, else raise naming it and listing the valid names."""
        if not isinstance(node, str) or node not in self._graph:
            raise ValueError(f"unknown {role} {node!r}; nodes of this graph: {sorted(self._graph)}")
        return node

    def check_nodes(self, nodes: NodeNames, role: str = "node") -> frozenset[str]:
        """A set of known node names; a single string is one node, not its characters."""
        items = [nodes] if isinstance(nodes, str) else list(nodes)
        return frozenset(self.check_node(n, role) for n in items)

    # --- criteria (implemented in causalvlm.scm.criteria) ----------------------------------------
    def d_separated(self, x: NodeNames, y: NodeNames, z: NodeNames = ()) -> bool:
        from causalvlm.scm.criteria import d_separated

        return d_separated(self, x, y, z)

    def backdoor_paths(self, treatment: str, outcome: str) -> list[tuple[str, ...]]:
        from causalvlm.scm.criteria import backdoor_paths

        return backdoor_paths(self, treatment, outcome)

    def is_backdoor_set(self, treatment: str, outcome: str, adjustment: NodeNames) -> bool:
        from causalvlm.scm.criteria import is_backdoor_set

        return is_backdoor_set(self, treatment, outcome, adjustment)

    def backdoor_sets(self, treatment: str, outcome: str, minimal: bool = False) -> list[frozenset[str]]:
        from causalvlm.scm.criteria import backdoor_sets

        return backdoor_sets(self, treatment, outcome, minimal=minimal)

    def is_frontdoor_set(self, treatment: str, outcome: str, mediators: NodeNames) -> bool:
        from causalvlm.scm.criteria import is_frontdoor_set

        return is_frontdoor_set(self, treatment, outcome, mediators)

    def frontdoor_violations(self, treatment: str, outcome: str, mediators: NodeNames) -> list[str]:
        from causalvlm.scm.criteria import frontdoor_violations

        return frontdoor_violations(self, treatment, outcome, mediators)

    def frontdoor_sets(self, treatment: str, outcome: str, minimal: bool = False) -> list[frozenset[str]]:
        from causalvlm.scm.criteria import frontdoor_sets

        return frontdoor_sets(self, treatment, outcome, minimal=minimal)

    def identify(self, treatment: NodeNames, outcome: NodeNames, given: NodeNames = ()) -> Identification:
        """P(outcome | do(treatment), given); each a name or names (see `identification.identify`)."""
        from causalvlm.scm.identification import identify

        return identify(self, treatment, outcome, given)

    def draw(self, path: str | Path | None = None, highlight: Iterable[str] = ()) -> Figure:
        from causalvlm.scm.drawing import draw_scm

        return draw_scm(self, path, highlight=highlight)

    # --- comparison / display --------------------------------------------------------------------
    def __contains__(self, node: object) -> bool:
        return node in self._graph

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SCM):
            return NotImplemented
        return (
            dict(self._graph.nodes(data=True)) == dict(other._graph.nodes(data=True))
            and set(self._graph.edges) == set(other._graph.edges)
            and self.description == other.description
        )

    __hash__ = None  # type: ignore[assignment]  # mutable name/description; compare by value only

    def __repr__(self) -> str:
        edges = ", ".join(f"{u}->{v}" for u, v in sorted(self._graph.edges))
        return f"SCM({self.name or 'unnamed'}: {edges}; latents={sorted(self.latents)})"
