"""The paper's Fig. 1a: cosine similarity of images with their full description, the class-only prompt and
each single factor's phrase, plotted as one figure.

    python examples/cdc/probe_similarity.py                          # ShapeWorld images + the tiny CLIP
    python examples/cdc/probe_similarity.py --csv my_images.csv --backbone ViT-B-16 --pretrained openai

On the world the descriptions come from each image's known factors; for real images from a CSV file
(columns image, class, description, part:<factor>...; see causalvlm.evaluation.probe_csv). Writes
DIR/similarity_probe.png and DIR/probe.json (mean, std and count of every cosine, and the control).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

import causalvlm.worlds as worlds
from causalvlm.cli import CheckedParser, integer, seed, text
from causalvlm.data import Datum
from causalvlm.evaluation.atomic import atomic_write_json
from causalvlm.evaluation.features import encode_images
from causalvlm.evaluation.plots import plot_similarity_probe
from causalvlm.evaluation.probe import encode_pil, similarity_probe, world_descriptions
from causalvlm.evaluation.probe_csv import (
    DEFAULT_TEMPLATE,
    check_template,
    check_text_lengths,
    read_probe_csv,
)
from causalvlm.experiments.experiment import check_backbone_options
from causalvlm.experiments.protocols import load_backbone


def _template(value: str) -> str:
    try:
        return check_template(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = CheckedParser(description=__doc__)
    p.add_argument(
        "--csv",
        type=text("a CSV file"),
        help="real images: a CSV of image, class, description, part:<factor>...",
    )
    p.add_argument(
        "--template",
        type=_template,
        default=DEFAULT_TEMPLATE,
        help="class-only prompt for --csv (%(default)r)",
    )
    p.add_argument("--images", type=integer(2), default=1200, help="world: number of images to render (>= 2)")
    p.add_argument("--seed", type=seed, default=10_000, help="world: seed of the rendered images")
    p.add_argument(
        "--backbone", type=text("an architecture or .json file"), default=str(worlds.TINY_CLIP_CONFIG),
        help="open_clip arch or config JSON",
    )  # fmt: skip
    p.add_argument(
        "--pretrained", type=text("a checkpoint file, a tag or none"),
        default=str(worlds.TINY_CLIP_CHECKPOINT), help="tag, checkpoint or none",
    )  # fmt: skip
    p.add_argument("--control-seed", type=seed, default=0, help="seed of the mismatched-text control")
    p.add_argument("--out", type=text("a folder"), default="outputs/probe", help="output folder")
    return p.parse_checked(argv, folders=("out",), distinct=())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # a bad option, or an --out that cannot be written, exits here with status 2
    pretrained = None if args.pretrained in ("none", "None") else args.pretrained
    try:
        check_backbone_options(args.backbone, pretrained)
        rows = read_probe_csv(args.csv, args.template) if args.csv else None
        backbone = load_backbone(args.backbone, pretrained)
        if rows is not None:
            check_text_lengths(backbone, rows, args.csv)
            descriptions = [row.description for row in rows]
            features, _ = encode_images(backbone, [Datum(str(row.image), 0, "") for row in rows])
        else:
            data = worlds.render_images(args.images, seed=args.seed)
            descriptions = world_descriptions(data.factors)
            features = encode_pil(backbone, [Image.fromarray(image) for image in data.images])
        result = similarity_probe(backbone, features, descriptions, control_seed=args.control_seed)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    source = args.csv or f"ShapeWorld, {args.images} rendered images (seed {args.seed})"
    summary = {"source": source, "backbone": args.backbone, "pretrained": pretrained, **result.summary()}
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "probe.json").unlink(missing_ok=True)  # probe.json is written last, after what it describes
        plot_similarity_probe(result, out / "similarity_probe.png")
        atomic_write_json(out / "probe.json", summary)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{'text':<20} {'mean cos':>9} {'std':>7} {'other image':>12}")
    for kind, entry in summary["cosine"].items():
        control = entry.get("mismatched_mean")
        print(
            f"{kind:<20} {entry['mean']:>9.3f} {entry['std']:>7.3f} "
            f"{'' if control is None else f'{control:.3f}':>12}"
        )
    print(f"full description above class only for {100 * summary['full_above_class']:.1f} % of images")
    print(f"wrote {out / 'similarity_probe.png'} and {out / 'probe.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
