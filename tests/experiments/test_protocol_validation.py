"""The protocol runner: per-epoch curves read the validation split, and the view bank feeds training."""

from __future__ import annotations

import pytest

from causalvlm.experiments import TrainConfig, method_spec
from causalvlm.experiments import protocols as protocols_module
from causalvlm.experiments.config import ExperimentConfig
from causalvlm.experiments.protocols import ProtocolRunner
from causalvlm.training.view_bank import ViewBankDataset
from causalvlm.worlds import make_task


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    # 1 validation and 2 test images per class: the two splits have different sizes
    make_task(root, shots=1, seed=1, n_train_per_class=2, n_val_per_class=1, n_test_per_class=2)
    return root


def _runner(world, backbone, view_bank: int, spec) -> ProtocolRunner:
    train = TrainConfig(max_epochs=2, batch_size=8, view_bank=view_bank, val_every_n_epochs=1)
    config = ExperimentConfig(
        data_root=str(world), out=str(world / "out"), shots=1, seeds=[1], methods=[spec], train=train
    )
    return ProtocolRunner(config, backbone, log=lambda message: None)


def test_history_and_per_epoch_validation_read_the_validation_split(world, backbone, monkeypatch):
    seen = {}
    original = protocols_module.PromptDataModule

    def spy(train, val_sets, **options):
        seen.update({name: len(dataset) for name, dataset in val_sets.items()})
        seen["train"] = train
        return original(train, val_sets, **options)

    monkeypatch.setattr(protocols_module, "PromptDataModule", spy)
    spec = method_spec("cdc", templates=2)
    runner = _runner(world, backbone, view_bank=3, spec=spec)
    base, new = (runner._build("shapeworld", half, 1) for half in ("base", "new"))
    assert (len(base.val), len(base.test)) == (12, 24)
    results, history = runner.train_and_evaluate(spec, base, {"base": base, "new": new}, 1, "shapeworld")
    assert seen["base"] == len(base.val) and seen["new"] == len(new.val)
    assert results["base"].num_samples == len(base.test)  # the final numbers are the test split's
    assert [row["epoch"] for row in history] == [0.0, 1.0, 2.0]
    # the view bank served the training views: 3 draws of 2 views per image, encoded once
    assert isinstance(seen["train"], ViewBankDataset) and seen["train"].features.shape[1:3] == (3, 2)
    assert runner.view_bank.encoded_images == len(base.train_x)


def test_a_set_without_validation_images_has_no_curve(tmp_path, backbone):
    make_task(tmp_path, shots=1, seed=1, n_train_per_class=1, n_val_per_class=0, n_test_per_class=1)
    spec = method_spec("coop")
    runner = _runner(tmp_path, backbone, view_bank=0, spec=spec)
    base, new = (runner._build("shapeworld", half, 1) for half in ("base", "new"))
    results, history = runner.train_and_evaluate(spec, base, {"base": base, "new": new}, 1, "shapeworld")
    assert history == [] and 0.0 <= results["new"].accuracy <= 100.0
