"""What examples/cdc/run.py does with an output folder that already holds runs, a locked folder, a damaged
checkpoint, and a resume under changed settings (each refused before any training, with what differs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_cdc_run import base_args, run

from causalvlm.experiments.config import world_recipe
from causalvlm.runs.output_lock import LOCK_NAME, OutputLock, sigterm_as_exit

RUN = Path("runs") / "coop" / "imagefolder" / "seed1"


def _fast_config(folder: Path) -> Path:
    path = folder / "fast.yaml"
    path.write_text(
        yaml.safe_dump({"compute_templates": [1], "train": {"batch_size": 4, "eval_batch_size": 64}})
    )
    return path


@pytest.fixture(scope="module")
def finished_run(micro_clip_path, jpeg_root, tmp_path_factory):
    """One finished 2-epoch CoOp run, made once for this module; tests work on copies of it."""
    root = tmp_path_factory.mktemp("finished")
    config = _fast_config(root)
    out = root / "out"
    argv = base_args(micro_clip_path, jpeg_root, out, config) + ["--seeds", "1", "--method", "coop"]
    argv[argv.index("--epochs") + 1] = "2"
    assert run.main(argv) == 0
    return argv, out


@pytest.fixture
def first_run(finished_run, tmp_path):
    """A copy of the finished run in tmp_path/out; returns (argv, out)."""
    argv, source = finished_run
    out = tmp_path / "out"
    shutil.copytree(source, out)
    return _with(argv, "--out", str(out)), out


def _snapshot(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.rglob("*")) if p.is_file()}


def _with(argv: list[str], option: str, value: str) -> list[str]:
    argv = list(argv)
    argv[argv.index(option) + 1] = value
    return argv


def test_each_run_records_its_configuration(first_run):
    _, out = first_run
    stored = json.loads((out / RUN / "config.json").read_text())
    config = stored["config"]
    assert len(stored["fingerprint"]) == 64
    assert config["shots"] == 2 and config["seed"] == 1 and config["dataset"] == "imagefolder"
    # --epochs replaces one key; the rest of the default recipe (the world's) is what the run used
    assert config["train"]["max_epochs"] == 2 and config["train"]["optim"]["lr"] == world_recipe().optim.lr
    assert config["method"]["method"] == "coop" and config["template"]
    assert config["data"]["train"]["images"] == 4  # 2 shots × 2 base classes
    assert config["backbone"]["weights"].startswith("random init sha256 ")
    assert sorted(p.name for p in (out / RUN / "checkpoints").iterdir()) == ["last.ckpt"]


def test_a_plain_rerun_is_refused_before_any_work(first_run, capsys):
    argv, out = first_run
    before = _snapshot(out)
    capsys.readouterr()
    assert run.main(argv) == 2
    error = capsys.readouterr().err
    assert "already holds the runs of an earlier experiment" in error and "--resume" in error
    assert "--overwrite" in error
    assert _snapshot(out) == before  # nothing touched


def test_overwrite_starts_over_with_one_checkpoint(first_run, capsys):
    argv, out = first_run
    (out / RUN / "checkpoints" / "stray.txt").write_text("left from before")
    assert run.main(argv + ["--overwrite"]) == 0
    assert "--overwrite: removed" in capsys.readouterr().out
    assert sorted(p.name for p in (out / RUN / "checkpoints").iterdir()) == ["last.ckpt"]
    assert len(list((out / RUN / "logs").rglob("version_*"))) == 1
    assert run.main(argv + ["--overwrite", "--resume"]) == 2
    assert "exclude each other" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "differing"),
    [
        (["--shots", "1"], ["shots: 2 → 1", "data.train.images: 4 → 2"]),
        (["--epochs", "3"], ["train.max_epochs: 2 → 3"]),
        (["--batch-size", "2"], ["train.batch_size: 4 → 2"]),
        # the augmentation does not change CoOp's row label: only the configuration tells the runs apart
        (["--method", "coop", "--aug", "none"], ["method.augmentation: 'aug2' → 'none'"]),
    ],
)
def test_resume_under_other_settings_is_refused_and_lists_them(first_run, change, differing, capsys):
    argv, out = first_run
    argv = list(argv)
    for option, value in zip(change[::2], change[1::2], strict=True):
        argv = _with(argv, option, value) if option in argv else argv + [option, value]
    before = _snapshot(out)
    capsys.readouterr()
    assert run.main(argv + ["--resume"]) == 2
    error = capsys.readouterr().err
    assert "other settings" in error and str(out / RUN) in error
    for line in differing:
        assert line in error
    assert _snapshot(out) == before


def test_resume_with_changed_optimiser_in_yaml_names_the_key(first_run, tmp_path, capsys):
    argv, out = first_run
    config = Path(argv[argv.index("--config") + 1])
    settings = yaml.safe_load(config.read_text())
    settings["train"]["optim"] = {"lr": 0.01}
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(settings))
    assert run.main(_with(argv, "--config", str(changed)) + ["--resume"]) == 2
    assert f"train.optim.lr: {world_recipe().optim.lr} → 0.01" in capsys.readouterr().err


def test_resume_with_fewer_epochs_than_done_is_a_clear_error(first_run, capsys):
    argv, _ = first_run
    assert run.main(_with(argv, "--epochs", "1") + ["--resume"]) == 2
    error = capsys.readouterr().err
    assert "already finished 2 epochs, more than the max_epochs = 1" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_checkpoint_is_named(first_run, damage, capsys):
    argv, out = first_run
    checkpoint = out / RUN / "checkpoints" / "last.ckpt"
    data = checkpoint.read_bytes()
    damaged = {"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint" * 9, "empty": b""}
    checkpoint.write_bytes(damaged[damage])
    capsys.readouterr()
    assert run.main(argv + ["--resume"]) == 2
    error = capsys.readouterr().err
    assert f"checkpoint {checkpoint} is truncated or corrupt" in error


def test_a_damaged_config_json_is_named(first_run, capsys):
    argv, out = first_run
    (out / RUN / "config.json").write_text('{"fingerprint": ')
    (out / RUN / "checkpoints" / "last.ckpt").unlink()
    assert run.main(argv + ["--resume"]) == 2
    assert str(out / RUN / "config.json") in capsys.readouterr().err


def test_resume_repeats_the_finished_run_exactly(first_run):
    argv, out = first_run
    first = json.loads((out / "results.json").read_text())
    assert run.main(argv + ["--resume"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert (again["results"], again["history"]) == (first["results"], first["history"])


# A process that holds <out>/run.lock the way OutputLock does (flock + its name as JSON), without importing
# torch, so it starts in milliseconds.
HOLD_LOCK = """
import fcntl, json, os, socket, sys, time
os.makedirs(sys.argv[1], exist_ok=True)
fd = os.open(os.path.join(sys.argv[1], "run.lock"), os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
name = {"pid": os.getpid(), "host": socket.gethostname(), "started": "today", "command": "holder"}
os.write(fd, json.dumps(name).encode())
print("locked", flush=True)
time.sleep(120)
"""


def _hold_lock(out: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_run_into_a_locked_folder_stops_and_names_the_holder(
    micro_clip_path, jpeg_root, tmp_path, capsys
):
    out, fast_config = tmp_path / "out", _fast_config(tmp_path)
    holder = _hold_lock(out)
    try:
        argv = base_args(micro_clip_path, jpeg_root, out, fast_config) + ["--seeds", "1", "--method", "coop"]
        assert run.main(argv) == 2
        error = capsys.readouterr().err
        assert f"output folder {out} is in use by another run: pid {holder.pid}" in error
        assert not (out / "runs").exists() and not (out / "results.json").exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder died with kill -9: its lock went with it; the next run takes the folder over.
    assert (out / LOCK_NAME).exists()
    assert run.main(argv) == 0
    assert f"left locked by pid {holder.pid}" in capsys.readouterr().out
    assert not (out / LOCK_NAME).exists()


def test_stale_temp_files_of_a_killed_write_are_removed_at_start(first_run, capsys):
    argv, out = first_run
    stale = [out / ".results.json.0123abcd.tmp", out / RUN / "checkpoints" / ".last.ckpt.89abcdef.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    unrelated = out / ".notes.tmp"  # not a name our atomic writes use: left alone
    unrelated.write_text("mine")
    assert run.main(argv + ["--resume"]) == 0
    assert not any(p.exists() for p in stale) and unrelated.exists()
    assert "left by an interrupted write" in capsys.readouterr().out


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    out = tmp_path / "out"
    holder = _hold_lock(out)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with OutputLock(out) as lock:
        assert lock.previous["pid"] == holder.pid
        assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (out / LOCK_NAME).exists()


def test_sigterm_ends_the_block_like_an_exception(tmp_path):
    """Plain ``kill`` (SIGTERM) runs the clean-up: the lock file and a write in progress leave nothing."""
    out, before = tmp_path / "out", signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as ended, sigterm_as_exit(), OutputLock(out):
        assert (out / LOCK_NAME).exists()
        os.kill(os.getpid(), signal.SIGTERM)
    assert ended.value.code == 128 + signal.SIGTERM
    assert not out.exists()  # the lock's own folder went with it
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
