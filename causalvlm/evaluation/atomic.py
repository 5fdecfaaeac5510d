"""Atomic file writes: write to a hidden temporary file beside the target, then ``os.replace`` it into place.

An interrupted run therefore leaves either the previous file or the complete new one, never a truncated one.
A ``kill -9`` during a write can still leave the temporary file ``.<name>.<random>.tmp`` behind (no code runs
after SIGKILL); :func:`remove_stale_temp_files` removes such leftovers, and the experiment calls it when it
starts, while it holds the output folder's lock.

A write that fails (a full disk, a refused permission) removes its temp file and raises an ``OSError``
that names the target; the target keeps its previous content (or stays absent).

Files are created with mode ``0o666`` minus the process umask (0644 under the usual umask 022), like files
written with ``open()``; ``tempfile.mkstemp`` would make them 0600, readable by their owner only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

# ".results.json.3f9a1c0b.tmp" → "results.json"; the random part is what temp_path_for() adds.
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{8}\.tmp$")


def temp_path_for(path: str | Path) -> Path:
    """A fresh hidden temporary path in ``path``'s folder, ``.<name>.<8 hex>.tmp`` (same file system)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _create(path: Path) -> int:
    """Open a new file for writing with the usual permissions (0o666 & ~umask); fails if it exists."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)


def _atomic(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temp = temp_path_for(path)
        try:
            handle = _create(temp)
            break
        except FileExistsError:  # 2^32 names; a clash only means: draw again
            continue
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException as error:
        if os.path.exists(temp):
            os.unlink(temp)
        if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
            # A full disk or a refused permission: name the file (the bare error names none); the target
            # is untouched, since only the temp file was being written.
            raise OSError(
                error.errno, f"{error.strerror or error} while writing {path} (left as it was)"
            ) from error
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return _atomic(path, lambda stream: stream.write(text.encode("utf-8")))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return _atomic(path, lambda stream: stream.write(data))


def atomic_write_json(path: str | Path, payload: Any) -> Path:
    # Serialise first: a value json cannot encode fails before the file is touched.
    text = json.dumps(payload, indent=2, sort_keys=False, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def atomic_save_figure(figure: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure; the format comes from the file suffix (``.png``, ``.pdf``, ``.svg``)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return _atomic(path, lambda stream: figure.savefig(stream, format=fmt, dpi=dpi, bbox_inches="tight"))


def stale_temp_files(folders: Iterable[str | Path]) -> list[Path]:
    """The temporary files of interrupted atomic writes directly inside ``folders`` (not recursive)."""
    found = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        found += [p for p in sorted(folder.iterdir()) if TEMP_NAME.match(p.name) and p.is_file()]
    return found


def remove_stale_temp_files(folders: Iterable[str | Path]) -> list[Path]:
    """Delete the leftovers of interrupted atomic writes in ``folders``; returns what was removed.

    Only call this while no other process writes there (the experiment holds the output folder's lock).
    """
    removed = []
    for path in stale_temp_files(folders):
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed
