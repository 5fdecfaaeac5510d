"""Checks that a path named by a setting or an option can be written, before any work is done.

The refusal is a :class:`~causalvlm.config_model.ConfigError` naming the setting (``out``,
``--data-root``) and the path; the command line (:mod:`causalvlm.cli`) and the checks before an experiment
(:mod:`causalvlm.experiments.preflight`) both ask these functions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from causalvlm.config_model import ConfigError


def check_folder_writable(path: str | Path, key: str) -> None:
    """``path`` is a folder that exists or can be created, and files can be written in it."""
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise ConfigError(key, f"{path} is an existing file, not a folder")
    ancestor = target
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(key, f"{path} lies under {ancestor}, which is a file, not a folder")
    check_writable(ancestor, key, path)


def check_file_writable(path: str | Path, key: str) -> None:
    """``path`` can be written as a file: not a folder, and its folder exists or can be created, writable."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise ConfigError(key, f"{path} is a folder; give a file name")
    ancestor = target.parent
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(key, f"{path} lies under {ancestor}, which is a file, not a folder")
    check_writable(ancestor, key, target.parent)


def check_writable(folder: Path, key: str, asked: str | Path) -> None:
    """Create and remove a temporary file in ``folder`` (the one test that holds for root and for ACLs)."""
    where = "" if Path(asked).expanduser() == folder else f" (the nearest existing folder of {asked})"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ConfigError(key, f"cannot write in {folder}{where}: {error.strerror or error}") from None


__all__ = ["check_file_writable", "check_folder_writable", "check_writable"]
