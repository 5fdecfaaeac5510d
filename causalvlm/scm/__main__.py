"""``python -m causalvlm.scm GRAPH --treatment X [X2 ...] --outcome Y [Y2 ...] [--given Z ...] [--out FIG]``

Prints the graph's variables and the identification result (text and LaTeX; the hedge when there is no
formula). For one treatment and one outcome it also prints the back-door paths and the minimal back-door
and front-door sets. With ``--out`` it also draws the layered figure there (.png, .svg or .pdf); without it
nothing is written.

Bad input (an unknown graph name, a folder or a non-GML file given as the graph, an unknown or latent node,
a figure path with another suffix, under a file or in a folder that cannot be written) prints
``error: ...`` naming the value at fault and exits with status 2, before any figure is drawn.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from causalvlm.scm.criteria import backdoor_sets, frontdoor_sets, is_path_blocked
from causalvlm.scm.gml_io import load_graph
from causalvlm.scm.identification import identify


def _fmt_sets(sets: list[frozenset[str]]) -> str:
    return ", ".join("{" + ", ".join(sorted(s)) + "}" for s in sets) or "none"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m causalvlm.scm", description=__doc__.splitlines()[0])
    parser.add_argument("graph", help="shipped graph name (e.g. smoking_tar_cancer) or path to a .gml file")
    parser.add_argument("--treatment", required=True, nargs="+", help="treatment node(s) X")
    parser.add_argument("--outcome", required=True, nargs="+", help="outcome node(s) Y")
    parser.add_argument("--given", nargs="*", default=[], help="conditioning node(s) Z: P(Y | do(X), Z)")
    parser.add_argument(
        "--out", default=None, help="also draw the graph to this file (.png/.svg/.pdf); default: print only"
    )
    args = parser.parse_args(argv)
    try:
        out = None
        if args.out is not None:
            from causalvlm.scm.drawing import check_figure_path  # matplotlib loads only when drawing

            out = check_figure_path(args.out)
        scm = load_graph(args.graph)
        result = identify(scm, args.treatment, args.outcome, args.given)
        print(f"graph {scm.name}: {scm.description}")
        for node in scm.topological_order():
            kind = "latent  " if node in scm.latents else "observed"
            print(f"  {kind} {node:<10} {scm.node_description(node)}")
        if len(result.treatments) == 1 and len(result.outcomes) == 1 and not result.given:
            x, y = result.treatment, result.outcome
            print(f"back-door paths from {x} to {y}:")
            for path in scm.backdoor_paths(x, y):
                state = "blocked" if is_path_blocked(scm, path) else "open"
                print(f"  {' - '.join(path)}  ({state} without adjustment)")
            print(f"minimal back-door sets: {_fmt_sets(backdoor_sets(scm, x, y, minimal=True))}")
            print(f"minimal front-door sets: {_fmt_sets(frontdoor_sets(scm, x, y, minimal=True))}")
        print(f"identification: {result.kind}")
        print(f"  estimand: {result.estimand}")
        print(f"  latex:    {result.latex}")
        if out is not None:
            from causalvlm.scm.drawing import draw_scm

            label = {"frontdoor": "front-door set", "backdoor": "back-door set"}.get(result.kind, "")
            highlight = result.adjustment_set or (result.hedge.forest if result.hedge else ())
            label = label or ("hedge F" if result.hedge else "")
            draw_scm(scm, out, highlight=highlight, highlight_label=label)
            print(f"figure: {out}")
    except (ValueError, KeyError, OSError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
