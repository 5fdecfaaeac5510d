"""The headroom diagnostic: the K-shot linear probe and zero-shot accuracy of frozen features."""

from __future__ import annotations

import pytest
import torch

from causalvlm.data import DATASETS
from causalvlm.evaluation.headroom import (
    L2_GRID,
    fit_linear_probe,
    linear_probe_accuracy,
    task_headroom,
    zero_shot_accuracy,
)
from causalvlm.evaluation.tables import headroom_markdown


def clusters(n_per_class: int, classes: int = 5, dim: int = 16, seed: int = 0, spread: float = 0.6):
    """Gaussian clusters around random unit centres: linearly separable up to the spread."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.nn.functional.normalize(
        torch.randn(classes, dim, generator=torch.Generator().manual_seed(99))
    )
    labels = torch.arange(classes).repeat_interleave(n_per_class)
    x = centres[labels] + spread / dim**0.5 * torch.randn(len(labels), dim, generator=g)
    return x, labels


def test_probe_beats_chance_on_separable_clusters():
    train, test = clusters(16, seed=0), clusters(50, seed=1)
    probe = fit_linear_probe(*train, num_classes=5, l2=1e-3)
    correct = (probe(test[0]).argmax(1) == test[1]).float().mean().item()
    assert correct > 0.9  # chance is 0.2


def test_probe_is_deterministic():
    train, test = clusters(8, seed=2), clusters(20, seed=3)
    first = fit_linear_probe(*train, num_classes=5, l2=1e-2)(test[0])
    second = fit_linear_probe(*train, num_classes=5, l2=1e-2)(test[0])
    assert torch.equal(first, second)


def test_weight_penalty_shrinks_the_logits():
    train = clusters(8, seed=4)
    weak = fit_linear_probe(*train, num_classes=5, l2=1e-4)(train[0]).abs().mean()
    strong = fit_linear_probe(*train, num_classes=5, l2=1.0)(train[0]).abs().mean()
    assert strong < weak


def test_l2_is_chosen_on_validation_from_the_grid():
    train, val, test = clusters(8, seed=5), clusters(10, seed=6), clusters(10, seed=7)
    score, l2 = linear_probe_accuracy(train, test, 5, val=val)
    assert l2 in L2_GRID and 0 <= score <= 100
    assert linear_probe_accuracy(train, test, 5)[1] == max(L2_GRID)  # no validation: the largest weight


@pytest.mark.parametrize(
    "features, labels, message",
    [(torch.zeros(3), torch.zeros(3), "features"), (torch.zeros(3, 2), torch.zeros(2), "labels")],
)
def test_bad_probe_input_is_named(features, labels, message):
    with pytest.raises(ValueError, match=message):
        fit_linear_probe(features, labels, num_classes=2, l2=0.1)


class OneHotText:
    """A stand-in backbone whose text feature of "x {i}" is the i-th unit vector."""

    def encode_text(self, texts):
        return torch.eye(len(texts))[[int(t.split()[-1]) for t in texts]]


def test_zero_shot_reads_the_nearest_class_text():
    class Splits:  # only the template and the class names are read
        template, classnames = "x {}", ["0", "1", "2"]

    features = torch.tensor([[1.0, 0.1, 0], [0, 0.2, 1.0], [0.9, 1.0, 0]])
    assert zero_shot_accuracy(OneHotText(), Splits, features, torch.tensor([0, 2, 0])) == pytest.approx(
        200 / 3
    )


def test_task_headroom_on_an_image_folder(backbone, jpeg_root):
    """Colour classes: even a random-init tower's features let a 2-shot probe beat chance (50 %)."""

    def build(half, seed):
        return DATASETS.build("imagefolder", root=str(jpeg_root), num_shots=2, seed=seed, subsample=half)

    headroom = task_headroom(backbone, build, seeds=[1, 2], shots=2)
    summary = headroom.summary()
    assert set(summary) >= {"base", "new", "shots", "seeds"}
    for half in ("base", "new"):
        entry = summary[half]
        assert len(entry["linear_probe_values"]) == 2
        assert entry["linear_probe"] > 50
        assert entry["gap"] == pytest.approx(entry["linear_probe"] - entry["zero_shot"])
    again = task_headroom(backbone, build, seeds=[1, 2], shots=2).summary()
    assert again == summary
    lines = "\n".join(headroom_markdown({"imagefolder": summary}))
    assert "### Headroom" in lines and "2-shot linear probe" in lines
