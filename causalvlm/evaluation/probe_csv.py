"""Descriptions of real images for the similarity probe, read from a CSV file.

The format (UTF-8, with or without the byte-order mark spreadsheets write; comma-separated; one header row)::

    image,class,description,part:colour,part:background
    images/0001.jpg,dog,a photo of a brown dog on green grass.,a photo of something brown.,a photo of grass.
    images/0002.jpg,cat,a photo of a black cat on a sofa.,a photo of something black.,

* ``image`` — the image file; a relative path is read from the CSV file's folder;
* ``class`` — the class name; the class-only prompt is the template with it filled in
  ("a photo of a {}." by default);
* ``description`` — the full description of the image: its class and the other factors it shows;
* ``part:<factor>`` — one column per factor (at least one): that factor's phrase alone for this image, or an
  empty cell when the image has no such factor. ``<factor>`` names the distribution in the figure.

Every problem is reported with the file, the row (the file's line number) and the column before any image
is encoded: a file that is not UTF-8, a missing or unknown column, a short or long row, an empty required
cell, a row that repeats an earlier one, a missing or unreadable image, a text longer than the text
encoder's context.
"""

from __future__ import annotations

import csv
import io
import string
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from causalvlm.backbones import FrozenCLIP
from causalvlm.data.checks import read_text
from causalvlm.evaluation.probe import Description

REQUIRED_COLUMNS = ("image", "class", "description")
PART_PREFIX = "part:"
DEFAULT_TEMPLATE = "a photo of a {}."


@dataclass(frozen=True)
class ProbeRow:
    """One image of the CSV with its texts; ``line`` is its line number in the file."""

    image: Path
    description: Description
    line: int


def _format_help() -> str:
    return (
        f"required columns: {', '.join(REQUIRED_COLUMNS)}; plus one or more '{PART_PREFIX}<factor>' columns "
        "(see causalvlm.evaluation.probe_csv)"
    )


def _check_header(path: Path, header: list[str] | None) -> list[str]:
    if not header:
        raise ValueError(f"{path}: empty file; expected a header row ({_format_help()})")
    header = [name.strip() for name in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}: column(s) {repeated} appear more than once in the header")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; {_format_help()}")
    unknown = [n for n in header if n not in REQUIRED_COLUMNS and not n.startswith(PART_PREFIX)]
    if unknown:
        raise ValueError(f"{path}: unknown column(s) {unknown}; {_format_help()}")
    parts = [n for n in header if n.startswith(PART_PREFIX)]
    if not parts:
        raise ValueError(f"{path}: no '{PART_PREFIX}<factor>' column; {_format_help()}")
    empty = [n for n in parts if not n[len(PART_PREFIX) :].strip()]
    if empty:
        raise ValueError(f"{path}: column {empty[0]!r} names no factor; write '{PART_PREFIX}<factor>'")
    return header


def _check_image(path: Path, line: int, image: Path) -> None:
    where = f"{path}, row {line}, column 'image'"
    if not image.is_file():
        raise FileNotFoundError(f"{where}: no such image file: {image}")
    try:
        with Image.open(image) as opened:
            opened.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{where}: not a readable image: {image} ({error})") from error


def check_template(template: str) -> str:
    """``template`` with exactly one ``{}`` slot (the class name) and no other braces; else ValueError."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise ValueError(f"template {template!r} is not a format string ({error})") from None
    if not fields:
        raise ValueError(f"template {template!r} has no '{{}}' where the class name goes")
    if fields != [""]:
        raise ValueError(
            f"template {template!r} has {len(fields)} slot(s) {['{' + f + '}' for f in fields]}; it needs "
            "exactly one '{}' where the class name goes"
        )
    return template


def read_probe_csv(path: str | Path, template: str = DEFAULT_TEMPLATE) -> list[ProbeRow]:
    """The rows of a probe CSV (format in the module docstring), every cell and image checked."""
    path = Path(path)
    check_template(template)
    if not path.is_file():
        raise FileNotFoundError(f"probe CSV not found: {path}")
    rows: list[ProbeRow] = []
    seen: dict[tuple, int] = {}  # (image, texts) → the line that first had them
    with io.StringIO(read_text(path), newline="") as handle:
        reader = csv.reader(handle)
        header = _check_header(path, next(reader, None))
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are allowed
            if len(cells) != len(header):
                raise ValueError(
                    f"{path}, row {line}: {len(cells)} field(s), but the header has {len(header)} "
                    "(a comma inside a text needs the text in double quotes)"
                )
            cell = {name: value.strip() for name, value in zip(header, cells, strict=True)}
            for name in REQUIRED_COLUMNS:
                if not cell[name]:
                    raise ValueError(f"{path}, row {line}, column {name!r}: empty")
            image = Path(cell["image"]).expanduser()
            image = image if image.is_absolute() else path.parent / image
            _check_image(path, line, image)
            parts = {
                name[len(PART_PREFIX) :].strip(): cell[name]
                for name in header
                if name.startswith(PART_PREFIX) and cell[name]
            }
            description = Description(cell["description"], template.format(cell["class"]), parts)
            key = (
                str(image.resolve()),
                description.full,
                description.class_prompt,
                tuple(sorted(parts.items())),
            )
            if key in seen:
                raise ValueError(
                    f"{path}, row {line}: repeats row {seen[key]} (the same image and texts); a repeated row "
                    "would count that image twice"
                )
            seen[key] = line
            rows.append(ProbeRow(image, description, line))
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    return rows


def check_text_lengths(backbone: FrozenCLIP, rows: list[ProbeRow], path: str | Path) -> None:
    """ValueError naming file, row and column of the first text longer than the text encoder's context."""
    for row in rows:
        texts = {"description": row.description.full, "class": row.description.class_prompt}
        texts |= {PART_PREFIX + k: v for k, v in row.description.parts.items()}
        for column, text in texts.items():
            try:
                backbone.tokenize([text])
            except ValueError as error:
                raise ValueError(f"{path}, row {row.line}, column {column!r}: {error}") from error
