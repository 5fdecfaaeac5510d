"""DiscreteFrontDoor against exact do() (parity on exact joints, 1/sqrt(N) error on samples) and bad inputs.

Error bound used below: max |estimate - truth| <= 4 / sqrt(N). Over 30 seeds at N = 2e3..2e5 the observed
max·sqrt(N) was 2.2 on the demo model and 1.8 on a random model (on the dev machine), so 4 leaves margin.
"""

from __future__ import annotations

import numpy as np
import pytest

from causalvlm.estimators import DiscreteFrontDoor, frontdoor_adjustment
from causalvlm.estimators.demo import smoking_model
from causalvlm.scm import SCM, DiscreteSCM, load_graph

BOUND = 4.0


@pytest.fixture(scope="module")
def smoking() -> SCM:
    return load_graph("smoking_tar_cancer")


@pytest.fixture(scope="module")
def two_mediators() -> SCM:
    return SCM.from_edges(
        [("X", "A"), ("X", "B"), ("A", "Y"), ("B", "Y"), ("U", "X"), ("U", "Y")], latents=["U"], name="two"
    )


@pytest.mark.parametrize("seed", range(5))
def test_plugin_on_exact_joint_equals_exact_do(smoking, two_mediators, seed):
    model = DiscreteSCM.random(smoking, {"Genotype": 3, "Smoking": 3, "Tar": 4, "Cancer": 2}, seed=seed)
    joint = model.marginal(["Smoking", "Tar", "Cancer"])
    np.testing.assert_allclose(
        frontdoor_adjustment(joint), model.interventional("Cancer", "Smoking"), atol=1e-12
    )

    model2 = DiscreteSCM.random(two_mediators, {"U": 2, "X": 2, "A": 3, "B": 2, "Y": 3}, seed=seed)
    joint2 = model2.marginal(["X", "A", "B", "Y"]).reshape(2, 6, 3)  # joint state s = (A, B), B fastest
    np.testing.assert_allclose(frontdoor_adjustment(joint2), model2.interventional("Y", "X"), atol=1e-12)
    assert np.abs(frontdoor_adjustment(joint2) - _conditional(model2, "X", "Y")).max() > 1e-4


def _conditional(model: DiscreteSCM, x: str, y: str) -> np.ndarray:
    joint = model.marginal([x, y])
    return joint / joint.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("model_name", ["demo", "random"])
def test_error_within_bound_and_shrinking_with_n(smoking, model_name):
    if model_name == "demo":
        model = smoking_model(smoking)
    else:
        cards = {"Genotype": 2, "Smoking": 2, "Tar": 3, "Cancer": 2}
        model = DiscreteSCM.random(smoking, cards, seed=3, concentration=2.0)
    truth = model.interventional("Cancer", "Smoking")
    mean_error = {}
    for n in (2_000, 200_000):
        errors = []
        for seed in range(4):
            data = model.sample(n, seed=seed)
            estimate = DiscreteFrontDoor(smoking).fit(data, "Smoking", "Cancer", ["Tar"]).effect()
            errors.append(np.abs(estimate - truth).max())
            assert errors[-1] <= BOUND / np.sqrt(n), (n, seed)
        mean_error[n] = np.mean(errors)
    assert mean_error[200_000] < mean_error[2_000] / 3  # 1/sqrt(N) predicts a factor of 10


def test_two_mediators_from_samples(two_mediators):
    model = DiscreteSCM.random(
        two_mediators, {"U": 2, "X": 2, "A": 3, "B": 2, "Y": 2}, seed=11, concentration=2.0
    )
    n = 100_000
    estimate = DiscreteFrontDoor(two_mediators).fit(model.sample(n, seed=0), "X", "Y", ["A", "B"]).effect()
    assert np.abs(estimate - model.interventional("Y", "X")).max() <= BOUND / np.sqrt(n)
    np.testing.assert_allclose(estimate.sum(axis=1), 1.0)


def test_bootstrap_interval_covers_truth_and_narrows(smoking):
    model = smoking_model(smoking)
    truth = model.interventional("Cancer", "Smoking")
    small = DiscreteFrontDoor(smoking).fit(model.sample(5_000, seed=1), "Smoking", "Cancer", ["Tar"])
    large = DiscreteFrontDoor(smoking).fit(model.sample(200_000, seed=1), "Smoking", "Cancer", ["Tar"])
    ci_small, ci_large = small.bootstrap(n_boot=300, seed=0), large.bootstrap(n_boot=300, seed=0)
    for ci in (ci_small, ci_large):
        assert np.all(ci.low <= ci.estimate) and np.all(ci.estimate <= ci.high)
        assert np.all(ci.low - 1e-12 <= truth) and np.all(truth <= ci.high + 1e-12)
    # std scales like 1/sqrt(N): 40x the rows gives ~6.3x narrower; demand at least 4x
    assert np.all(ci_large.std * 4 < ci_small.std)


def test_structured_array_and_dict_agree(smoking):
    model = smoking_model(smoking)
    as_dict = DiscreteFrontDoor().fit(model.sample(3000, seed=2), "Smoking", "Cancer", "Tar").effect()
    as_table = DiscreteFrontDoor().fit(
        model.sample(3000, seed=2, structured=True), "Smoking", "Cancer", ["Tar"]
    )
    np.testing.assert_array_equal(as_dict, as_table.effect())


def test_unobserved_cell_error_names_it_and_smoothing_fills_it():
    data = {"X": np.array([0, 0, 1, 1, 0]), "S": np.array([0, 1, 1, 1, 0]), "Y": np.array([0, 1, 1, 0, 1])}
    with pytest.raises(ValueError, match=r"cell \(X=1, S=0\) is never observed"):
        DiscreteFrontDoor().fit(data, "X", "Y", ["S"])
    smoothed = DiscreteFrontDoor(smoothing=0.5).fit(data, "X", "Y", ["S"]).effect()
    assert np.all(np.isfinite(smoothed))
    np.testing.assert_allclose(smoothed.sum(axis=1), 1.0)


def test_unseen_treatment_value_is_refused():
    data = {"X": np.array([0, 0, 2, 2]), "S": np.array([0, 1, 0, 1]), "Y": np.array([0, 1, 1, 0])}
    with pytest.raises(ValueError, match="treatment value 1 never occurs"):
        DiscreteFrontDoor().fit(data, "X", "Y", ["S"])


def _data():
    return {
        "Smoking": np.array([0, 1, 0, 1]),
        "Tar": np.array([0, 1, 1, 0]),
        "Cancer": np.array([1, 0, 0, 1]),
    }


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda d: {k: v[:0] for k, v in d.items()}, ValueError, "data is empty"),
        (lambda d: {k: v for k, v in d.items() if k != "Tar"}, KeyError, "column 'Tar' is missing"),
        (lambda d: {**d, "Tar": d["Tar"].astype(float)}, ValueError, "column 'Tar' must hold integer"),
        (lambda d: {**d, "Cancer": d["Cancer"] - 1}, ValueError, "column 'Cancer' has negative category -1"),
        (lambda d: {**d, "Tar": d["Tar"][:3]}, ValueError, "different lengths"),
    ],
)
def test_bad_data_names_the_column(smoking, change, error, match):
    with pytest.raises(error, match=match):
        DiscreteFrontDoor(smoking).fit(change(_data()), "Smoking", "Cancer", ["Tar"])


def test_mediators_failing_the_criterion_are_refused_before_counting():
    graph = SCM.from_edges(
        [("X", "S"), ("S", "Y"), ("X", "Y"), ("U", "X"), ("U", "Y")], latents=["U"], name="g"
    )
    data = {"X": np.array([0, 1]), "S": np.array([0, 1]), "Y": np.array([0, 1])}
    with pytest.raises(ValueError, match=r"mediators \['S'\] fail the front-door criterion.*\(1\)"):
        DiscreteFrontDoor(graph).fit(data, "X", "Y", ["S"])
    with pytest.raises(ValueError, match="treatment 'U' is latent"):
        DiscreteFrontDoor(graph).fit(data, "U", "Y", ["S"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("Smoking", "Smoking", ["Tar"]), "same column 'Smoking'"),
        (("Smoking", "Cancer", []), "mediator set is empty"),
        (("Smoking", "Cancer", ["Tar", "Tar"]), "must be distinct"),
    ],
)
def test_bad_queries(args, match):
    with pytest.raises(ValueError, match=match):
        DiscreteFrontDoor().fit(_data(), *args)


def test_options_are_checked():
    with pytest.raises(ValueError, match="smoothing"):
        DiscreteFrontDoor(smoothing=0)
    with pytest.raises(ValueError, match="column 'Tar' has category 1 but cardinality 1"):
        DiscreteFrontDoor(cardinalities={"Tar": 1}).fit(_data(), "Smoking", "Cancer", ["Tar"])
    with pytest.raises(RuntimeError, match="not fitted"):
        DiscreteFrontDoor().effect()
    fitted = DiscreteFrontDoor().fit(_data(), "Smoking", "Cancer", ["Tar"])
    with pytest.raises(ValueError, match="n_boot"):
        fitted.bootstrap(n_boot=1)
    with pytest.raises(ValueError, match="level"):
        fitted.bootstrap(level=1.5)


def test_bool_columns_and_declared_cardinalities():
    data = {
        "X": np.array([True, False, True, False]),
        "S": np.array([0, 1, 1, 0]),
        "Y": np.array([0, 0, 1, 1]),
    }
    est = DiscreteFrontDoor(cardinalities={"Y": 3}, smoothing=1.0).fit(data, "X", "Y", ["S"])
    assert est.effect().shape == (2, 3)
    assert est.counts.shape == (2, 2, 3)
