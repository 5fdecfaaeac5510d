"""A fault during the work (a full disk, a refused permission) names the file and leaves no partial result:
results.json, written last, is absent, no temp file remains, and the folder can be resumed."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch
from helpers import write_jpeg_dataset, write_micro_clip

import causalvlm.evaluation.atomic as atomic
from causalvlm.evaluation.atomic import atomic_write_json, atomic_write_text

RUN_PY = Path(__file__).parents[2] / "examples" / "cdc" / "run.py"
pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names open files via /proc")


def _main():
    spec = importlib.util.spec_from_file_location("run_for_faults", RUN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _disk_full_when_writing(monkeypatch, names: tuple[str, ...], code: int = errno.ENOSPC) -> None:
    """``fsync`` of an atomic write's temp file for one of ``names`` fails as a full disk does."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        target = os.readlink(f"/proc/self/fd/{fd}")
        match = atomic.TEMP_NAME.match(Path(target).name)
        if match and match["target"] in names:
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_a_failed_write_names_the_file_and_keeps_the_old_content(tmp_path, monkeypatch, code):
    target = tmp_path / "results.json"
    atomic_write_json(target, {"old": True})
    _disk_full_when_writing(monkeypatch, ("results.json",), code)
    with pytest.raises(OSError, match=rf"{os.strerror(code)} while writing {target} \(left as it was\)"):
        atomic_write_text(target, "new")
    assert json.loads(target.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temp file left


@pytest.mark.parametrize("failing", ["results.md", "results.json"])
def test_a_full_disk_at_the_report_leaves_no_results_and_a_resumable_folder(
    tmp_path, monkeypatch, capsys, failing
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = tmp_path / "fast.yaml"
    settings.write_text(json.dumps({"compute_templates": [1], "train": {"batch_size": 4}}))
    argv = [
        "--config", str(settings), "--dataset", "imagefolder",
        "--data-root", str(write_jpeg_dataset(tmp_path / "colours")),
        "--backbone", str(write_micro_clip(tmp_path)), "--pretrained", "none",
        "--method", "zeroshot", "coop", "--seeds", "1", "--shots", "1", "--epochs", "1",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        _disk_full_when_writing(patch, (failing,))
        assert _main()(argv) == 1
    err = capsys.readouterr().err
    assert f"No space left on device while writing {out / failing}" in err and "Traceback" not in err
    assert not (out / "results.json").exists()
    assert not [p for p in out.rglob("*") if atomic.TEMP_NAME.match(p.name)]  # no half-written file
    assert (out / "runs" / "coop" / "imagefolder" / "seed1" / "checkpoints" / "last.ckpt").is_file()
    assert _main()([*argv, "--resume"]) == 0  # the finished run is reused; the report is written whole
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["results"]) == {"zeroshot", "coop"}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_a_checkpoint_that_cannot_be_written_is_named_and_the_last_one_kept(tmp_path, monkeypatch, code):
    """Lightning's ModelCheckpoint writes last.ckpt through DurableCheckpointIO: a full disk names the file
    and keeps the previous epoch's checkpoint."""
    from causalvlm.runs.checkpoints import DurableCheckpointIO

    last = tmp_path / "last.ckpt"
    last.write_bytes(b"the checkpoint of the previous epoch")
    _disk_full_when_writing(monkeypatch, ("last.ckpt",), code)
    with pytest.raises(OSError, match=rf"{os.strerror(code)} while writing {last} \(left as it was\)"):
        DurableCheckpointIO().save_checkpoint({"state_dict": {"w": torch.zeros(3)}}, last)
    assert last.read_bytes() == b"the checkpoint of the previous epoch"
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # the half-written temp file is gone
