"""The plug-in and back-door estimators: exact on exact joints, close on samples, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from causalvlm.estimators import BackdoorEstimator, Counts, DiscreteFrontDoor, PluginEstimator
from causalvlm.scm import SCM, DiscreteSCM

NAPKIN = SCM.from_edges(
    [("W", "R"), ("R", "X"), ("X", "Y"), ("U1", "W"), ("U1", "X"), ("U2", "W"), ("U2", "Y")],
    latents=["U1", "U2"],
)
CONFOUNDED = SCM.from_edges([("Z", "X"), ("Z", "Y"), ("X", "Y")])
FRONTDOOR = SCM.from_edges([("X", "M"), ("M", "Y"), ("U", "X"), ("U", "Y")], latents=["U"])


def exact_counts(model: DiscreteSCM) -> Counts:
    observed = [v for v in model.scm.topological_order() if v not in model.scm.latents]
    return Counts(observed, model.marginal(observed))


FRONTDOOR_COVARIATE = SCM.from_edges(
    [("C", "X"), ("C", "M"), ("C", "Y"), ("X", "M"), ("M", "Y"), ("U", "X"), ("U", "Y")], latents=["U"]
)


@pytest.mark.parametrize(
    "scm, given", [(NAPKIN, ()), (FRONTDOOR_COVARIATE, ()), (FRONTDOOR_COVARIATE, ("C",))]
)
def test_plugin_on_the_exact_joint_equals_do(scm, given):
    cards = {v: 3 if v in ("C", "R", "Y") else 2 for v in scm.graph}
    model = DiscreteSCM.random(scm, cards, seed=3)
    estimate = PluginEstimator(scm, given=given).fit(exact_counts(model), "X", "Y").effect()
    np.testing.assert_allclose(estimate, model.do("Y", "X", list(given)), atol=1e-12)


def test_plugin_on_samples_converges_and_the_interval_covers():
    model = DiscreteSCM.random(NAPKIN, 2, seed=0, concentration=2.0)
    truth = model.do("Y", "X")
    errors = []
    for rows in (5_000, 200_000):
        estimator = PluginEstimator(NAPKIN).fit(model.sample(rows, seed=1), "X", "Y")
        errors.append(np.abs(estimator.effect() - truth).max())
    assert errors[1] < errors[0] and errors[1] < 4 / np.sqrt(200_000)
    interval = estimator.bootstrap(n_boot=100, seed=0)
    assert np.all(interval.low - 1e-3 <= truth) and np.all(truth <= interval.high + 1e-3)


def test_backdoor_estimator_is_the_named_case_and_agrees_with_plugin():
    model = DiscreteSCM.random(CONFOUNDED, 3, seed=0, concentration=3.0)
    data = model.sample(20_000, seed=2, structured=True)
    named = BackdoorEstimator(CONFOUNDED).fit(data, "X", "Y", ["Z"])
    found = BackdoorEstimator(CONFOUNDED).fit(data, "X", "Y")
    general = PluginEstimator(CONFOUNDED).fit(data, "X", "Y")
    assert named.identification.estimand == "P(Y | do(X)) = sum_{Z} P(Y | X, Z) P(Z)"
    np.testing.assert_allclose(named.effect(), general.effect(), atol=1e-15)
    np.testing.assert_allclose(found.effect(), general.effect(), atol=1e-15)
    exact = BackdoorEstimator().fit(exact_counts(model), "X", "Y", "Z").effect()
    np.testing.assert_allclose(exact, model.interventional("Y", "X"), atol=1e-12)


def test_plugin_matches_the_front_door_estimator_on_the_same_rows():
    model = DiscreteSCM.random(FRONTDOOR, 2, seed=4, concentration=2.0)
    data = model.sample(10_000, seed=0)
    plugin = PluginEstimator(FRONTDOOR).fit(data, "X", "Y")
    assert plugin.identification.kind == "frontdoor"
    frontdoor = DiscreteFrontDoor(graph=FRONTDOOR).fit(data, "X", "Y", ["M"])
    np.testing.assert_allclose(plugin.effect(), frontdoor.effect(), atol=1e-12)


def test_set_valued_effect_has_one_axis_per_variable():
    scm = SCM.from_edges([("X1", "Y1"), ("X2", "Y2"), ("X1", "Y2"), ("U", "X1"), ("U", "X2")], latents=["U"])
    model = DiscreteSCM.random(scm, 2, seed=0)
    effect = PluginEstimator(scm).fit(exact_counts(model), ["X1", "X2"], ["Y1", "Y2"]).effect()
    assert effect.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(effect, model.do(["Y1", "Y2"], ["X1", "X2"]), atol=1e-12)


def test_pandas_frames_are_read_when_pandas_is_installed():
    pd = pytest.importorskip("pandas")
    model = DiscreteSCM.random(CONFOUNDED, 2, seed=0, concentration=3.0)
    rows = model.sample(2_000, seed=0)
    from_frame = BackdoorEstimator(CONFOUNDED).fit(pd.DataFrame(rows), "X", "Y").effect()
    np.testing.assert_array_equal(from_frame, BackdoorEstimator(CONFOUNDED).fit(rows, "X", "Y").effect())


def test_errors_name_the_variable_and_value():
    rows = {"Z": np.array([0, 0, 1, 1]), "X": np.array([0, 1, 0, 0]), "Y": np.array([0, 1, 1, 0])}
    with pytest.raises(
        ValueError, match=r"positivity violation: no rows have X=1 where Z=1 \(which occurs\)"
    ):
        BackdoorEstimator(CONFOUNDED).fit(rows, "X", "Y")
    with pytest.raises(ValueError, match="value X=2 never occurs in the data"):
        BackdoorEstimator(CONFOUNDED, cardinalities={"X": 3}).fit(rows, "X", "Y")
    smoothed = BackdoorEstimator(CONFOUNDED, smoothing=0.5).fit(rows, "X", "Y").effect()
    np.testing.assert_allclose(smoothed.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"cannot estimate: P\(Y \| do\(X\)\) is not identifiable: hedge"):
        PluginEstimator(SCM.from_edges([("X", "Y"), ("U", "X"), ("U", "Y")], latents=["U"])).fit(
            rows, "X", "Y"
        )
    with pytest.raises(ValueError, match=r"\['Z'\] is not a back-door set"):
        BackdoorEstimator(SCM.from_edges([("X", "Z"), ("Z", "Y")])).fit(rows, "X", "Y", ["Z"])
    with pytest.raises(KeyError, match="column 'Z' is missing"):
        BackdoorEstimator().fit({"X": rows["X"], "Y": rows["Y"]}, "X", "Y", ["Z"])
    with pytest.raises(RuntimeError, match="not fitted"):
        PluginEstimator(CONFOUNDED).effect()


def test_napkin_worked_example_of_the_docs():
    """docs/causal-core.md's napkin example: the naive P(y | x) is off by 0.08, the plug-in ID estimate on
    200k rows is within 0.005 of the exact do() and its 95% interval covers it."""

    def noisy(p):
        return np.array([1 - p, p])

    cpts = {
        "U1": noisy(0.5),
        "U2": noisy(0.5),
        "W": np.array([[noisy(0.1), noisy(0.9)], [noisy(0.2), noisy(0.8)]]),  # [U1, U2, W]
        "R": np.array([noisy(0.05), noisy(0.95)]),  # [W, R]
        "X": np.array([[noisy(0.05), noisy(0.3)], [noisy(0.7), noisy(0.95)]]),  # [R, U1, X]
        "Y": np.array([[noisy(0.1), noisy(0.5)], [noisy(0.5), noisy(0.9)]]),  # [U2, X, Y]
    }
    model = DiscreteSCM(NAPKIN, {n: 2 for n in NAPKIN.graph}, cpts)
    interval = (
        PluginEstimator(NAPKIN).fit(model.sample(200_000, seed=1), "X", "Y").bootstrap(n_boot=200, seed=0)
    )
    truth = model.do("Y", "X")
    joint = model.marginal(["X", "Y"])
    naive = joint / joint.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(truth[:, 1], [0.3, 0.7], atol=1e-12)
    assert np.abs(naive - truth).min() > 0.07
    assert np.abs(interval.estimate - truth).max() < 0.005
    assert np.all((interval.low <= truth) & (truth <= interval.high))


def test_a_zero_denominator_of_a_quotient_names_its_cell():
    from causalvlm.scm.estimand import Prob, Quotient
    from causalvlm.scm.evaluation import EmptyCell, JointTable, evaluate

    table = JointTable(["A", "B"], np.array([[1.0, 0.0], [1.0, 0.0]]))
    with pytest.raises(EmptyCell, match=r"the denominator of P\(A\) / P\(B\) is 0 at \(B=1\)"):
        evaluate(Quotient(Prob({"A"}), Prob({"B"})), table)
