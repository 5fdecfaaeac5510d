"""Checkpoints of a fit: one after every epoch, prompts only, keyed to the run's configuration on resume."""

from __future__ import annotations

import json
import shutil

import pytest
import pytorch_lightning as pl
from lightning_helpers import StopAfterEpochs
from test_prompt_training import _train

from causalvlm.data import DATASETS
from causalvlm.experiments import method_spec
from causalvlm.runs.checkpoints import RUN_KEY, ResumeError, read_checkpoint
from causalvlm.runs.run_dirs import RunDirectory, RunExistsError
from causalvlm.runs.run_identity import differences, fingerprint, flatten, split_digest
from causalvlm.training.module import FROZEN_PREFIX

RUN_CONFIG = {"method": {"method": "coop", "beta": 0.0}, "shots": 4, "train": {"max_epochs": 3}}


class SeeCheckpointAtEpochStart(pl.Callback):
    """Records, when each epoch starts, how many finished epochs the checkpoint on disk holds."""

    def __init__(self, path):
        self.path, self.seen = path, []

    def on_train_epoch_start(self, trainer, module):
        self.seen.append(read_checkpoint(self.path)[RUN_KEY]["epochs_done"] if self.path.exists() else None)


def test_a_checkpoint_is_written_after_every_epoch_without_the_frozen_backbone(backbone, jpeg_root, tmp_path):
    path = tmp_path / "run" / "ckpt" / "last.ckpt"
    watcher = SeeCheckpointAtEpochStart(path)
    module, *_ = _train(method_spec("coop"), backbone, jpeg_root, tmp_path, epochs=3, callbacks=[watcher])
    assert watcher.seen == [None, 1, 2]  # epoch e starts with the checkpoint of epoch e-1 on disk
    checkpoint = read_checkpoint(path)
    assert checkpoint[RUN_KEY]["epochs_done"] == 3 and len(checkpoint["history"]) == 3
    assert not any(k.startswith(FROZEN_PREFIX) for k in checkpoint["state_dict"])  # prompts only
    assert any(k.startswith("classifier.mediator.") for k in checkpoint["state_dict"])
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


def _cut(backbone, jpeg_root, tmp_path, run_config=None):
    spec = method_spec("coop")
    _train(spec, backbone, jpeg_root, tmp_path, epochs=3, callbacks=[StopAfterEpochs(1)], name="cut",
           run_config=run_config)  # fmt: skip
    return spec, tmp_path / "cut" / "ckpt" / "last.ckpt"


def test_fit_refuses_a_checkpoint_of_other_settings_and_lists_them(backbone, jpeg_root, tmp_path):
    spec, checkpoint = _cut(backbone, jpeg_root, tmp_path, run_config=RUN_CONFIG)
    stored = read_checkpoint(checkpoint)[RUN_KEY]
    assert stored["config"] == RUN_CONFIG and stored["fingerprint"] == fingerprint(RUN_CONFIG)
    other = {**RUN_CONFIG, "shots": 16, "method": {"method": "coop", "beta": 0.5}}
    with pytest.raises(ResumeError) as error:
        _train(
            spec, backbone, jpeg_root, tmp_path, epochs=3, ckpt_path=checkpoint, name="cut", run_config=other
        )
    message = str(error.value)
    assert str(checkpoint) in message and "(2 settings differ; checkpoint → now)" in message
    assert "method.beta: 0.0 → 0.5" in message and "shots: 4 → 16" in message
    # the same settings resume (and finish the run)
    module, trainer, *_ = _train(
        spec, backbone, jpeg_root, tmp_path, epochs=3, ckpt_path=checkpoint, name="cut", run_config=RUN_CONFIG
    )
    assert trainer.current_epoch == 3 and len(module.history) == 3


def test_fit_refuses_fewer_epochs_than_the_checkpoint_has_done(backbone, jpeg_root, tmp_path):
    spec = method_spec("coop")
    _train(spec, backbone, jpeg_root, tmp_path, epochs=2, name="done")
    with pytest.raises(ResumeError, match="already finished 2 epochs, more than the max_epochs = 1"):
        _train(
            spec, backbone, jpeg_root, tmp_path, epochs=1, ckpt_path=tmp_path / "done" / "ckpt" / "last.ckpt"
        )


def test_fit_names_a_truncated_checkpoint(backbone, jpeg_root, tmp_path):
    spec, checkpoint = _cut(backbone, jpeg_root, tmp_path)
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(ValueError, match=f"checkpoint {checkpoint} is truncated or corrupt"):
        _train(spec, backbone, jpeg_root, tmp_path, epochs=3, ckpt_path=checkpoint)


def test_differences_list_every_changed_key_with_both_values():
    old = {"shots": 16, "train": {"optim": {"lr": 0.002, "momentum": 0.9}}, "scm": None}
    new = {"shots": 2, "train": {"optim": {"lr": 0.002, "momentum": 0.8}}, "template": "a {}"}
    assert differences(old, new) == [
        "scm: None → (not set)",
        "shots: 16 → 2",
        "template: (not set) → 'a {}'",
        "train.optim.momentum: 0.9 → 0.8",
    ]
    assert differences(old, old) == [] and fingerprint(old) == fingerprint(json.loads(json.dumps(old)))
    assert fingerprint(old) != fingerprint(new)
    assert flatten({"a": {"b": {}}}) == {"a.b": {}}


def test_split_digest_follows_the_data_not_where_it_lives(jpeg_root, tmp_path):
    def digest(root, shots=2):
        splits = DATASETS.build("imagefolder", root=str(root), num_shots=shots, seed=1, subsample="base")
        return split_digest(splits.train_x, root, with_sizes=True)

    moved = tmp_path / "moved"
    shutil.copytree(jpeg_root, moved)
    assert digest(moved) == digest(jpeg_root)  # same files under another root
    assert digest(jpeg_root, shots=1)["images"] == 2 and digest(jpeg_root, shots=1) != digest(jpeg_root)
    first = DATASETS.build("imagefolder", root=str(moved), num_shots=2, seed=1, subsample="base").train_x[0]
    with open(first.impath, "ab") as stream:  # the same name, other content
        stream.write(b"\0")
    assert digest(moved) != digest(jpeg_root)


def test_run_directory_plan(tmp_path):
    directory = RunDirectory(tmp_path / "run")
    assert directory.plan(RUN_CONFIG, 3, resume=False, overwrite=False) is None  # nothing there: fresh
    directory.start(RUN_CONFIG, None)
    assert json.loads(directory.config_path.read_text())["fingerprint"] == fingerprint(RUN_CONFIG)
    with pytest.raises(RunExistsError, match="holds an earlier run; add --resume"):
        directory.plan(RUN_CONFIG, 3, resume=False, overwrite=False)
    assert directory.plan(RUN_CONFIG, 3, resume=False, overwrite=True) is None
    assert directory.plan(RUN_CONFIG, 3, resume=True, overwrite=False) is None  # no checkpoint yet: fresh
    changed = r"other settings \(1 setting differs; then → now\):\n  shots: 4 → 5"
    with pytest.raises(ResumeError, match=changed):
        directory.plan({**RUN_CONFIG, "shots": 5}, 3, resume=True, overwrite=False)
    directory.config_path.unlink()
    (directory.log_dir / "old").mkdir(parents=True)  # a run directory of unknown origin
    with pytest.raises(ResumeError, match="has no config.json"):
        directory.plan(RUN_CONFIG, 3, resume=True, overwrite=False)
