"""Reading and writing `SCM`s as GML files, and resolving short graph names.

File format (plain networkx GML)::

    graph [
      directed 1
      description "what the model is about"
      node [ id 0 label "U" latent 1 description "an unmeasured cause" ]
      node [ id 1 label "X" latent 0 description "the treatment" latex "X" ]
      edge [ source 0 target 1 ]
    ]

Short names (``"cdc_frontdoor"``) are looked up as ``<name>.gml`` in each folder of the ``CAUSALVLM_GRAPHS``
environment variable (``os.pathsep``-separated) and then among the graphs shipped inside the package
(``causalvlm/graphs/``, read through ``importlib.resources`` so that an installed wheel finds them too; the
repository's top-level ``graphs`` is a link to that folder).
"""

from __future__ import annotations

import os
import re
import tempfile
from importlib import resources
from pathlib import Path

import networkx as nx

from causalvlm.scm.graph import SCM

GRAPHS_ENV = "CAUSALVLM_GRAPHS"
_SHORT_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


def packaged_graphs_dir() -> Path:
    """The folder of graphs shipped in the package (``causalvlm/graphs``), wherever causalvlm is installed."""
    folder = resources.files("causalvlm") / "graphs"
    if not isinstance(folder, Path):  # e.g. imported from a zip archive: GML files must be real files
        raise RuntimeError(f"causalvlm's graphs are not plain files ({folder}); install causalvlm unzipped")
    return folder


def graph_dirs() -> list[Path]:
    """Folders searched for short graph names: $CAUSALVLM_GRAPHS entries, then the package's graphs."""
    extra = [Path(p) for p in os.environ.get(GRAPHS_ENV, "").split(os.pathsep) if p]
    return [*extra, packaged_graphs_dir()]


def shipped_graph_names() -> list[str]:
    """Every short name that `load_graph` can resolve."""
    names = {p.stem for folder in graph_dirs() if folder.is_dir() for p in folder.glob("*.gml")}
    return sorted(names)


def resolve_graph_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Turn a short name or a path into an existing file path, or raise FileNotFoundError."""
    text = os.fspath(name_or_path)
    looks_like_path = isinstance(name_or_path, os.PathLike) or text.endswith(".gml") or os.sep in text
    if looks_like_path or not _SHORT_NAME.match(text):
        path = Path(text)
        if path.is_dir():
            raise FileNotFoundError(f"graph path {path} is a folder; give a .gml file or a graph name")
        if not path.is_file():
            raise FileNotFoundError(f"graph file {path} does not exist")
        return path
    for folder in graph_dirs():
        candidate = folder / f"{text}.gml"
        if candidate.is_file():
            return candidate
    folder_hint = f" ({text} here is a folder, not a .gml file)" if Path(text).is_dir() else ""
    raise FileNotFoundError(
        f"no graph named {text!r} in {[str(d) for d in graph_dirs()]}{folder_hint}; "
        f"shipped graphs: {shipped_graph_names()}"
    )


def read_gml(path: str | os.PathLike[str]) -> SCM:
    """Load an `SCM` from a GML file; every error names the file."""
    path = Path(path)
    if path.is_dir():
        raise FileNotFoundError(f"graph path {path} is a folder, not a .gml file")
    if not path.is_file():
        raise FileNotFoundError(f"graph file {path} does not exist")
    try:
        graph = nx.read_gml(path, label="label")
    except (nx.NetworkXError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: malformed GML: {err}") from err
    if not graph.is_directed():
        raise ValueError(f"{path}: graph is undirected; a causal graph needs 'directed 1'")
    if graph.is_multigraph():
        raise ValueError(f"{path}: graph has repeated edges ('multigraph 1'); an SCM has one per pair")
    description = str(graph.graph.get("description", ""))
    try:
        return SCM(nx.DiGraph(graph), description=description, name=path.stem)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: {err}") from err


def load_graph(name_or_path: str | os.PathLike[str]) -> SCM:
    """Load a shipped graph by short name (``"smoking_tar_cancer"``) or any GML file by path."""
    return read_gml(resolve_graph_path(name_or_path))


def save_graph(scm: SCM, path: str | os.PathLike[str]) -> Path:
    """Write ``scm`` as GML atomically (temp file + ``os.replace``), so a failure leaves no partial file."""
    path = Path(path)
    if path.suffix != ".gml":
        raise ValueError(f"graph files end in .gml, got {path}")
    graph = nx.DiGraph(description=scm.description)
    for node in scm.topological_order():
        attrs = dict(scm.graph.nodes[node])
        attrs["latent"] = int(attrs["latent"])  # GML has no booleans
        graph.add_node(node, **attrs)
    graph.add_edges_from(sorted(scm.graph.edges))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".gml.tmp")
    os.close(fd)
    try:
        nx.write_gml(graph, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
