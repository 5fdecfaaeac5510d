"""ShapeWorld's causal graph, built from the factor definitions; shipped as causalvlm/graphs/shapeworld.gml.

It refines the paper's pre-training graph (D → G_r, G_i; G_r, G_i → X; G_r, G_i → caption) by splitting G_i
into the world's named factors. Two edges carry the world's specific mechanisms:

* ``object_colour → background_colour``: the background avoids the object colour so the object stays visible;
* ``shape → object_colour``: the spurious cue of strength ρ, active only in few-shot training sets (the data
  source D decides ρ; pre-training and test data have ρ = 0).

The factors are latent for the learner (CLIP sees only X and the caption), although the generator records
them in ``factors.json`` so that tests can check the world's statistics.

    python -m causalvlm.worlds.world_graph   # rewrites causalvlm/graphs/shapeworld.gml
"""

from __future__ import annotations

import networkx as nx

from causalvlm.scm import SCM

_FACTOR_DESCRIPTIONS = {
    "shape": "G_r: the object's shape, the task-relevant factor (24 classes)",
    "object_colour": "G_i: the object's colour (8 chromatic colours)",
    "background_colour": "G_i: the background colour (11 colours, never the object's)",
    "texture": "G_i: the background texture (plain, stripes, dots, checker)",
    "size": "G_i: the object's size (small, medium, large)",
    "position": "G_i: where the object sits (center, left, right, top, bottom)",
    "rotation": "G_i: the object's rotation, uniform in [-20, 20] degrees",
    "noise": "G_i: the std of Gaussian pixel noise, uniform in [0, 0.08]",
}
CAPTIONED_FACTORS = ("shape", "object_colour", "background_colour", "texture", "size", "position")


def shapeworld_scm() -> SCM:
    """The world's SCM: D, the eight factors, the image X and the caption Y."""
    graph = nx.DiGraph()
    graph.add_node(
        "D",
        latent=False,
        description="data source: pre-training corpus, few-shot training set "
        "(spurious cue of strength rho) or test set (rho = 0)",
    )
    for name, description in _FACTOR_DESCRIPTIONS.items():
        graph.add_node(name, latent=True, description=description)
    graph.add_node("X", latent=False, description="the rendered 64x64 RGB image")
    graph.add_node(
        "Y",
        latent=False,
        description="the paired caption (pre-training) naming a subset of the "
        "factors; its shape word is the downstream label",
    )
    graph.add_edges_from(
        [
            ("D", "shape"),
            ("D", "object_colour"),
            ("shape", "object_colour"),
            ("object_colour", "background_colour"),
        ]
    )
    graph.add_edges_from((factor, "X") for factor in _FACTOR_DESCRIPTIONS)
    graph.add_edges_from((factor, "Y") for factor in CAPTIONED_FACTORS)
    return SCM(
        graph,
        description="ShapeWorld, the generated world of causalvlm: the paper's pre-training graph "
        "with G_i split into named factors",
        name="shapeworld",
    )


if __name__ == "__main__":
    from causalvlm.scm import load_graph, save_graph
    from causalvlm.scm.gml_io import packaged_graphs_dir

    path = save_graph(shapeworld_scm(), packaged_graphs_dir() / "shapeworld.gml")
    print(f"wrote {path}: {sorted(load_graph('shapeworld').graph.nodes)}")
