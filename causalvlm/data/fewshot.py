"""K-shot sampling per seed, as Dassl draws it; cached as ``<dataset>/split_fewshot/shot_{K}-seed_{S}.json``.

The draw is the one CoOp makes. CoOp's ``train.py`` seeds Python's ``random`` with the run's seed
(``set_random_seed``) before it builds the dataset, and nothing draws from ``random`` in between; the dataset
then calls Dassl's ``generate_fewshot_dataset`` on the training list and, from the same stream, on the
validation list with min(K, 4) shots. That function groups items by label in first-appearance order (a
``defaultdict``) and, class by class, calls ``random.sample(items, K)`` when the class has at least K items
(exactly K included: the stream advances, even though the sample is the whole class in a new order) and keeps
the class as it is when it has fewer (CoOp never sets Dassl's ``repeat``). :func:`sample_fewshot` does the
same with a private ``random.Random(seed)``, whose stream equals the global one after ``random.seed(seed)``,
so global random state elsewhere in a run cannot change it.

CoOp caches the same sample as a pickle (``.pkl``) of Dassl objects; we write JSON (readable, no Dassl
needed) and never read CoOp's pickles. Paths in the cache are relative to the dataset folder so the tree can
move. Caches of format 1 were drawn before the draw matched Dassl's; they are redrawn, with a warning.
"""

from __future__ import annotations

import json
import operator
import os
import random
import tempfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from causalvlm.data.base import Datum, readable_classname
from causalvlm.data.checks import read_text
from causalvlm.data.splits import check_label

FEWSHOT_DIRNAME = "split_fewshot"
CACHE_FORMAT = 2  # 2: Dassl's draw (1 skipped classes of exactly K items and visited labels sorted)
STALE_CACHE_FORMATS = (1,)  # redrawn with a warning instead of an error
MAX_VAL_SHOTS = 4  # CoOp keeps at most 4 validation images per class in few-shot runs


def check_num_shots(num_shots: Any) -> int:
    """``num_shots`` as an int; anything that is not an integer (2.5, "16", True) raises a ValueError."""
    if isinstance(num_shots, bool):
        raise ValueError(f"num_shots must be an integer number of images per class, got {num_shots!r}")
    try:
        return operator.index(num_shots)
    except TypeError:
        raise ValueError(
            f"num_shots must be an integer number of images per class, got {num_shots!r}"
        ) from None


def sample_fewshot(data: list[Datum], num_shots: int, rng: random.Random) -> list[Datum]:
    """``num_shots`` images per label, drawn exactly as Dassl's ``generate_fewshot_dataset`` draws them.

    Labels are visited in order of first appearance in ``data``; a class with at least ``num_shots`` items
    gets ``rng.sample(items, num_shots)`` (one draw even when it has exactly that many), a smaller class
    keeps all its items without a draw.
    """
    num_shots = check_num_shots(num_shots)
    if num_shots < 1:
        raise ValueError(f"num_shots must be >= 1 for few-shot sampling, got {num_shots}")
    by_label: dict[int, list[Datum]] = {}
    for datum in data:
        by_label.setdefault(datum.label, []).append(datum)
    out: list[Datum] = []
    for items in by_label.values():
        out.extend(rng.sample(items, num_shots) if len(items) >= num_shots else items)
    return out


def fewshot_cache_path(dataset_dir: str, num_shots: int, seed: int) -> str:
    return os.path.join(dataset_dir, FEWSHOT_DIRNAME, f"shot_{num_shots}-seed_{seed}.json")


def _encode(data: list[Datum], dataset_dir: str) -> list[list]:
    return [[os.path.relpath(d.impath, dataset_dir), d.label, d.classname, d.domain] for d in data]


def _decode(
    entries: object, dataset_dir: str, path: str, key: str, classnames: Sequence[str] | None
) -> list[Datum]:
    """Cache entries as Datums, each checked as the split reader checks its entries (``check_label``): a
    fractional, negative, out-of-range or missing label, or a class name that is not the label's, names
    the file and the entry. The cache may have been edited or written by another tool; ``int()`` would
    drop entries or train them under another class without a word."""
    if not isinstance(entries, list):
        raise ValueError(f"few-shot cache {path}: {key!r} must be a list; delete the file to resample")
    out = []
    for index, entry in enumerate(entries):
        where = f"few-shot cache {path}: {key}[{index}]"
        if not (isinstance(entry, list) and len(entry) == 4):
            raise ValueError(
                f"{where} is malformed: {entry!r}; expected [image path, label, class name, domain] "
                "(delete the file to resample)"
            )
        impath, label, classname, domain = entry
        if not isinstance(impath, str) or not isinstance(classname, str):
            raise ValueError(f"{where} has a non-string path or class name: {entry!r}")
        label = check_label(label, where, len(classnames) if classnames is not None else None)
        if classnames is not None and readable_classname(classname) != readable_classname(classnames[label]):
            raise ValueError(
                f"{where} has the label {label} with class name {classname!r}, but label {label} is "
                f"{classnames[label]!r}; delete the file to resample"
            )
        domain = check_label(domain, f"{where} (domain)")
        out.append(Datum(os.path.join(dataset_dir, impath), label, classname, domain))
    return out


def _read_cache(
    path: str, dataset_dir: str, num_shots: int, seed: int, classnames: Sequence[str] | None = None
) -> tuple[list[Datum], list[Datum]] | None:
    """The cached (train, val), or None for a cache of a stale format that must be redrawn."""
    try:
        cache = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"few-shot cache {path} is not valid JSON ({error}); delete it to resample"
        ) from None
    if not isinstance(cache, dict) or cache.get("format") not in (CACHE_FORMAT, *STALE_CACHE_FORMATS):
        raise ValueError(f"few-shot cache {path} has an unknown format; delete it to resample")
    if (cache.get("num_shots"), cache.get("seed")) != (num_shots, seed):
        raise ValueError(
            f"few-shot cache {path} holds shots={cache.get('num_shots')} seed={cache.get('seed')}, "
            f"not shots={num_shots} seed={seed}; delete it to resample"
        )
    if cache["format"] in STALE_CACHE_FORMATS:
        return None
    return (
        _decode(cache.get("train"), dataset_dir, path, "train", classnames),
        _decode(cache.get("val"), dataset_dir, path, "val", classnames),
    )


def _write_cache(path: str, payload: dict) -> None:
    """Write to a temp file and rename, so an interrupted run never leaves a truncated cache."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=os.path.dirname(path))
    except OSError as error:  # a read-only shared $DATA: sampling is deterministic, so skipping is safe
        warnings.warn(
            f"cannot cache the few-shot split at {path} ({error}); it will be resampled", stacklevel=3
        )
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_or_sample_fewshot(
    dataset_dir: str,
    num_shots: int,
    seed: int,
    read_train: Callable[[], list[Datum]],
    read_val: Callable[[], list[Datum]] | None = None,
    classnames: Sequence[str] | None = None,
) -> tuple[list[Datum], list[Datum] | None]:
    """The K-shot train (and val, at most 4 per class) sample for ``seed``, from the cache or freshly drawn.

    ``read_train``/``read_val`` are only called when there is no cache, so a cached ImageNet run never lists
    its 1.28M training images. ``val`` is ``None`` when ``read_val`` is. ``classnames`` (by label) lets a
    cached entry's label and class name be checked against the dataset's.
    """
    num_shots = check_num_shots(num_shots)
    if num_shots < 1:
        raise ValueError(f"num_shots must be >= 1 for few-shot sampling, got {num_shots}")
    path = fewshot_cache_path(dataset_dir, num_shots, seed)
    if os.path.isfile(path):
        cached = _read_cache(path, dataset_dir, num_shots, seed, classnames)
        if cached is not None:
            cached_train, cached_val = cached
            return cached_train, (cached_val if read_val is not None else None)
        warnings.warn(
            f"few-shot cache {path} was drawn by an older sampler that differed from Dassl's; redrawing it",
            stacklevel=2,
        )
    rng = random.Random(seed)  # the stream of random.seed(seed), as CoOp's set_random_seed leaves it
    train = sample_fewshot(read_train(), num_shots, rng)
    val = sample_fewshot(read_val(), min(num_shots, MAX_VAL_SHOTS), rng) if read_val is not None else None
    payload = {
        "format": CACHE_FORMAT,
        "num_shots": num_shots,
        "seed": seed,
        "train": _encode(train, dataset_dir),
        "val": _encode(val or [], dataset_dir),
    }
    _write_cache(path, payload)
    return train, val
