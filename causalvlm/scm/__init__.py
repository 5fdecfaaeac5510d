"""Causal core: graphs with latent variables, identification criteria, drawing, discrete simulation.

numpy and networkx only (matplotlib is imported lazily, for drawing); never torch.
"""

from __future__ import annotations

from causalvlm.scm.criteria import (
    backdoor_paths,
    backdoor_sets,
    d_separated,
    frontdoor_sets,
    frontdoor_violations,
    is_backdoor_set,
    is_frontdoor_set,
    is_path_blocked,
)
from causalvlm.scm.discrete import DiscreteSCM
from causalvlm.scm.gml_io import graph_dirs, load_graph, read_gml, save_graph, shipped_graph_names
from causalvlm.scm.graph import SCM
from causalvlm.scm.identification import Identification, identify

__all__ = [
    "SCM",
    "DiscreteSCM",
    "Identification",
    "backdoor_paths",
    "backdoor_sets",
    "d_separated",
    "draw_scm",
    "frontdoor_sets",
    "frontdoor_violations",
    "graph_dirs",
    "identify",
    "is_backdoor_set",
    "is_frontdoor_set",
    "is_path_blocked",
    "load_graph",
    "read_gml",
    "save_graph",
    "shipped_graph_names",
]


def __getattr__(name: str):
    # matplotlib costs ~0.3 s to import; only drawing needs it
    if name == "draw_scm":
        from causalvlm.scm.drawing import draw_scm

        return draw_scm
    raise AttributeError(f"module 'causalvlm.scm' has no attribute {name!r}")
