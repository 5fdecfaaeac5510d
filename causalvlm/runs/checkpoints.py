"""Checkpoints of a fit: written durably each epoch, read with a clear error, checked before a resume.

Every checkpoint of a fit (Lightning's ``ModelCheckpoint``, written by :class:`DurableCheckpointIO`) carries,
through :class:`~causalvlm.training.callbacks.RunRecord`, under
``RUN_KEY``, the run's resolved configuration, its fingerprint and the number of finished epochs. A resume is
refused (``ResumeError``, a ValueError) when that configuration differs from the current one — the message
lists the differing settings — or when the checkpoint has already trained more epochs than asked for.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from causalvlm.evaluation.atomic import atomic_write_bytes
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
    refuse_other_settings(stored, run_config, f"cannot resume from {path}: it was trained", "checkpoint")


def refuse_other_settings(
    stored: Mapping[str, Any], run_config: Mapping[str, Any], refusal: str, label: str
) -> None:
    """ResumeError (``refusal`` + "with other settings" + what changed) unless the stored record's
    fingerprint is ``run_config``'s; ``label`` names the stored side in the list of changes."""
    if stored.get("fingerprint") != fingerprint(run_config):
        raise ResumeError(
            f"{refusal} with other settings "
            + what_changed(stored["config"], run_config, label)
            + "\nResume with the same settings, or "
            + RESTART_HINT
        )


class DurableCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, writing through :func:`~causalvlm.evaluation.atomic.atomic_write_bytes`.

    Lightning's own atomic save (``fsspec`` transaction) serialises to memory, writes a temp file in the
    system temp folder, then ``shutil.move``s it onto the target: when that folder is on another file system
    (a tmpfs ``/tmp``, a network drive for the runs) the move is a copy, and a kill during the copy leaves a
    half-written ``last.ckpt``; nothing is fsynced either. This writer keeps Lightning's serialisation and
    replaces only that step: the temp file sits beside the target (same file system), is fsynced, then
    ``os.replace``d. A kill leaves the previous checkpoint whole (and a temp file the next start removes);
    a full disk raises an ``OSError`` naming the checkpoint and leaves the previous one as it was. The
    Trainer calls it on global rank 0 only.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:  # as TorchCheckpointIO: no options for a local file
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # a value torch cannot save fails here, before the file is touched
        atomic_write_bytes(path, buffer.getvalue())


__all__ = [
    "CHECKPOINT_NAME",
    "DurableCheckpointIO",
    "RUN_KEY",
    "ResumeError",
    "check_resume",
    "epochs_done",
    "read_checkpoint",
]
