"""Checkpoints of a fit: written atomically each epoch, read with a clear error, checked before a resume.

Every checkpoint written by :class:`~causalvlm.training.callbacks.EpochCheckpoint` carries, under
``RUN_KEY``, the run's resolved configuration, its fingerprint and the number of finished epochs. A resume is
refused (``ResumeError``, a ValueError) when that configuration differs from the current one — the message
lists the differing settings — or when the checkpoint has already trained more epochs than asked for.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from causalvlm.evaluation.atomic import temp_path_for
from causalvlm.runs.run_identity import fingerprint, what_changed

CHECKPOINT_NAME = "last.ckpt"  # the one checkpoint file of a run, replaced after every epoch
RUN_KEY = "causalvlm_run"  # {"fingerprint": str, "config": dict, "epochs_done": int} in each checkpoint
RESTART_HINT = "start it over with --overwrite (deletes the earlier runs) or choose another --out"


class ResumeError(ValueError):
    """A checkpoint that cannot be resumed under the current settings."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint's dict; a missing, truncated or corrupt file raises an error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint to resume from not found: {path}")
    try:
        # mmap: only what is read gets paged in, so checking a large checkpoint is cheap.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for bad files
        raise ValueError(
            f"checkpoint {path} is truncated or corrupt and cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'}); delete it to train that run "
            "from its start, or " + RESTART_HINT
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"checkpoint {path} is not a Lightning checkpoint (no 'state_dict')")
    return checkpoint


def epochs_done(checkpoint: Mapping[str, Any]) -> int:
    """Finished epochs recorded in a checkpoint (ours record them; Lightning's own count is the fallback)."""
    run = checkpoint.get(RUN_KEY)
    if isinstance(run, Mapping) and "epochs_done" in run:
        return int(run["epochs_done"])
    return int(checkpoint.get("epoch", 0))


def check_resume(
    checkpoint: Mapping[str, Any],
    path: str | Path,
    max_epochs: int,
    run_config: Mapping[str, Any] | None = None,
) -> None:
    """Refuse a resume that would mix numbers: more epochs done than asked, or a different configuration.

    ``run_config=None`` (a direct :func:`~causalvlm.training.trainer.fit` call without it) checks epochs only.
    """
    done = epochs_done(checkpoint)
    if done > max_epochs:
        raise ResumeError(
            f"cannot resume from {path}: it has already finished {done} epochs, more than the "
            f"max_epochs = {max_epochs} of this run (--epochs); resume with the epochs it was started with, "
            "or " + RESTART_HINT
        )
    if run_config is None:
        return
    stored = checkpoint.get(RUN_KEY)
    if not isinstance(stored, Mapping) or not isinstance(stored.get("config"), Mapping):
        raise ResumeError(
            f"cannot resume from {path}: it records no run configuration (written by an older causalvlm "
            "or another program), so it cannot be matched to these settings; " + RESTART_HINT
        )
    if stored.get("fingerprint") != fingerprint(run_config):
        raise ResumeError(
            f"cannot resume from {path}: it was trained with other settings "
            + what_changed(stored["config"], run_config, "checkpoint")
            + "\nResume with the same settings, or "
            + RESTART_HINT
        )


def save_checkpoint_atomically(trainer: pl.Trainer, path: str | Path) -> Path:
    """``trainer.save_checkpoint`` into a hidden temp file, fsync, then ``os.replace`` onto ``path``.

    Every rank calls this (``save_checkpoint`` synchronises them); global rank 0 writes and renames. A kill
    during the write leaves the previous checkpoint intact (plus a temp file the next start removes).
    """
    path = Path(path)
    temp = temp_path_for(path)
    # Every rank must pass the same path to the collective save; rank 0's temp name is the one written.
    temp = Path(trainer.strategy.broadcast(str(temp), src=0))
    try:
        trainer.save_checkpoint(str(temp))
        if trainer.is_global_zero:
            with open(temp, "rb") as stream:
                os.fsync(stream.fileno())
            os.replace(temp, path)
    except BaseException as error:
        if trainer.is_global_zero:
            temp.unlink(missing_ok=True)
        if _write_failed(error):  # a full disk or a refused permission: name the file, keep the old one
            code = getattr(error, "errno", None) or errno.EIO
            raise OSError(
                code, f"{getattr(error, 'strerror', None) or error} while writing {path} (left as it was)"
            ) from error
        raise
    return path


def _write_failed(error: BaseException) -> bool:
    """An OSError of the write (not a missing folder), or torch's writer failing (how torch.save reports a
    full disk: ``RuntimeError: ... PytorchStreamWriter failed writing file ...``)."""
    if isinstance(error, OSError):
        return not isinstance(error, FileNotFoundError)
    return isinstance(error, RuntimeError) and "PytorchStreamWriter failed" in str(error)


__all__ = [
    "CHECKPOINT_NAME",
    "RUN_KEY",
    "ResumeError",
    "check_resume",
    "epochs_done",
    "read_checkpoint",
    "save_checkpoint_atomically",
]
