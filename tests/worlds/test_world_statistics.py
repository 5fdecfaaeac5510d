"""The spurious cue has the strength asked for; in test sets every task-irrelevant factor is independent of Y.

Tolerances: the fraction of images whose object colour is their class's colour is a binomial proportion with
mean p = ρ + (1 − ρ)/8; we accept |p̂ − p| ≤ 4 standard errors (sqrt(p(1 − p)/n)). Independence is tested with
a chi-square test of the (class × factor value) contingency table at level 0.001; the same test must reject
independence on a training set with ρ = 0.3, so it has the power to fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from causalvlm.worlds import SHAPE_NAMES, class_colour, make_task, sample_factors
from causalvlm.worlds.factors import CATEGORICAL_FACTORS, OBJECT_COLOURS
from causalvlm.worlds.task import load_factors

TASK_IRRELEVANT = ("object_colour", "background_colour", "texture", "size", "position")


def _agreement(factors) -> np.ndarray:
    return np.array([f.object_colour == class_colour(f.shape) for f in factors])


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_realised_colour_class_agreement_matches_rho(rho):
    n_per_class = 200
    shapes = np.repeat(np.arange(len(SHAPE_NAMES)), n_per_class)
    factors = sample_factors(np.random.default_rng(11), shapes, rho=rho)
    p = rho + (1 - rho) / len(OBJECT_COLOURS)
    p_hat = _agreement(factors).mean()
    standard_error = np.sqrt(p * (1 - p) / len(shapes))
    assert abs(p_hat - p) <= 4 * standard_error, (rho, p_hat, p)


def _contingency(factors, factor: str) -> np.ndarray:
    table = np.zeros((len(SHAPE_NAMES), len(CATEGORICAL_FACTORS[factor])), dtype=int)
    for f in factors:
        table[f.shape, getattr(f, factor)] += 1
    return table[:, table.sum(axis=0) > 0]


@pytest.fixture(scope="module")
def task_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapeworld_stats")
    make_task(
        root, rho=0.9, shots=16, seed=5, n_train_per_class=16, n_test_per_class=40, n_val_per_class=1,
        style="filled",  # the colour cue must be drawn
    )  # fmt: skip
    return root


def _split_factors(root, split: str):
    return [f for path, f in load_factors(root).items() if f"/images/{split}/" in path]


@pytest.mark.parametrize("factor", TASK_IRRELEVANT)
def test_test_set_factors_are_independent_of_the_class(task_root, factor):
    test = _split_factors(task_root, "test")
    assert len(test) == 40 * len(SHAPE_NAMES)
    _, p_value, _, _ = chi2_contingency(_contingency(test, factor))
    assert p_value > 1e-3, (factor, p_value)


def test_training_set_carries_the_spurious_cue(task_root):
    train = _split_factors(task_root, "train")
    assert len(train) == 16 * len(SHAPE_NAMES)
    p = 0.9 + 0.1 / len(OBJECT_COLOURS)
    assert abs(_agreement(train).mean() - p) <= 4 * np.sqrt(p * (1 - p) / len(train))
    _, p_value, _, _ = chi2_contingency(_contingency(train, "object_colour"))
    assert p_value < 1e-3


def test_chi_square_detects_a_weak_cue():
    shapes = np.repeat(np.arange(len(SHAPE_NAMES)), 40)
    weak = sample_factors(np.random.default_rng(2), shapes, rho=0.3)
    _, p_value, _, _ = chi2_contingency(_contingency(weak, "object_colour"))
    assert p_value < 1e-3
