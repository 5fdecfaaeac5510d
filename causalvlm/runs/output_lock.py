"""One experiment per output folder at a time, and what happens to a folder that holds an earlier experiment.

**Lock.** ``<out>/run.lock`` is held for the whole experiment with filelock's ``FileLock`` (``flock`` on
POSIX) and names its holder (pid, host, start time, command) in its text. A second experiment into the same
folder stops at once with that name. The kernel drops the lock when its process ends, however it ends, so the
lock of a killed run (``kill -9``) is taken over by the next start with no manual cleanup; the file itself is
removed on a normal exit. ``flock`` works on local file systems (and NFS v4); two hosts sharing a folder over
an older network file system are not guarded.

**An earlier experiment.** A folder whose ``runs/`` already holds runs is refused unless ``resume`` (continue
them; each run's settings are checked against its own) or ``overwrite`` (delete ``runs/`` and the earlier
results files, after every other check has passed, then start over). So a plain rerun never piles up
``last-v1.ckpt`` files or silently mixes two experiments.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from causalvlm.evaluation.atomic import remove_stale_temp_files
from causalvlm.evaluation.report import FIGURES, PROBE_FIGURE
from causalvlm.evaluation.results import RESULTS_JSON, RESULTS_MD

LOCK_NAME = "run.lock"
RUNS_NAME = "runs"
REPORT_FILES = (RESULTS_JSON, RESULTS_MD, *FIGURES.values(), PROBE_FIGURE)


class OutputInUseError(ValueError):
    """The output folder (the ``--out`` value) is locked by another running experiment."""


class OutputExistsError(ValueError):
    """The output folder holds an earlier experiment's runs, and neither resume nor overwrite was asked."""


def holder_info() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
    }


def describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "a process that has not written its name yet"
    return f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}" + (
        f" ({holder['command']})" if holder.get("command") else ""
    )


class OutputLock:
    """``with OutputLock(out):`` — exclusive use of ``out``; :class:`OutputInUseError` names the holder.

    ``previous`` is the holder recorded by a run that ended without releasing (killed), if any. A folder
    the lock had to create is removed again on release when nothing else was written into it (a run that
    failed its checks leaves no trace).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.previous: dict[str, Any] | None = None
        self._lock: FileLock | None = None
        self._created: list[Path] = []

    def acquire(self) -> OutputLock:
        self._created = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"--out {self.folder}: cannot create the output folder ({error})") from error
        lock = FileLock(self.path, thread_local=False)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            raise OutputInUseError(
                f"output folder {self.folder} is in use by another run: {describe_holder(_read(self.path))}. "
                f"Wait for it to finish or choose another --out (lock file {self.path}, released when "
                "that process ends)."
            ) from None
        self._lock = lock
        self.previous = _read(self.path)  # left by a run that was killed (its lock died with it)
        _write(self.path, holder_info())
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it: the next run makes a fresh file
        finally:
            self._lock.release()
            self._lock = None
        for folder in self._created:  # innermost first; stops at the first one that is not empty
            try:
                folder.rmdir()
            except OSError:
                break

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read(path: Path) -> dict[str, Any] | None:
    """The holder a lock file names, None when it names none (empty, damaged or gone)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        holder = json.loads(text) if text.strip() else None
    except (OSError, json.JSONDecodeError):
        return None
    return holder if isinstance(holder, dict) else None


def _write(path: Path, holder: dict[str, Any]) -> None:
    """Name the holder in the lock file it holds (a second descriptor; the lock stays on the first)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM (plain ``kill``) into ``SystemExit(143)`` inside the block, so ``finally`` clauses run:
    temp files of a write in progress are removed and the lock file goes. (SIGKILL cannot be caught; what
    it leaves is cleaned at the next start.) Only in the main thread, where Python delivers signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_output_folder(out: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse a folder holding an earlier experiment's runs or results unless ``resume`` or ``overwrite``.

    An experiment that trains nothing (zero-shot only) leaves no ``runs/``, only its results: those count
    as an earlier experiment too, so a plain rerun never replaces them.
    """
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other: continue the runs, or delete them")
    if resume or overwrite:
        return
    runs = Path(out) / RUNS_NAME
    if runs.is_dir() and any(runs.iterdir()):
        raise OutputExistsError(
            f"--out {out} already holds the runs of an earlier experiment ({runs}); add --resume to continue "
            "them (finished runs are reused, settings must match), --overwrite to delete them and start "
            "over, or choose another --out"
        )
    reports = report_files(out)
    if reports:
        raise OutputExistsError(
            f"--out {out} already holds the results of an earlier experiment ({reports[0]}); add --overwrite "
            "to replace them (or --resume to evaluate again and rewrite them), or choose another --out"
        )


def report_files(out: str | Path) -> list[Path]:
    """The results files and figures an experiment writes that are in ``out`` now, results.json first."""
    return [Path(out) / name for name in REPORT_FILES if (Path(out) / name).is_file()]


def remove_report_files(out: str | Path) -> list[Path]:
    """Delete the earlier results and figures in ``out`` (results.json first: it is what claims the rest),
    so a new report never sits beside figures the new experiment did not draw; returns what went."""
    removed = report_files(out)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def clean_output_folder(out: str | Path) -> list[Path]:
    """Remove temp files of interrupted writes from ``out`` and its run directories (call under the lock)."""
    out = Path(out)
    run_dirs = sorted((out / RUNS_NAME).glob("*/*/*"))
    return remove_stale_temp_files([out, *run_dirs, *(d / "checkpoints" for d in run_dirs)])


def clear_previous_outputs(out: str | Path) -> list[Path]:
    """``overwrite``: delete ``out/runs`` and the earlier results files and figures; returns what went."""
    out = Path(out)
    removed = []
    runs = out / RUNS_NAME
    if runs.exists():
        shutil.rmtree(runs)
        removed.append(runs)
    return removed + remove_report_files(out)


__all__ = [
    "LOCK_NAME",
    "OutputExistsError",
    "OutputInUseError",
    "OutputLock",
    "check_output_folder",
    "clean_output_folder",
    "clear_previous_outputs",
    "remove_report_files",
    "report_files",
    "sigterm_as_exit",
]
