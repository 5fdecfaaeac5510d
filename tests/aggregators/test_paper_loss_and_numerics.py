"""The `ds` loss is the paper's L_t-ce by default, TMC's terms are options, and the numbers are float64-exact.

The loss checks compare with a reference written here from the equations, in float64 and without any floor
or clamp: Dempster's rule in TMC's textbook form (K as the double sum over i ≠ j, 1 − K by subtraction) and
the fused Dirichlet α = B C / U + 1. Its KL is the library's ``kl_to_uniform_dirichlet``, which is checked
on its own against 60-digit mpmath (the textbook KL formula itself loses every digit at a fused opinion's
S ≈ 1e17, even in float64), and one extreme setting is checked end to end against mpmath.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from causalvlm import aggregators
from causalvlm.aggregators import (
    AGGREGATORS,
    TMC_LOSS_OPTIONS,
    DSTCConfig,
    ds_fold,
    kl_to_uniform_dirichlet,
    opinion_from_evidence,
    uncertainty_floor,
)

f64 = torch.float64
TAU = 100.0  # real CLIP's logit scale


# ---------------------------------------------------------------------------------------------- reference
def _expected_ce(alpha: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    S = alpha.sum(-1)
    alpha_y = torch.stack([alpha[..., i, int(y)] for i, y in enumerate(labels)], dim=-1)
    return torch.digamma(S) - torch.digamma(alpha_y)


def _kl_wrong_evidence(alpha: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    one_hot = F.one_hot(labels, alpha.shape[-1]).bool()
    return kl_to_uniform_dirichlet(torch.where(one_hot, torch.ones_like(alpha), alpha))


def _dempster(b1, u1, b2, u2):
    outer = b1.unsqueeze(-1) * b2.unsqueeze(-2)
    K = outer.sum((-2, -1)) - torch.diagonal(outer, dim1=-2, dim2=-1).sum(-1)
    b = (b1 * b2 + b1 * u2.unsqueeze(-1) + b2 * u1.unsqueeze(-1)) / (1 - K).unsqueeze(-1)
    return b, u1 * u2 / (1 - K)


def reference_loss(logits, labels, evidence_scale=10.0, fuse=False, kl=0.0):
    """Float64, no floor, no clamp (inputs must stay below exp's clamp at 10)."""
    x = logits.to(f64) / evidence_scale
    assert float(x.detach().max()) < 10.0, "reference has no clamp; keep logits / evidence_scale < 10"
    e = torch.exp(x)
    alpha = e + 1
    C = alpha.shape[-1]
    per_sample = _expected_ce(alpha, labels).sum(0)
    if kl:
        per_sample = per_sample + kl * _kl_wrong_evidence(alpha, labels).sum(0)
    if fuse:
        S = alpha.sum(-1, keepdim=True)
        b, u = e / S, C / S.squeeze(-1)
        B, U = b[0], u[0]
        for m in range(1, b.shape[0]):
            B, U = _dempster(B, U, b[m], u[m])
        alpha_fused = B * (C / U).unsqueeze(-1) + 1
        per_sample = per_sample + _expected_ce(alpha_fused, labels)
        if kl:
            per_sample = per_sample + kl * _kl_wrong_evidence(alpha_fused, labels)
    return per_sample.mean()


def clip_like_logits(M, B, C, seed, low=0.15, high=0.35, true_boost=0.0):
    """τ · cos, cosines uniform in [low, high] (zero-shot CLIP's range), optionally raised on the label."""
    generator = torch.Generator().manual_seed(seed)
    cos = low + (high - low) * torch.rand(M, B, C, generator=generator, dtype=f64)
    labels = torch.randint(0, C, (B,), generator=generator)
    cos = cos + true_boost * F.one_hot(labels, C).to(f64)
    return TAU * cos, labels


def loss_and_grad(loss_fn, logits):
    x = logits.detach().clone().requires_grad_()
    value = loss_fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def relative_error(value, reference):
    return float((value.to(f64) - reference).norm() / reference.norm())


# ---------------------------------------------------------------------------------------------- §1 objective
def test_default_loss_is_the_papers_trusted_cross_entropy_over_templates():
    logits, labels = clip_like_logits(M=4, B=6, C=7, seed=0)
    aggregator = AGGREGATORS.build("ds")
    assert (aggregator.config.fuse_loss, aggregator.config.kl_weight) == (False, 0.0)
    alpha = torch.exp(logits / 10.0) + 1
    by_hand = sum(
        torch.digamma(alpha[m].sum(-1)) - torch.digamma(alpha[m, torch.arange(6), labels]) for m in range(4)
    ).mean()
    torch.testing.assert_close(aggregator.loss(logits, labels), by_hand, rtol=1e-12, atol=0)
    # no epoch schedule: the same loss at every epoch, with or without the run's length
    for epoch, max_epochs in ((0, None), (7, 10), (199, 200)):
        value = aggregator.loss(logits, labels, epoch, max_epochs)
        torch.testing.assert_close(value, by_hand, rtol=1e-12, atol=0)


def test_tmc_options_are_one_exported_bundle_and_give_tmcs_loss():
    assert aggregators.TMC_LOSS_OPTIONS is TMC_LOSS_OPTIONS
    assert TMC_LOSS_OPTIONS == {"fuse_loss": True, "kl_weight": 1.0}
    logits, labels = clip_like_logits(M=3, B=5, C=6, seed=1)
    tmc = AGGREGATORS.build("ds", **TMC_LOSS_OPTIONS)
    # last epoch of a 10-epoch run: the KL weight has reached kl_weight = 1
    expected = reference_loss(logits, labels, fuse=True, kl=1.0)
    torch.testing.assert_close(tmc.loss(logits, labels, epoch=9, max_epochs=10), expected, rtol=1e-10, atol=0)
    paper = AGGREGATORS.build("ds").loss(logits, labels)
    assert tmc.loss(logits, labels, epoch=9, max_epochs=10) > paper


def test_kl_weight_counts_epochs_from_one_and_reaches_kl_weight_in_the_last_epoch():
    tmc = AGGREGATORS.build("ds", **{**TMC_LOSS_OPTIONS, "kl_weight": 0.5})
    # 0-based epochs 0..9 of a 10-epoch run are TMC's t = 1..10
    assert [tmc.kl_coefficient(e, 10) for e in range(10)] == pytest.approx([0.05 * t for t in range(1, 11)])
    assert tmc.kl_coefficient(9, 10) == 0.5  # reached at the last epoch, not 0.9 of it
    assert tmc.kl_coefficient(199, 200) == 0.5
    # an explicit horizon wins over the run's length; no horizon at all (outside a run) = ramp finished
    fixed = AGGREGATORS.build("ds", **TMC_LOSS_OPTIONS, annealing_epochs=50)
    assert fixed.kl_coefficient(0, 10) == pytest.approx(1 / 50) and fixed.kl_coefficient(49, 10) == 1.0
    assert tmc.kl_coefficient(3) == 0.5
    assert AGGREGATORS.build("ds").kl_coefficient(3, 10) == 0.0
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="max_epochs must be an integer"):
            tmc.kl_coefficient(0, bad)


@pytest.mark.parametrize("horizon", [0, 2.5, True, -1])
def test_bad_annealing_horizon_is_rejected(horizon):
    with pytest.raises(ValueError, match="option 'annealing_epochs'"):
        DSTCConfig(annealing_epochs=horizon)


def test_trainer_passes_the_run_length_so_the_ramp_follows_it():
    logits, labels = clip_like_logits(M=2, B=4, C=5, seed=2)
    tmc = AGGREGATORS.build("ds", **TMC_LOSS_OPTIONS)
    first, last = tmc.loss(logits, labels, 0, 20), tmc.loss(logits, labels, 19, 20)
    for value, weight in ((first, 1 / 20), (last, 1.0)):
        expected = reference_loss(logits, labels, fuse=True, kl=weight)
        torch.testing.assert_close(value, expected, rtol=1e-10, atol=0)


# ---------------------------------------------------------------------------------------------- §2 numerics
@pytest.mark.parametrize("options", [{}, TMC_LOSS_OPTIONS], ids=["paper", "tmc"])
@pytest.mark.parametrize("evidence_scale", [10.0, 5.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_logits_match_the_float64_reference(options, evidence_scale, seed):
    # τ = 100, cosines in [0.15, 0.35], C = 10, M = 8: where the float32 fused-opinion KL used to be wrong
    logits64, labels = clip_like_logits(M=8, B=32, C=10, seed=seed)
    logits32 = logits64.float()
    aggregator = AGGREGATORS.build("ds", evidence_scale=evidence_scale, **options)
    fuse, kl = options.get("fuse_loss", False), options.get("kl_weight", 0.0)
    ref_value, ref_grad = loss_and_grad(
        lambda x: reference_loss(x, labels, evidence_scale, fuse, kl), logits32.to(f64)
    )
    value, grad = loss_and_grad(lambda x: aggregator.loss(x, labels, epoch=9, max_epochs=10), logits32)
    assert value.dtype == torch.float32 and grad.dtype == torch.float32
    assert abs(float(value) - float(ref_value)) <= 1e-4 * abs(float(ref_value))
    assert relative_error(grad, ref_grad) <= 1e-4
    assert float((grad.to(f64) - ref_grad).abs().max()) <= 1e-4 * float(ref_grad.abs().max())


# (C, M) over the range a real run meets; regimes: zero-shot CLIP confidences, a trained prompt's (true class
# 0.2 higher), and every template near exp's clamp on one class (the most certain opinion h can give).
FLOOR_GRID = [(C, M) for C in (2, 5, 10, 100, 1000) for M in (1, 2, 4, 8, 16)]


def _regime_logits(regime, M, C, seed):
    if regime == "zero-shot":
        return clip_like_logits(M, 3, C, seed)
    if regime == "trained":
        return clip_like_logits(M, 3, C, seed, low=0.1, high=0.3, true_boost=0.2)
    logits, labels = clip_like_logits(M, 3, C, seed, low=-0.99, high=-0.9)
    logits[:, torch.arange(3), labels] = 99.0  # h(9.9): just inside the clamp, so gradients still flow
    return logits, labels


@pytest.mark.parametrize("regime", ["zero-shot", "trained", "saturated"])
@pytest.mark.parametrize("C, M", FLOOR_GRID, ids=[f"C{C}-M{M}" for C, M in FLOOR_GRID])
def test_no_floor_changes_the_loss_or_its_gradient(regime, C, M):
    logits, labels = _regime_logits(regime, M, C, seed=C + M)
    aggregator = AGGREGATORS.build("ds", **TMC_LOSS_OPTIONS)  # the fused opinion is where a floor could act
    value, grad = loss_and_grad(lambda x: aggregator.loss(x, labels, epoch=4, max_epochs=5), logits)
    ref_value, ref_grad = loss_and_grad(lambda x: reference_loss(x, labels, fuse=True, kl=1.0), logits)
    assert float(value) == pytest.approx(float(ref_value), rel=1e-9)
    assert relative_error(grad, ref_grad) <= 1e-8
    # and the fused uncertainty really stays above the float64 floor (a margin of many decades)
    _, U = ds_fold(*opinion_from_evidence(torch.exp(logits / 10.0)))
    assert float(U.min()) > 1e20 * uncertainty_floor(f64)


def test_eurosat_m_ablation_setting_is_far_below_the_old_floor():
    # C = 5 base classes, M = 16 at zero-shot confidences: U sits below the former 1e-8 floor, which changed
    # this loss by a quarter; the loss and its gradient through U must now be exactly the reference's
    logits, labels = clip_like_logits(M=16, B=16, C=5, seed=3)
    _, U = ds_fold(*opinion_from_evidence(torch.exp(logits / 10.0)))
    assert float(U.max()) < 1e-8
    aggregator = AGGREGATORS.build("ds", fuse_loss=True)
    value, grad = loss_and_grad(lambda x: aggregator.loss(x, labels), logits)
    ref_value, ref_grad = loss_and_grad(lambda x: reference_loss(x, labels, fuse=True), logits)
    assert float(value) == pytest.approx(float(ref_value), rel=1e-10)
    assert relative_error(grad, ref_grad) <= 1e-9


def test_exp_evidence_cannot_reach_the_float64_floor_below_29_templates():
    # u^m ≥ 1 / (1 + e^10) for every template, so U^M ≥ (1 + e^10)^(−M); the floor is tiny^0.4
    floor = uncertainty_floor(f64)
    assert floor == pytest.approx(torch.finfo(f64).tiny ** 0.4)
    worst = lambda M: -M * math.log10(1 + math.exp(10))  # noqa: E731
    assert worst(28) > math.log10(floor) > worst(29)
    # the bound is attained: every class at the clamp in every template
    logits = torch.full((16, 1, 3), 1e4, dtype=f64)
    _, U = ds_fold(*opinion_from_evidence(torch.exp(torch.clamp(logits / 10.0, max=10.0))))
    assert float(U) >= 10 ** worst(16) * (1 - 1e-9)
    assert float(U) > floor


def test_forward_is_computed_in_float64_and_returned_in_the_input_dtype():
    logits64, _ = clip_like_logits(M=16, B=8, C=5, seed=4)
    aggregator = AGGREGATORS.build("ds")
    out32, out64 = aggregator(logits64.float()), aggregator(logits64)
    assert out32.probs.dtype == torch.float32 and out64.probs.dtype == f64
    torch.testing.assert_close(out32.probs.to(f64), out64.probs, rtol=1e-6, atol=1e-7)
    # U ≈ 1e-10 here; float32 holds it once computed in float64 (relative, not absolute, agreement)
    torch.testing.assert_close(out32.uncertainty.to(f64), out64.uncertainty, rtol=1e-6, atol=0)


# ---------------------------------------------------------------------------------------------- mpmath checks
mp = pytest.importorskip("mpmath")


def _mp_kl(alpha):
    C, S = len(alpha), sum(alpha)
    return (
        mp.loggamma(S)
        - mp.loggamma(C)
        - sum(mp.loggamma(a) for a in alpha)
        + sum((a - 1) * (mp.digamma(a) - mp.digamma(S)) for a in alpha)
    )


@pytest.mark.parametrize(
    "alpha",
    [[4.0, 1.0, 1.5, 7.0], [1.0, 3e5, 20.0], [1.0, 1e17, 3e10], [1.0, 1e10, 1e10, 5.0], [1.0, 99.9, 100.1]],
)
def test_kl_to_uniform_dirichlet_matches_60_digit_mpmath_up_to_fused_strengths(alpha):
    mp.mp.dps = 60
    x = torch.tensor(alpha, dtype=f64, requires_grad=True)
    value = kl_to_uniform_dirichlet(x)
    (grad,) = torch.autograd.grad(value, x)
    exact = _mp_kl([mp.mpf(a) for a in alpha])
    S, C = sum(mp.mpf(a) for a in alpha), len(alpha)
    exact_grad = [(mp.mpf(a) - 1) * mp.psi(1, mp.mpf(a)) - (S - C) * mp.psi(1, S) for a in alpha]
    assert float(value.detach()) == pytest.approx(float(exact), rel=1e-13)
    scale = max(abs(float(g)) for g in exact_grad)
    assert max(abs(float(g) - float(e)) for g, e in zip(grad, exact_grad, strict=True)) <= 1e-8 * scale


def _mp_tmc_loss(logits, labels, evidence_scale=10.0):
    """TMC's loss (fused opinion + KL at full weight) in mpmath: logits is a nested [M][B][C] list of mpf."""
    M, B, C = len(logits), len(logits[0]), len(logits[0][0])
    total = mp.mpf(0)
    for i in range(B):
        y = int(labels[i])
        opinions = []
        for m in range(M):
            e = [mp.exp(v / evidence_scale) for v in logits[m][i]]
            alpha = [v + 1 for v in e]
            S = sum(alpha)
            total += mp.digamma(S) - mp.digamma(alpha[y])
            total += _mp_kl([1 if c == y else a for c, a in enumerate(alpha)])
            opinions.append(([v / S for v in e], C / S))
        b_fused, u_fused = opinions[0]
        for b2, u2 in opinions[1:]:
            K = sum(b_fused) * sum(b2) - sum(p * q for p, q in zip(b_fused, b2, strict=True))
            b_fused = [(p * q + p * u2 + q * u_fused) / (1 - K) for p, q in zip(b_fused, b2, strict=True)]
            u_fused = u_fused * u2 / (1 - K)
        alpha = [p * C / u_fused + 1 for p in b_fused]
        total += mp.digamma(sum(alpha)) - mp.digamma(alpha[y])
        total += _mp_kl([1 if c == y else a for c, a in enumerate(alpha)])
    return total / B


@pytest.mark.parametrize("C, M", [(2, 16), (5, 16)])
def test_tmc_loss_and_gradient_match_mpmath_where_the_fused_opinion_is_most_certain(C, M):
    # U ≈ 1e-17 (C = 2) and 1e-10 (C = 5): the regime where the old floor and the float32 KL went wrong
    mp.mp.dps = 60
    logits, labels = clip_like_logits(M, 2, C, seed=5)
    aggregator = AGGREGATORS.build("ds", **TMC_LOSS_OPTIONS)
    value, grad = loss_and_grad(lambda x: aggregator.loss(x, labels), logits)
    assert float(value) == pytest.approx(float(_mp_tmc_loss(_to_mp(logits), labels)), rel=1e-12)
    # directional derivatives along random directions, by a central difference at 60 digits
    generator = torch.Generator().manual_seed(6)
    h = mp.mpf("1e-20")
    for _ in range(2):
        v = torch.randn(logits.shape, generator=generator, dtype=f64)
        forward, backward = _to_mp(logits, v, h), _to_mp(logits, v, -h)
        exact = (_mp_tmc_loss(forward, labels) - _mp_tmc_loss(backward, labels)) / (2 * h)
        assert float((grad * v).sum()) == pytest.approx(float(exact), rel=1e-8)


def _to_mp(x, direction=None, step=0):
    """``x + step · direction`` as a nested [M][B][C] list of mpf, the sum taken at mpmath precision."""
    flat = [mp.mpf(a) for a in x.flatten().tolist()]
    if direction is not None:
        flat = [a + step * mp.mpf(d) for a, d in zip(flat, direction.flatten().tolist(), strict=True)]
    M, B, C = x.shape
    return [[flat[(m * B + i) * C : (m * B + i + 1) * C] for i in range(B)] for m in range(M)]
