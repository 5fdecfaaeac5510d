"""Checks that run before any training: folders and files exist, images open.

Every failure names the path at fault, so a user with a half-downloaded ``$DATA`` tree learns which file to
fetch instead of seeing a crash deep inside a data-loader worker an hour into training.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from PIL import Image

from causalvlm.data.base import DatasetSplits, Datum

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

# Where each CoOp split file and class list comes from, quoted in "missing file" errors.
COOP_DATASETS_DOC = "https://github.com/KaiyangZhou/CoOp/blob/main/DATASETS.md"


def require_dir(path: str, what: str) -> str:
    if not os.path.isdir(path):
        kind = "is not a folder" if os.path.exists(path) else "does not exist"
        raise FileNotFoundError(f"{what} {path} {kind} (expected layout: {COOP_DATASETS_DOC})")
    return path


def require_file(path: str, what: str) -> str:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} {path} does not exist (expected layout: {COOP_DATASETS_DOC})")
    return path


def read_text(path: str | os.PathLike) -> str:
    """A text file the run did not write: UTF-8, with a leading byte-order mark (as spreadsheets and some
    editors write) dropped. Another encoding is named with the file, never guessed (a Latin-1 file would
    decode to other class names)."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{os.fspath(path)}: is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}; "
            "Latin-1 or Windows-1252?); save it as UTF-8"
        ) from None


def list_subdirs(path: str) -> list[str]:
    """Sorted names of the visible sub-folders of ``path``."""
    return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))


def list_images(path: str) -> list[str]:
    """Sorted names of the visible image files directly inside ``path``."""
    return sorted(
        e.name
        for e in os.scandir(path)
        if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(IMAGE_EXTENSIONS)
    )


def _spread(paths: list[str], max_check: int | None) -> list[str]:
    """At most ``max_check`` paths spread evenly over the list, so every class and split gets looked at."""
    if max_check is None or max_check >= len(paths):
        return paths
    if max_check <= 0:
        return []
    step = len(paths) / max_check
    return [paths[int(i * step)] for i in range(max_check)]


def _unreadable_reason(path: str) -> str | None:
    try:
        with Image.open(path) as image:
            image.load()  # decode fully: a truncated JPEG opens fine and only fails here
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def validate_images(
    data: DatasetSplits | Iterable[Datum], max_check: int | None = None, max_report: int = 10
) -> int:
    """Check that images exist and decode with PIL; return how many were checked.

    ``data`` is a :class:`DatasetSplits` (all splits) or any iterable of :class:`Datum`. ``max_check`` bounds
    the work on large test sets (``None`` checks every image). Missing files raise ``FileNotFoundError``,
    files PIL cannot decode raise ``ValueError``; both list up to ``max_report`` offending paths.
    """
    datums = data.all_data() if isinstance(data, DatasetSplits) else list(data)
    paths = list(dict.fromkeys(d.impath for d in datums))
    checked = _spread(paths, max_check)
    missing = [p for p in checked if not os.path.isfile(p)]
    if missing:
        shown = "\n  ".join(missing[:max_report])
        raise FileNotFoundError(f"{len(missing)} of {len(checked)} checked images do not exist:\n  {shown}")
    broken = [(p, reason) for p in checked if (reason := _unreadable_reason(p)) is not None]
    if broken:
        shown = "\n  ".join(f"{p} ({reason})" for p, reason in broken[:max_report])
        raise ValueError(f"{len(broken)} of {len(checked)} checked images cannot be read:\n  {shown}")
    return len(checked)
