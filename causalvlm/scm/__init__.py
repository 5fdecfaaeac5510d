"""Causal core: graphs with latent variables, criteria, identification (back-door, front-door, ID/IDC),
estimands, drawing, discrete simulation.

numpy and networkx only (matplotlib is imported lazily, for drawing); never torch.
"""

from __future__ import annotations

from causalvlm.scm.admg import ADMG
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
from causalvlm.scm.id_algorithm import Hedge, hedge_violations
from causalvlm.scm.identification import Identification, identify
from causalvlm.scm.random_graph import random_scm

__all__ = [
    "ADMG",
    "SCM",
    "DiscreteSCM",
    "Hedge",
    "Identification",
    "backdoor_paths",
    "backdoor_sets",
    "d_separated",
    "draw_scm",
    "frontdoor_sets",
    "frontdoor_violations",
    "graph_dirs",
    "hedge_violations",
    "identify",
    "is_backdoor_set",
    "is_frontdoor_set",
    "is_path_blocked",
    "load_graph",
    "random_scm",
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
