"""`ADMG`: the latent projection of an `SCM` — observed nodes, directed edges and bidirected edges.

The ID algorithm works on acyclic directed mixed graphs. An SCM with latent nodes projects onto one
(Verma & Pearl 1990; Tian & Pearl 2002): over the observed nodes,

- a → b when the DAG has a directed path a → … → b whose interior nodes are all latent;
- a ↔ b when some latent L has directed paths L → … → a and L → … → b with latent interiors.

The projection keeps every d-separation among observed nodes and every identification answer, which is why
a latent with parents of its own (U ← W, U → X, U → Y) needs no special case. Nodes are kept in the SCM's
topological order (ties by name), the order π that the ID algorithm conditions along.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:  # pragma: no cover
    from causalvlm.scm.graph import SCM


@dataclass(frozen=True)
class ADMG:
    """Observed nodes in topological order, directed edges (a, b) and bidirected edges {a, b}."""

    order: tuple[str, ...]
    directed: frozenset[tuple[str, str]]
    bidirected: frozenset[frozenset[str]]

    @classmethod
    def from_scm(cls, scm: SCM) -> ADMG:
        """The latent projection described in the module docstring."""
        graph, latents = scm.graph, scm.latents

        def observed_reach(start: str) -> set[str]:
            """Observed nodes reached from ``start`` by directed paths whose interior nodes are latent."""
            found, stack, seen = set(), list(graph.successors(start)), set()
            while stack:
                node = stack.pop()
                if node in seen:
                    continue
                seen.add(node)
                if node in latents:
                    stack.extend(graph.successors(node))
                else:
                    found.add(node)
            return found

        order = tuple(n for n in scm.topological_order() if n not in latents)
        directed = frozenset((a, b) for a in order for b in observed_reach(a))
        bidirected: set[frozenset[str]] = set()
        for latent in latents:
            reach = sorted(observed_reach(latent))
            bidirected.update(frozenset((a, b)) for i, a in enumerate(reach) for b in reach[i + 1 :])
        return cls(order, directed, frozenset(bidirected))

    @property
    def nodes(self) -> frozenset[str]:
        return frozenset(self.order)

    @cached_property
    def _parents(self) -> dict[str, frozenset[str]]:
        parents: dict[str, set[str]] = {n: set() for n in self.order}
        for a, b in self.directed:
            parents[b].add(a)
        return {n: frozenset(p) for n, p in parents.items()}

    @cached_property
    def _spouses(self) -> dict[str, frozenset[str]]:
        spouses: dict[str, set[str]] = {n: set() for n in self.order}
        for pair in self.bidirected:
            a, b = tuple(pair)
            spouses[a].add(b)
            spouses[b].add(a)
        return {n: frozenset(s) for n, s in spouses.items()}

    def parents(self, node: str) -> frozenset[str]:
        return self._parents[node]

    def subgraph(self, nodes: Iterable[str]) -> ADMG:
        """G[S]: the nodes S and the edges among them."""
        keep = frozenset(nodes)
        return ADMG(
            tuple(n for n in self.order if n in keep),
            frozenset(e for e in self.directed if e[0] in keep and e[1] in keep),
            frozenset(e for e in self.bidirected if e <= keep),
        )

    def without_incoming(self, nodes: Iterable[str]) -> ADMG:
        """G_{\\bar X}: every edge into X removed, directed or bidirected."""
        cut = frozenset(nodes)
        return ADMG(
            self.order,
            frozenset(e for e in self.directed if e[1] not in cut),
            frozenset(e for e in self.bidirected if not e & cut),
        )

    def ancestors(self, nodes: Iterable[str]) -> frozenset[str]:
        """An(Y): Y and every node with a directed path into Y."""
        found, stack = set(), list(nodes)
        while stack:
            node = stack.pop()
            if node not in found:
                found.add(node)
                stack.extend(self._parents[node])
        return frozenset(found)

    def c_components(self) -> list[frozenset[str]]:
        """The districts: classes of nodes joined by bidirected paths, ordered by their first node."""
        components, placed = [], set()
        for start in self.order:
            if start in placed:
                continue
            component, stack = set(), [start]
            while stack:
                node = stack.pop()
                if node not in component:
                    component.add(node)
                    stack.extend(self._spouses[node])
            placed |= component
            components.append(frozenset(component))
        return components

    def as_dag(self) -> nx.DiGraph:
        """A DAG with one latent node per bidirected edge, for d-separation tests with networkx."""
        dag = nx.DiGraph()
        dag.add_nodes_from(self.order)
        dag.add_edges_from(self.directed)
        for pair in self.bidirected:
            a, b = sorted(pair)
            latent = ("<->", a, b)  # a tuple can never collide with a node name (names are strings)
            dag.add_edges_from([(latent, a), (latent, b)])
        return dag
