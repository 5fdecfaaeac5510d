"""DiscreteSCM: CPT checks, ancestral sampling against exact marginals, exact do() by graph surgery."""

from __future__ import annotations

import numpy as np
import pytest

from causalvlm.scm import SCM, DiscreteSCM, load_graph
from causalvlm.scm.discrete import _inverse_cdf_draw


@pytest.fixture
def bow_model() -> DiscreteSCM:
    scm = load_graph("bow")
    cpts = {
        "U": np.array([0.6, 0.4]),
        "X": np.array([[0.9, 0.1], [0.2, 0.8]]),  # [U, X]
        "Y": np.array([[[0.8, 0.2], [0.6, 0.4]], [[0.3, 0.7], [0.1, 0.9]]]),  # [U, X, Y]
    }
    return DiscreteSCM(scm, {"U": 2, "X": 2, "Y": 2}, cpts)


def test_bow_do_matches_hand_computed_adjustment_over_the_latent(bow_model):
    # P(y | do(x)) = Σ_u P(y | u, x) P(u): the latent is summed with its marginal, not its posterior
    u = bow_model.cpts["U"]
    expected = np.einsum("u,uxy->xy", u, bow_model.cpts["Y"])
    np.testing.assert_allclose(bow_model.interventional("Y", "X"), expected, atol=1e-12)
    joint = bow_model.marginal(["X", "Y"])
    conditional = joint / joint.sum(axis=1, keepdims=True)
    assert np.abs(conditional - expected).max() > 0.1  # confounding is real in this model


def test_without_confounding_do_equals_conditioning():
    model = DiscreteSCM.random(SCM.from_edges([("Z", "X"), ("X", "Y")]), 3, seed=4)
    joint = model.marginal(["X", "Y"])
    conditional = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.interventional("Y", "X"), conditional, atol=1e-12)


def test_do_on_a_node_without_causal_path_gives_the_marginal():
    model = DiscreteSCM.random(load_graph("cdc_pretraining"), 2, seed=5)
    do = model.interventional("Y", "X")
    np.testing.assert_allclose(do, np.tile(model.marginal(["Y"]), (2, 1)), atol=1e-12)


def test_exact_queries_are_normalised():
    model = DiscreteSCM.random(load_graph("backdoor_example"), 3, seed=6)
    assert model.marginal(["Z1", "X", "Y"]).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(model.interventional("Y", "X").sum(axis=1), 1.0)


def test_samples_match_exact_marginals():
    model = DiscreteSCM.random(
        load_graph("smoking_tar_cancer"), {"Genotype": 2, "Smoking": 2, "Tar": 4, "Cancer": 3}, seed=7
    )
    n = 100_000
    data = model.sample(n, seed=1)
    assert set(data) == {"Smoking", "Tar", "Cancer"}  # the latent is not returned
    joint = np.zeros((2, 4, 3))
    np.add.at(joint, (data["Smoking"], data["Tar"], data["Cancer"]), 1)
    # each cell frequency has std ≤ 0.5/sqrt(n); 5 of those is a bound no fixed seed should reach by chance
    assert np.abs(joint / n - model.marginal(["Smoking", "Tar", "Cancer"])).max() < 5 * 0.5 / np.sqrt(n)


def test_sample_forms_and_determinism():
    model = DiscreteSCM.random(load_graph("bow"), 2, seed=0)
    a, b = model.sample(50, seed=3), model.sample(50, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert set(model.sample(5, include_latents=True)) == {"U", "X", "Y"}
    table = model.sample(5, structured=True)
    assert table.dtype.names == ("X", "Y") and table.shape == (5,)
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(0)


def test_inverse_cdf_draw_frequencies_and_zero_probabilities():
    rng = np.random.default_rng(0)
    rows = rng.dirichlet(np.ones(100), size=3)
    rows[1, 10:] = 0
    rows[1] /= rows[1].sum()
    n = 200_000
    row = np.repeat(np.arange(3), n)
    draws = _inverse_cdf_draw(rows, row, rng.random(3 * n))
    assert draws[row == 1].max() < 10  # zero-probability categories never drawn
    freq = np.stack([np.bincount(draws[row == r], minlength=100) / n for r in range(3)])
    assert np.abs(freq - rows).max() < 5 * 0.5 / np.sqrt(n)


@pytest.mark.parametrize(
    ("cpts_change", "match"),
    [
        ({"X": np.ones((2, 3)) / 3}, "CPT of 'X' has shape"),
        ({"X": np.array([[0.5, 0.6], [0.5, 0.5]])}, "CPT of 'X': rows"),
        ({"X": np.array([[1.5, -0.5], [0.5, 0.5]])}, "negative"),
        ({"X": None}, "missing CPT for node 'X'"),
        ({"Q": np.ones(2) / 2}, "unknown node 'Q'"),
    ],
)
def test_bad_cpts_name_the_node(bow_model, cpts_change, match):
    cpts = dict(bow_model.cpts)
    for node, table in cpts_change.items():
        if table is None:
            cpts.pop(node)
        else:
            cpts[node] = table
    with pytest.raises(ValueError, match=match):
        DiscreteSCM(bow_model.scm, bow_model.cardinalities, cpts)


def test_bad_cardinalities_name_the_node():
    scm = load_graph("bow")
    with pytest.raises(ValueError, match="missing cardinality for node 'Y'"):
        DiscreteSCM.random(scm, {"U": 2, "X": 2})
    with pytest.raises(ValueError, match="cardinality of 'X'"):
        DiscreteSCM.random(scm, {"U": 2, "X": 0, "Y": 2})
    with pytest.raises(ValueError, match="same node 'X'"):
        DiscreteSCM.random(scm, 2).interventional("X", "X")


def test_do_reads_a_generator_given_once():
    model = DiscreteSCM.random(SCM.from_edges([("Z", "X"), ("Z", "Y"), ("X", "Y")]), 2, seed=7)
    from_list = model.do("Y", "X", ["Z"])
    np.testing.assert_array_equal(model.do("Y", "X", (n for n in ["Z"])), from_list)
    assert model.do("Y", "X", iter(())).shape == (2, 2)
