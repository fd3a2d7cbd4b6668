"""Theories of hyperparameters and of stepwise learning, checked against independent computations:
Monte Carlo of the gradient noise scale and of the Gaussian identities behind the half-speed ReLU
rule, one-step losses, a random-walk simulation of rotational equilibrium, and autograd."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.derive import crossing_steps
from harness.predict import problems_of
from harness.predictor import Problem
from harness.spec import load_benchmark
from predictors.baselines import GDPopulation
from predictors.batch_size import CriticalBatchSize, gradient_noise_scale
from predictors.batch_steps import infinite_batch_min_steps
from predictors.rotational import equilibrium_angular_update, equilibrium_norm, mlp_gradients
from predictors.saxe import half_time_discrete, half_time_flow
from predictors.sgd_linreg import SGDRecursion, expected_loss_curve
from predictors.stepwise import stepwise_half_times
from predictors.width_transfer import width_shift

# --------------------------------------------------------------------------------------------
# batch size: McCandlish et al.'s noise scale for Gaussian linear regression


def linreg(d: int = 12) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(1, d + 1.0)
    lam = k**-1.5
    return lam, np.sqrt(k**-1.5 / lam)


def test_gradient_noise_scale_matches_monte_carlo() -> None:
    """tr(HΣ)/(GᵀHG) from sampled per-example gradients g = x(xᵀe − σε) against the closed form."""
    lam, w = linreg()
    sigma = 0.3
    rng = np.random.default_rng(0)
    e = -w + 0.2 * rng.standard_normal(w.size)
    n = 400_000
    x = rng.standard_normal((n, lam.size)) * np.sqrt(lam)
    residual = x @ e - sigma * rng.standard_normal(n)
    grads = x * residual[:, None]
    mean = grads.mean(axis=0)
    cov = np.cov(grads, rowvar=False)
    np.testing.assert_allclose(mean, lam * e, rtol=0.02, atol=2e-3)
    monte_carlo = np.trace(np.diag(lam) @ cov) / (mean @ (lam * mean))
    exact = gradient_noise_scale(lam, e, sigma**2)
    assert monte_carlo == pytest.approx(exact, rel=0.03)
    # Σ = ΛeeᵀΛ + (eᵀΛe + σ²)Λ: the covariance itself
    sigma_exact = np.outer(lam * e, lam * e) + (e @ (lam * e) + sigma**2) * np.diag(lam)
    assert np.abs(cov - sigma_exact).max() < 0.03 * np.abs(sigma_exact).max()


@pytest.mark.parametrize("batch", [1, 4, 32])
def test_optimal_one_step_rate_is_mccandlish(batch: int) -> None:
    """The exact expected loss after one SGD step from e is minimized at ε_max/(1 + B_noise/B)."""
    lam, w = linreg()
    sigma = 0.2
    e = -w
    b_noise = gradient_noise_scale(lam, e, sigma**2)
    eps_max = (e @ (lam**2 * e)) / (e @ (lam**3 * e))
    rates = np.linspace(0.05, 2.5, 4001) * eps_max / (1 + b_noise / batch)
    losses = [expected_loss_curve(lam, e**2, sigma**2, r, batch, 1)[1] for r in rates]
    best = rates[int(np.argmin(losses))]
    assert best == pytest.approx(eps_max / (1 + b_noise / batch), rel=2e-3)


STEPS_SPEC = """
id: steps
version: 1
pillar: hyperparameters
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_linear, d: 8, spectrum_exponent: 1.5, target_exponent: 1.5, noise_std: 0.2}
  model: {kind: linear, init: zeros}
  optimizer: {kind: sgd, lr: 0.1, batch_size: 2}
  train_size: online
  steps: 60
sweep:
  optimizer.lr: [0.3, 0.6]
seeds: 4
target:
  quantity: population_loss
  grid: {kind: linear, num: 31}
  derive: {kind: steps_to, x: optimizer.lr, level: 0.2}
tolerance: {metric: log_ratio, value: 0.05}
baseline: gd-population
"""


def steps_problem(tmp_path: Path) -> Problem:
    folder = tmp_path / "benchmarks" / "hyperparameters"
    folder.mkdir(parents=True)
    (folder / "steps.yaml").write_text(STEPS_SPEC)
    (problem,) = problems_of(load_benchmark(folder / "steps.yaml"))
    return problem


def test_steps_to_a_level_match_monte_carlo_sgd(tmp_path: Path) -> None:
    """The recursion's fewest steps to the level against 40,000 simulated online-SGD runs (numpy)."""
    problem = steps_problem(tmp_path)
    forecast = SGDRecursion().predict(problem)
    task = problem.population()
    lam, w_star, sigma = task.eigenvalues, task.teacher, math.sqrt(task.noise_variance)
    rng = np.random.default_rng(1)
    runs, batch = 40_000, 2
    fewest = np.inf
    for member, grid in zip(problem.members, problem.member_grids, strict=True):
        lr, w, curve = member["optimizer"]["lr"], np.zeros((runs, lam.size)), []
        for _ in range(member["steps"] + 1):
            e = w - w_star
            curve.append(0.5 * (np.mean(e**2 @ lam) + sigma**2))
            x = rng.standard_normal((runs, batch, lam.size)) * np.sqrt(lam)
            residual = np.einsum("rbd,rd->rb", x, e) - sigma * rng.standard_normal((runs, batch))
            w = w - lr / batch * np.einsum("rbd,rb->rd", x, residual)
        fewest = min(fewest, float(crossing_steps(grid, np.asarray(curve)[grid], 0.2)[0]))
    assert 5 < fewest < 50
    assert float(forecast.mean) == pytest.approx(fewest, rel=0.02)


def test_infinite_batch_steps_against_gradient_descent(tmp_path: Path) -> None:
    """S_min (closed form, bisection) against gradient descent iterated step by step at the lr found."""
    problem = steps_problem(tmp_path)
    s_min = infinite_batch_min_steps(problem, 0.2)
    task = problem.population()
    lam, w_star = task.eigenvalues, task.teacher

    def steps_by_iteration(lr: float) -> float:
        e, previous = -w_star.copy(), None
        for t in range(10_000):
            loss = 0.5 * (e @ (lam * e) + task.noise_variance)
            if loss <= 0.2:
                return t if previous is None else t - 1 + (previous - 0.2) / (previous - loss)
            previous, e = loss, e - lr * lam * e
        return math.inf

    rates = 2.0 ** np.arange(-8.0, np.log2(2.0 / lam.max()), 1 / 64)
    assert s_min == pytest.approx(min(steps_by_iteration(r) for r in rates), rel=1e-9)
    # the forecasts of the three predictors: GD at the group's rates ≥ S_min; McCandlish's ≥ S_min
    gd = float(GDPopulation().predict(problem).mean)
    assert s_min <= gd
    critical = CriticalBatchSize().predict(problem)
    b_noise = gradient_noise_scale(lam, -w_star, task.noise_variance)
    assert float(critical.mean) == pytest.approx(s_min * (1 + b_noise / 2))


# --------------------------------------------------------------------------------------------
# width: the μP / SP laws


def test_width_laws() -> None:
    assert width_shift("mup", 512, 64) == 0.0
    assert width_shift("sp", 512, 64) == pytest.approx(-3.0)
    assert width_shift("sp", 32, 64) == pytest.approx(1.0)
    assert width_shift("ntp", 128, 64) is None


# --------------------------------------------------------------------------------------------
# stepwise learning: the half-speed ReLU rule


def test_gaussian_identities_behind_the_half_speed_rule() -> None:
    """E[x ReLU(w·x)] = w/2 and E[1{w·x>0} x xᵀ] = I/2 for x ~ N(0, I) (Monte Carlo)."""
    rng = np.random.default_rng(1)
    d, n = 6, 400_000
    w = rng.standard_normal(d) * 0.3
    x = rng.standard_normal((n, d))
    z = x @ w
    np.testing.assert_allclose((x * np.maximum(z, 0)[:, None]).mean(0), w / 2, atol=4e-3)
    second = (x[z > 0].T @ x[z > 0]) / n
    np.testing.assert_allclose(second, np.eye(d) / 2, atol=6e-3)


def test_relu_network_linear_part_grows_at_half_speed() -> None:
    """Gradient descent on f = W2 ReLU(W1 x) from small weights, Gaussian inputs (Monte Carlo): in
    the linear phase the best linear fit's mode strength grows like e^{sτ} — the half-speed rule —
    where a linear network's grows like e^{2sτ}."""
    rng = np.random.default_rng(2)
    d, width, std, lr = 4, 16, 0.01, 0.02
    s = np.array([2.0, 1.0, 0.0, 0.0])
    x = rng.standard_normal((8_000, d))
    y = x * s  # teacher diag(s): the modes are the coordinate axes
    w1 = std * rng.standard_normal((width, d))
    w2 = std * rng.standard_normal((d, width))
    strength = []
    for _ in range(90):
        h = np.maximum(x @ w1.T, 0.0)
        strength.append(((h @ w2.T).T @ x / len(x))[0, 0])
        r = y - h @ w2.T
        g2 = -(r.T @ h) / len(x)
        g1 = -(((r @ w2) * (h > 0)).T @ x) / len(x)
        w1, w2 = w1 - lr * g1, w2 - lr * g2
    assert strength[-1] < 0.1 * s[0]  # still in the linear phase
    rate = np.log(strength[-1] / strength[-41]) / (40 * lr)
    assert rate == pytest.approx(s[0], rel=0.1)


def test_stepwise_times() -> None:
    # speed 1: the linear network's times with u0 = Nσ²/2 (as saxe-discrete on dln-modes)
    times = stepwise_half_times([3.0, 0.5], 64, 0.03, 0.02, 1.0, 0.5, 10**6)
    u0 = 64 * 0.03**2 / 2
    assert times[0] == pytest.approx(half_time_discrete(3.0, u0, 2, 0.02))
    # speed ½ (ReLU): the flow time ln((s − u0')/u0')/(ηs) with u0' = Nσ²/4, up to O(ηs)
    relu = stepwise_half_times([3.0, 1.0, 0.5], 64, 0.03, 1e-3, 0.5, 0.5, 10**7)
    u0 = 64 * 0.03**2 / 4
    flow = np.array([math.log((s - u0) / u0) / (1e-3 * s) for s in (3.0, 1.0, 0.5)])
    np.testing.assert_allclose(relu, flow, rtol=2e-3)
    assert flow[1] == pytest.approx(2 * half_time_flow(1.0, u0, 2) / 1e-3)


# --------------------------------------------------------------------------------------------
# rotational equilibrium: a random walk on the sphere


def simulate(optimizer: dict, entries: int = 2000, steps: int = 5000, seed: int = 0) -> tuple:
    """Scale-invariant weights with pure-noise gradients ``g = P_⊥ ξ / ‖W‖`` (``ξ`` i.i.d. normal,
    projected orthogonal to ``W``): the rms angular update and the norm over the second half.

    ``W`` starts on the sphere of the predicted equilibrium radius (AdamW: ``√(ηC/(2λ))``; SGD with
    ``E‖g̃‖² ≈ C`` at unit norm: ``(ηC/(2λ(1 − μ)))^{1/4}``), so the run is stationary: from far
    away the norm relaxes in ``~1/(2ηλ)`` steps, but Adam's ``v`` then lags for ``~1/(1 − β₂)``
    more, which inflates the norm for thousands of steps.
    """
    rng = np.random.default_rng(seed)
    eta, decay = optimizer["lr"], optimizer["weight_decay"]
    if optimizer["kind"] == "sgd":
        radius = (eta * entries / (2 * decay * (1 - optimizer.get("momentum", 0.0)))) ** 0.25
    else:
        radius = math.sqrt(eta * entries / (2 * decay))
    w = rng.standard_normal(entries)
    w *= radius / np.linalg.norm(w)
    buf = np.zeros(entries)
    m = np.zeros(entries)
    v = np.zeros(entries)
    ratios, norms = [], []
    for t in range(1, steps + 1):
        xi = rng.standard_normal(entries)
        g = (xi - (xi @ w) / (w @ w) * w) / np.linalg.norm(w)
        old = w.copy()
        if optimizer["kind"] == "sgd":
            g = g + decay * w
            mu = optimizer.get("momentum", 0.0)
            buf = g if t == 1 else mu * buf + g
            w = w - eta * buf
        else:
            b1, b2 = optimizer["beta1"], optimizer["beta2"]
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            w = (1 - eta * decay) * w
            w = w - eta * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
        if t > steps // 2:
            ratios.append(np.linalg.norm(w - old) / np.linalg.norm(old))
            norms.append(np.linalg.norm(w))
    return float(np.sqrt(np.mean(np.square(ratios)))), float(np.mean(norms))


@pytest.mark.parametrize(
    "optimizer",
    [
        {"kind": "sgd", "lr": 0.05, "weight_decay": 0.05},
        {"kind": "sgd", "lr": 0.02, "weight_decay": 0.1, "momentum": 0.9},
        {
            "kind": "adam",
            "lr": 2e-3,
            "weight_decay": 2.0,
            "decoupled": True,
            "beta1": 0.9,
            "beta2": 0.999,
        },
        {
            "kind": "adam",
            "lr": 1e-3,
            "weight_decay": 4.0,
            "decoupled": True,
            "beta1": 0.5,
            "beta2": 0.999,
        },
    ],
)
def test_equilibrium_matches_a_random_walk_simulation(optimizer: dict) -> None:
    angle, norm = simulate(optimizer)
    assert angle == pytest.approx(equilibrium_angular_update(optimizer), rel=0.03)
    expected = equilibrium_norm(optimizer, 2000)
    if expected is not None:  # AdamW only: ‖W‖ = √(ηC/(2λ))
        assert norm == pytest.approx(expected, rel=0.03)


def test_mlp_gradients_match_autograd() -> None:
    rng = np.random.default_rng(3)
    dims = [5, 7, 6, 3]
    weights = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(3)]
    x, y = rng.standard_normal((11, 5)), rng.standard_normal((11, 3))
    for activation in ("relu", "tanh"):
        ours = mlp_gradients(weights, x, y, activation)
        ws = [torch.tensor(w, requires_grad=True) for w in weights]
        h = torch.tensor(x)
        phi = torch.relu if activation == "relu" else torch.tanh
        for w in ws[:-1]:
            h = phi(torch.nn.functional.layer_norm(h @ w.T, (w.shape[0],), eps=1e-5))
        loss = 0.5 * ((h @ ws[-1].T - torch.tensor(y)) ** 2).sum(1).mean()
        loss.backward()
        for g, w in zip(ours, ws):
            np.testing.assert_allclose(g, w.grad.numpy(), rtol=1e-10, atol=1e-12)
