"""The world's files on disk: where a task lives, whether it is intact, and the lock that guards its writing.

* A world's folder is keyed by its parameters (:func:`keyed_root`: ``<data_root>/worlds/<key>``, the key a
  digest of ``task.json``), so two runs that share a data root but not their world options never share (or
  rewrite) each other's images.
* Two runs with the same options share one folder: :func:`task_lock` (a ``filelock`` beside it) lets one
  write it while the other waits, and then reuses it.
* Files the run did not write in this process are checked when they are read (:func:`read_task_json`):
  a missing, empty, truncated or non-JSON file is named in the error. :func:`damage` says why a folder on
  disk cannot be reused (so ``make_task`` rebuilds it instead of training on a half-written world).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from filelock import FileLock
from PIL import Image

from causalvlm.data.base import Datum
from causalvlm.data.checks import read_text, validate_images
from causalvlm.worlds.factors import Factors
from causalvlm.worlds.render import render

WORLDS_DIRNAME = "worlds"  # <data_root>/worlds/<key>/shapeworld
LOCK_NAME = ".shapeworld.lock"  # beside the shapeworld/ folder it guards
KEY_LENGTH = 12  # hex digits of the parameters' sha256 (48 bits: no clash among a user's worlds)


def world_key(params: Mapping[str, Any]) -> str:
    """A short digest of a task's parameters (the content of its ``task.json``)."""
    text = json.dumps(dict(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def keyed_root(data_root: str | os.PathLike, params: Mapping[str, Any]) -> Path:
    """The folder that holds the ``shapeworld/`` task made with ``params`` under ``data_root``."""
    return Path(data_root) / WORLDS_DIRNAME / world_key(params)


def read_json_file(path: str | os.PathLike, what: str) -> Any:
    """A JSON file the run did not write itself; missing, empty, truncated or not JSON: an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        text = read_text(path)
    except ValueError as error:
        raise ValueError(f"{what} {error} (damaged?)") from None
    except OSError as error:
        raise ValueError(f"{what} {path} cannot be read ({error.strerror or error})") from None
    if not text.strip():
        raise ValueError(f"{what} {path} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {path} is damaged (truncated or not JSON: {error})") from None


def read_task_json(folder: str | os.PathLike) -> dict[str, Any]:
    """The parameters in ``<folder>/task.json``; a damaged file is named."""
    path = Path(folder) / "task.json"
    params = read_json_file(path, "world task file")
    if not isinstance(params, dict):
        kind = type(params).__name__
        raise ValueError(f"world task file {path} is damaged (expected a JSON object, got {kind})")
    return params


def damage(folder: Path, params: Mapping[str, Any], split_file: str, image_dirname: str) -> str | None:
    """Why the task in ``folder`` cannot be reused for ``params`` (None: it can).

    Checks ``task.json`` (same parameters), the split file and ``factors.json`` (readable JSON) and every
    image the split lists (present, non-empty, decodes): the world is small, so all of them are read.
    """
    if not folder.is_dir():
        return "missing"
    try:
        if read_task_json(folder) != dict(params):
            return "made with other parameters"
        split = read_json_file(folder / split_file, "world split file")
        read_json_file(folder / "factors.json", "world factor file")
        image_dir = folder / image_dirname
        paths = [image_dir / entry[0] for name in ("train", "val", "test") for entry in split[name]]
        validate_images([Datum(str(p), 0, "") for p in paths], max_report=1)
    except (ValueError, FileNotFoundError, KeyError, TypeError, IndexError) as error:
        return " ".join(str(error.args[0] if error.args else error).split())
    return None


@contextmanager
def task_lock(root: str | os.PathLike) -> Iterator[None]:
    """Hold ``<root>/.shapeworld.lock`` while the task under ``root`` is checked and (re)written."""
    with FileLock(str(Path(root) / LOCK_NAME)):
        yield


IMAGE_DIRNAME = "images"


def write_world(
    root: Path,
    dirname: str,
    split_file: str,
    params: Mapping[str, Any],
    draw: Callable[[], Mapping[str, Sequence[Factors]]],
    label: Callable[[Factors], int],
    classnames: Sequence[str],
) -> None:
    """Write a world dataset to ``root/dirname`` in the CoOp layout unless an intact one made with
    ``params`` is there; under :func:`task_lock`, so a second process waits, then reuses it.

    ``draw()`` gives the factors of each split ("train", "val", "test"), ``label(factors)`` an image's class
    and ``classnames[label]`` its folder. A damaged folder (:func:`damage`) is rebuilt with a warning saying
    why. The dataset is built beside the target and swapped in whole, so a crash never leaves half of it.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"task root folder {root} does not exist")
    folder = root / dirname
    with task_lock(root):
        reason = damage(folder, params, split_file, IMAGE_DIRNAME)
        if reason is None:
            return
        if reason not in ("missing", "made with other parameters"):
            warnings.warn(f"rebuilding the world task in {folder}: {reason}", stacklevel=3)
        splits = draw()
        tmp = Path(tempfile.mkdtemp(prefix=f".{dirname}-", dir=root))
        try:
            split: dict[str, list] = {}
            factor_rows: dict[str, dict] = {}
            for name in ("train", "val", "test"):
                split[name] = []
                for index, f in enumerate(splits[name]):
                    classname = classnames[label(f)]
                    rel = f"{name}/{classname}/{index:05d}.png"
                    (tmp / IMAGE_DIRNAME / name / classname).mkdir(parents=True, exist_ok=True)
                    Image.fromarray(render(f), mode="RGB").save(tmp / IMAGE_DIRNAME / rel)
                    split[name].append([rel, label(f), classname])
                    factor_rows[rel] = asdict(f)
            (tmp / split_file).write_text(json.dumps(split))
            (tmp / "factors.json").write_text(json.dumps(factor_rows))
            (tmp / "task.json").write_text(json.dumps(dict(params), indent=2))
            if folder.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{dirname}-old-", dir=root))
                os.replace(folder, old / dirname)
                shutil.rmtree(old)
            os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)


__all__ = [
    "LOCK_NAME",
    "WORLDS_DIRNAME",
    "damage",
    "keyed_root",
    "read_json_file",
    "read_task_json",
    "task_lock",
    "world_key",
    "write_world",
]
