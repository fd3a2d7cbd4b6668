"""Independent checks of the edge-of-stability thresholds (``predictors/edge_of_stability.py``), the
preconditioner identity behind Adam's preconditioned sharpness, and the digits options.

Thresholds are checked two ways: the spectral radius of the optimizer's linear iteration on a
quadratic (bisection for the curvature at which it crosses 1), and direct runs of the torch engine's
own optimizers on a quadratic just below and just above the threshold.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.components import DATA
from harness.engines.torch.optim import make_optimizer
from predictors.edge_of_stability import stability_threshold

ADAM = {
    "kind": "adam",
    "lr": 2e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
    "decoupled": False,
}


def _critical(radius, lo: float, hi: float) -> float:
    """The curvature at which the spectral radius of the iteration crosses 1 (bisection)."""
    assert radius(lo) < 1 < radius(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if radius(mid) < 1 else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("lr", [0.05, 0.3])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_heavy_ball_threshold_is_where_the_iteration_becomes_unstable(
    lr: float, beta: float, decay: float
) -> None:
    """θ_{t+1} = θ_t − η(a + λ)θ_t + β(θ_t − θ_{t−1}): state (θ_t, θ_{t−1})."""

    def radius(a: float) -> float:
        c = lr * (a + decay)
        return max(abs(np.linalg.eigvals(np.array([[1 + beta - c, -beta], [1.0, 0.0]]))))

    expected = stability_threshold(
        {"kind": "gd", "lr": lr, "momentum": beta, "weight_decay": decay}, False
    )
    assert _critical(radius, 1e-3, 10 * expected) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("lr", [2e-3, 5e-3])
@pytest.mark.parametrize("beta1", [0.8, 0.9, 0.95])
def test_frozen_adam_threshold_is_where_ema_momentum_becomes_unstable(
    lr: float, beta1: float
) -> None:
    """m_{t+1} = β₁m_t + (1 − β₁) a θ_t, θ_{t+1} = θ_t − η m_{t+1}/p: unstable iff a/p > (2+2β₁)/((1−β₁)η)."""
    p = 3.7  # any fixed preconditioner entry

    def radius(a: float) -> float:
        c = (1 - beta1) * a
        # (m, θ) → (β₁m + cθ, θ − η(β₁m + cθ)/p)
        m = np.array([[beta1, c], [-lr * beta1 / p, 1 - lr * c / p]])
        return max(abs(np.linalg.eigvals(m)))

    expected = stability_threshold({**ADAM, "lr": lr, "beta1": beta1}, True)
    assert expected == pytest.approx((2 + 2 * beta1) / ((1 - beta1) * lr))
    assert _critical(radius, 1e-3, 10 * expected * p) / p == pytest.approx(expected, rel=1e-10)
    if beta1 == 0.9:
        assert expected * lr == pytest.approx(38.0)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_engine_heavy_ball_converges_just_below_and_diverges_just_above(beta: float) -> None:
    """The engine's gd on ½ a θ² (4 seeds stacked, one curvature each)."""
    lr = 0.2
    threshold = stability_threshold({"kind": "gd", "lr": lr, "momentum": beta}, False)
    curvature = torch.tensor([0.97, 0.99, 1.01, 1.03], dtype=torch.float64) * threshold
    theta = torch.ones(4, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer({"kind": "gd", "lr": lr, "momentum": beta}, [theta], [1.0])
    for _ in range(3000):
        optimizer.step([curvature * theta.detach()])
    final = theta.detach().abs().numpy()
    assert np.all(final[:2] < 1e-6) and np.all(final[2:] > 1e6)


def test_adam_step_is_a_preconditioned_ema_momentum_step() -> None:
    """θ_{t+1} − θ_t = −η P_t⁻¹ m_t with P_t = Optimizer.preconditioner() (the identity that makes
    λ_max(P^{-1/2} H P^{-1/2}) the quantity Adam's stability is about)."""
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(3, 5, dtype=torch.float64, generator=g).requires_grad_(True)
    optimizer = make_optimizer(ADAM, [theta], [1.0])
    for _ in range(7):
        before = theta.detach().clone()
        optimizer.step([torch.randn(3, 5, dtype=torch.float64, generator=g)])
        p = optimizer.preconditioner()[0]
        m = optimizer.state["exp_avg"][0]
        torch.testing.assert_close(
            theta.detach() - before, -ADAM["lr"] * m / p, rtol=1e-10, atol=1e-15
        )


def test_digits_options() -> None:
    base = {"kind": "digits", "target": "parity", "scale": 16.0, "noise_std": 0.0}
    plain = DATA.get("digits")(base).draw(None)
    assert plain.x.shape == (1797, 64) and plain.y.shape == (1797, 1)
    assert plain.x.max() == 1.0 and set(np.unique(plain.y)) == {-1.0, 1.0}
    onehot = DATA.get("digits")(
        {**base, "target": "onehot", "subset": 300, "standardize": True, "replace": False}
    ).draw(None)
    assert onehot.x.shape == (300, 64) and onehot.y.shape == (300, 10)
    np.testing.assert_array_equal(onehot.y.sum(1), 1.0)
    varying = onehot.x.std(0) > 0
    np.testing.assert_allclose(onehot.x.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(onehot.x.std(0)[varying], 1.0, rtol=1e-12)
    assert np.all(onehot.x[:, ~varying] == 0)
    # the first 300 images, in order: the labels are those of load_digits
    from sklearn.datasets import load_digits

    np.testing.assert_array_equal(onehot.y.argmax(1), load_digits().target[:300])
    # without replacement: distinct images; all of them when n is the pool size
    x, _ = onehot.sample(300, np.random.default_rng(0))
    assert len({row.tobytes() for row in x}) == len({row.tobytes() for row in onehot.x})
    with pytest.raises(ValueError, match="distinct"):
        onehot.sample(301, np.random.default_rng(0))
