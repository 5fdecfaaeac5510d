"""The fit's training rate is Lightning's ThroughputMonitor's: read back from what it logged."""

from __future__ import annotations

import csv

import pytest
import torch
from test_prompt_training import _base_new, _datamodule

from causalvlm.experiments import method_spec
from causalvlm.experiments.method_parts import build_classifier
from causalvlm.training.callbacks import TRAIN_SAMPLES, TRAIN_SECONDS
from causalvlm.training.settings import TrainConfig
from causalvlm.training.trainer import fit


def _fit(backbone, jpeg_root, tmp_path, log_every_n_steps):
    spec = method_spec("coop")
    base, new = _base_new(jpeg_root)
    torch.manual_seed(0)
    classifier = build_classifier(spec, backbone, base.classnames, base.template)
    config = TrainConfig(
        max_epochs=2, batch_size=4, log_every_n_steps=log_every_n_steps, log_dir=str(tmp_path / "logs")
    )
    names = {"base": base.classnames, "new": new.classnames}
    module, _ = fit(classifier, _datamodule(spec, base, new, backbone), config, eval_classnames=names)
    return module, base


def test_the_fit_rate_is_what_throughput_monitor_logged(backbone, jpeg_root, tmp_path):
    module, base = _fit(backbone, jpeg_root, tmp_path, log_every_n_steps=1)
    (metrics,) = (tmp_path / "logs").rglob("metrics.csv")
    rows = [r for r in csv.DictReader(metrics.open()) if r.get(TRAIN_SAMPLES)]
    last = rows[-1]
    # every training image of both epochs is counted, and the rate is the logged count over the logged time
    assert int(float(last[TRAIN_SAMPLES])) == 2 * len(base.train_x)
    rate = float(last[TRAIN_SAMPLES]) / float(last[TRAIN_SECONDS])
    assert module.train_images_per_s == pytest.approx(rate, rel=1e-5)
    assert module.train_images_per_s > 0


def test_a_fit_shorter_than_the_log_interval_has_no_rate(backbone, jpeg_root, tmp_path):
    module, _ = _fit(backbone, jpeg_root, tmp_path, log_every_n_steps=1000)
    assert module.train_images_per_s is None  # ThroughputMonitor logged nothing: no figure, not a guess
