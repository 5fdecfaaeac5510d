"""Layered drawing of an `SCM`: causes above effects, latent nodes and their edges dashed.

Layers are networkx's topological generations (a node sits one layer below its lowest parent), laid out
with ``nx.multipartite_layout``. The figure is built with matplotlib's object API (no pyplot), so drawing
works on headless machines and never touches global figure state.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerPatch
from matplotlib.lines import Line2D
from matplotlib.mathtext import MathTextParser
from matplotlib.patches import Ellipse, Patch

if TYPE_CHECKING:  # pragma: no cover  (type-only: graph.py calls into this module, never the reverse)
    from causalvlm.scm.graph import SCM

FIGURE_FORMATS = (".png", ".svg", ".pdf")
OBSERVED_COLOUR, HIGHLIGHT_COLOUR = "#cfe2f3", "#f6c85f"


def check_figure_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a figure target, or a ValueError naming it, checked before anything is drawn.

    The suffix picks the format (.png, .svg or .pdf); the path must not be a folder, and its nearest existing
    ancestor must be a writable folder (missing folders below it are created when the figure is saved).
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"figure path {target} is a folder; give a file name such as {target / 'graph.png'}")
    if target.suffix.lower() not in FIGURE_FORMATS:
        raise ValueError(f"figure path {target} must end in one of {FIGURE_FORMATS}")
    existing = next((p for p in (target.parent, *target.parent.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise ValueError(f"figure path {target}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"figure path {target}: folder {existing} is not writable")
    return target


def layered_positions(scm: SCM) -> dict[str, tuple[float, float]]:
    """Node positions with generation 0 (the root causes) on top."""
    layered = nx.DiGraph(scm.graph)
    for layer, generation in enumerate(nx.topological_generations(layered)):
        for node in generation:
            layered.nodes[node]["layer"] = -layer  # negative so that later generations sit lower
    pos = nx.multipartite_layout(layered, subset_key="layer", align="horizontal")
    return {n: (float(x), float(y)) for n, (x, y) in pos.items()}


def node_label(scm: SCM, node: str) -> str:
    """The text drawn in a node: its ``latex`` symbol as mathtext (``\\hat{G}_i`` → Ĝ_i), else the name.

    One-letter names are set in math italic like the symbols; longer names without a symbol stay plain text.
    A symbol that matplotlib's mathtext cannot parse falls back to the name.
    """
    symbol = scm.graph.nodes[node].get("latex") or (node if len(node) == 1 else "")
    if not symbol:
        return node
    label = f"${symbol}$"
    try:
        MathTextParser("path").parse(label)
    except ValueError:
        return node
    return label


def _circle(legend, orig_handle, xdescent, ydescent, width, height, fontsize) -> Ellipse:
    """Legend key of a node: a circle with the node's fill and (solid or dashed) outline."""
    size = min(width, height) * 1.3
    return Ellipse((width / 2 - xdescent, height / 2 - ydescent), size, size)


def _legend(ax, has_latent: bool, highlight_label: str | None) -> None:
    """Explain the node fills and the dashed outline / edges of latent variables, below the graph."""
    handles = [Patch(facecolor=OBSERVED_COLOUR, edgecolor="#333333", label="observed variable")]
    if highlight_label:
        handles.append(Patch(facecolor=HIGHLIGHT_COLOUR, edgecolor="#333333", label=highlight_label))
    if has_latent:
        handles.append(Patch(fc="white", ec="#555555", ls="--", label="latent (unobserved)"))
    circles = {h: HandlerPatch(patch_func=_circle) for h in handles}
    if has_latent:
        handles.append(Line2D([], [], color="#777777", linestyle="--", label="edge from a latent variable"))
    ax.legend(handles=handles, handler_map=circles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              fontsize=7, frameon=False)  # fmt: skip


def draw_scm(
    scm: SCM,
    path: str | os.PathLike[str] | None = None,
    highlight: Iterable[str] = (),
    title: str | None = None,
    highlight_label: str = "highlighted",
) -> Figure:
    """Draw ``scm``; if ``path`` is given, save it there (format from the suffix: .png, .svg or .pdf).

    ``highlight`` nodes (e.g. a front-door set) are filled in a second colour, named ``highlight_label`` in
    the legend. Nodes show their ``latex`` symbol (see :func:`node_label`); latent nodes and the edges leaving
    them are dashed, and a legend below the graph says so.
    """
    target = check_figure_path(path) if path is not None else None
    marked = scm.check_nodes(highlight, "highlighted node")
    pos = layered_positions(scm)
    n_layers = len(list(nx.topological_generations(scm.graph)))
    width = max(3.0, 1.4 * max(len(g) for g in nx.topological_generations(scm.graph)))
    fig = Figure(figsize=(width, 1.2 + 1.1 * n_layers))
    ax = fig.add_subplot()
    ax.set_axis_off()

    observed = [n for n in scm.graph if n not in scm.latents]
    latent = sorted(scm.latents)
    colours = [HIGHLIGHT_COLOUR if n in marked else OBSERVED_COLOUR for n in observed]
    nx.draw_networkx_nodes(
        scm.graph, pos, nodelist=observed, node_color=colours, edgecolors="#333333", node_size=1400, ax=ax
    )
    if latent:
        dashed = nx.draw_networkx_nodes(
            scm.graph, pos, nodelist=latent, node_color="white", edgecolors="#555555", node_size=1400, ax=ax
        )
        dashed.set_linestyle("--")
    layer = {n: i for i, generation in enumerate(nx.topological_generations(scm.graph)) for n in generation}
    for from_latent in (False, True):
        for skips in (False, True):
            edges = [
                (u, v)
                for u, v in scm.graph.edges
                if (u in scm.latents) == from_latent and (layer[v] - layer[u] > 1) == skips
            ]
            # an edge that skips a layer would run straight through the nodes between; bend it instead
            nx.draw_networkx_edges(
                scm.graph,
                pos,
                edgelist=edges,
                arrows=True,
                arrowsize=16,
                node_size=1400,
                ax=ax,
                style="dashed" if from_latent else "solid",
                edge_color="#777777" if from_latent else "black",
                connectionstyle="arc3,rad=0.45" if skips else "arc3",
            )
    labels = {n: node_label(scm, n) for n in scm.graph}
    symbols = {n: text for n, text in labels.items() if text.startswith("$")}
    names = {n: text for n, text in labels.items() if n not in symbols}
    nx.draw_networkx_labels(scm.graph, pos, labels=symbols, font_size=12, ax=ax)
    nx.draw_networkx_labels(scm.graph, pos, labels=names, font_size=8, ax=ax)
    ax.set_title(title if title is not None else (scm.name or "causal graph"), fontsize=10)
    ax.margins(0.2)
    _legend(ax, has_latent=bool(latent), highlight_label=highlight_label if marked else None)
    fig.tight_layout()

    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
        os.close(fd)
        try:
            fig.savefig(tmp, format=target.suffix.lower().lstrip("."), dpi=120)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return fig
