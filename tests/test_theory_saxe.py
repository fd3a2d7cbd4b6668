"""Independent checks of ``predictors/saxe.py`` (Saxe, McClelland & Ganguli 2014, arXiv:1312.6120).

Mode ODE (sec. 1.1 for L = 2, sec. 3 for deeper nets): ``du/dτ = L u^{2−2/L} (s − u)``, τ = ηt;
closed form for L = 2: ``u(τ) = s e^{2sτ} / (e^{2sτ} − 1 + s/u0)``. Compared with: ``scipy``'s ODE
solver, finite differences, a plain numpy simulation of full-batch gradient descent on a deep
linear network (whole weight matrices, not the scalar map), and a Monte Carlo of the random-init
effective strength. All float64.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from predictors.saxe import (
    effective_initial_strength,
    half_time_discrete,
    half_time_flow,
    mode_strength_flow,
)

# ---------------------------------------------------------------------------------------------
# (a), (b) flow times vs an ODE solver


def _ode_time(s: float, u0: float, depth: int, fraction: float) -> float:
    """τ at which ``du/dτ = L u^{2−2/L}(s − u)``, ``u(0) = u0``, reaches ``fraction·s`` (solve_ivp, event)."""

    def rhs(_, u):
        return depth * u ** (2 - 2 / depth) * (s - u)

    def reached(_, u):
        return u[0] - fraction * s

    reached.terminal = True
    reached.direction = 1
    sol = solve_ivp(
        rhs, (0.0, 1e6), [u0], method="DOP853", rtol=1e-12, atol=1e-14 * s, events=reached
    )
    assert sol.status == 1 and len(sol.t_events[0]) == 1
    return float(sol.t_events[0][0])


# ODE solved at rtol 1e-12 (local error control). The global error on the event time is what
# matters: tightening rtol to 1e-13 moved the times by ≤ 5e-12 relative over these cases, and the
# predictor (closed form at L = 2, quad at epsrel 1e-12 for L ≥ 3) agreed to ≤ 7e-12. 1e-9 relative
# leaves two orders of magnitude for platform differences and is far below any modelling error
# (e.g. a factor L or an exponent 1 − 2/L vs 2 − 2/L changes the times by O(1)).
FLOW_RTOL = 1e-9


@pytest.mark.parametrize("s", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("u0", [1e-4, 1e-2, 0.2])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_half_time_flow_depth2_closed_form_vs_ode(s: float, u0: float, fraction: float) -> None:
    """Depth 2: ``ln[f(s − u0)/((1 − f)u0)]/(2s)`` vs solve_ivp of ``du/dτ = 2u(s − u)`` (Saxe et al. sec. 1.1)."""
    if u0 >= fraction * s:
        assert half_time_flow(s, u0, 2, fraction) == 0.0
        return
    assert half_time_flow(s, u0, 2, fraction) == pytest.approx(
        _ode_time(s, u0, 2, fraction), rel=FLOW_RTOL
    )


@pytest.mark.parametrize("depth", [3, 4])
@pytest.mark.parametrize("s, u0", [(0.5, 1e-3), (1.0, 1e-3), (3.0, 1e-2), (2.0, 0.3)])
@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9])
def test_half_time_flow_deep_quadrature_vs_ode(
    depth: int, s: float, u0: float, fraction: float
) -> None:
    """Depth 3, 4: the quadrature ``∫ du / (L u^{2−2/L}(s − u))`` vs solve_ivp of the mode ODE (Saxe et al. sec. 3)."""
    if u0 >= fraction * s:
        assert half_time_flow(s, u0, depth, fraction) == 0.0
        return
    assert half_time_flow(s, u0, depth, fraction) == pytest.approx(
        _ode_time(s, u0, depth, fraction), rel=FLOW_RTOL
    )


def test_deeper_networks_have_a_sharper_plateau() -> None:
    """Qualitative sanity: from the same small u0 < s, depth 3 and 4 take longer than depth 2
    (their growth ``u^{2−2/L}`` is slower than ``u`` when u < 1)."""
    times = [half_time_flow(1.0, 1e-3, depth) for depth in (2, 3, 4)]
    assert times[0] < times[1] < times[2]


# ---------------------------------------------------------------------------------------------
# (c) the closed-form curve solves the ODE


@pytest.mark.parametrize("s, u0", [(0.5, 1e-3), (1.0, 0.01), (3.0, 0.5), (2.0, 1.5)])
def test_mode_strength_flow_solves_ode(s: float, u0: float) -> None:
    """``mode_strength_flow``: ``u(0) = u0`` (1e-14) and ``u' = 2u(s − u)`` by central differences.

    Tolerance: with ``h = 1e-4/s`` the truncation error is ≤ ``h² max|u'''|/6`` and ``|u'''| ≤ s⁴`` for the
    logistic curve (``u = s σ(2sτ + c)``, ``|σ'''| ≤ 1/8``), i.e. ≤ ``1.7e-9 s²``; rounding adds
    ~``ε s/h`` ≈ ``2e-12 s²``. Both are below ``1e-8 · max|u'| = 5e-9 s²`` (max|u'| = s²/2 at u = s/2).
    Only 0 < u0 < s: above s the curve is not a logistic and this bound on u''' does not hold.
    """
    assert mode_strength_flow(s, u0, np.array([0.0]))[0] == pytest.approx(u0, rel=1e-14)
    h = 1e-4 / s
    tau = np.linspace(0.0, 6.0 / s + half_time_flow(s, u0, 2), 400)[1:]
    derivative = (mode_strength_flow(s, u0, tau + h) - mode_strength_flow(s, u0, tau - h)) / (2 * h)
    u = mode_strength_flow(s, u0, tau)
    np.testing.assert_allclose(derivative, 2 * u * (s - u), rtol=0, atol=1e-8 * s**2 / 2)
    assert mode_strength_flow(s, u0, np.array([50.0 / s]))[0] == pytest.approx(s, rel=1e-12)


def test_mode_strength_flow_consistent_with_half_time() -> None:
    """``u(half_time_flow) = fraction · s`` for the closed form (1e-12)."""
    for s, u0, fraction in [(1.0, 1e-3, 0.5), (3.0, 0.01, 0.9), (0.5, 1e-4, 0.2)]:
        tau = half_time_flow(s, u0, 2, fraction)
        assert mode_strength_flow(s, u0, np.array([tau]))[0] == pytest.approx(
            fraction * s, rel=1e-12
        )


# ---------------------------------------------------------------------------------------------
# (d) the discrete map vs gradient descent on the full weight matrices


def _haar(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def simulate_deep_linear_gd(
    depth: int,
    width: int,
    singular_values: np.ndarray,
    u0: float,
    lr: float,
    steps: int,
    seed: int,
    fraction: float = 0.5,
    n: int = 16,
) -> np.ndarray:
    """Crossing times of each mode in full-batch GD on ``f(x) = W_L ⋯ W_1 x``, loss ``½ mean‖y − f(x)‖²``.

    Exactly whitened inputs (``XᵀX/n = I`` via a symmetric inverse square root), teacher
    ``T = U diag(s) Vᵀ`` with Haar ``U, V``, balanced aligned init ``W_1 = c R Vᵀ``, ``W_l = c R Rᵀ``,
    ``W_L = c U Rᵀ`` (``R`` = first columns of the identity, ``c = u0^{1/L}``). Gradients come from the
    data (not from ``W − T``). The strength ``u_α = U[:, α]ᵀ W_L⋯W_1 V[:, α]`` is read every step and its
    first crossing of ``fraction·s_α`` interpolated linearly, as ``ModeHalfTimes`` does.
    """
    rng = np.random.default_rng(seed)
    d = len(singular_values)
    u_mat, v_mat = _haar(d, rng), _haar(d, rng)
    teacher = (u_mat * singular_values) @ v_mat.T
    z = rng.standard_normal((n, d))
    evals, evecs = np.linalg.eigh(z.T @ z / n)
    x = z @ (evecs / np.sqrt(evals)) @ evecs.T
    assert np.allclose(x.T @ x / n, np.eye(d), atol=1e-13)
    y = x @ teacher.T
    c = u0 ** (1.0 / depth)
    embed = np.eye(width, d)
    layers = (
        [c * embed @ v_mat.T]
        + [c * embed @ embed.T for _ in range(depth - 2)]
        + [c * u_mat @ embed.T]
    )
    level = fraction * singular_values
    times = np.full(d, np.inf)
    previous = None
    for step in range(steps + 1):
        product = layers[0]
        for w in layers[1:]:
            product = w @ product
        strength = np.einsum("oa,oi,ia->a", u_mat, product, v_mat)
        if previous is not None:
            crossed = np.isinf(times) & (strength >= level) & (previous < level)
            gap, rise = (level - previous)[crossed], (strength - previous)[crossed]
            times[crossed] = (step - 1) + gap / rise
        else:
            times[strength >= level] = 0.0
        previous = strength
        if np.all(np.isfinite(times)):
            break
        grad_product = -(y - x @ product.T).T @ x / n  # ∂ loss / ∂ (W_L ⋯ W_1)
        grads = []
        for i in range(depth):
            left = np.eye(d) if i == depth - 1 else _chain(layers[i + 1 :])
            right = np.eye(d) if i == 0 else _chain(layers[:i])
            grads.append(left.T @ grad_product @ right.T)
        layers = [w - lr * g for w, g in zip(layers, grads)]
    return times


def _chain(layers: list[np.ndarray]) -> np.ndarray:
    """``layers[-1] ⋯ layers[0]``."""
    product = layers[0]
    for w in layers[1:]:
        product = w @ product
    return product


# Tolerance 1e-8 relative: the matrix simulation and the scalar map agree in exact arithmetic (GD
# keeps the aligned balanced structure); in float64 they differ by rounding, ~1e-16 per operation
# accumulated over a few hundred steps; we measured ≤ 2e-15 (the crossing is well conditioned: the
# strength rises by ≥ 0.3 % of s per step there), so 1e-8 is loose but far below the O(η) flow gap.
@pytest.mark.parametrize("depth, lr, steps", [(2, 0.05, 2000), (3, 0.05, 3000)])
def test_half_time_discrete_matches_matrix_gradient_descent(
    depth: int, lr: float, steps: int
) -> None:
    """``half_time_discrete`` per mode vs a numpy simulation of GD on the full weights (d = 4, width 6,
    s = 3, 2, 1, 0.5, u0 = 1e-3); also the flow time /η is only close (O(η)), not equal."""
    s = np.array([3.0, 2.0, 1.0, 0.5])
    simulated = simulate_deep_linear_gd(depth, 6, s, 1e-3, lr, steps, seed=11 + depth)
    assert np.all(np.isfinite(simulated))
    predicted = np.array([half_time_discrete(si, 1e-3, depth, lr) for si in s])
    np.testing.assert_allclose(predicted, simulated, rtol=1e-8)
    flow = np.array([half_time_flow(si, 1e-3, depth) / lr for si in s])
    assert np.max(np.abs(flow / simulated - 1)) > 1e-3  # the test can tell the flow from GD


@pytest.mark.parametrize("fraction", [0.2, 0.8])
def test_half_time_discrete_other_fractions(fraction: float) -> None:
    """Same comparison at other fractions, depth 2, a larger init (u0 = 0.05) and η = 0.1."""
    s = np.array([2.5, 1.5, 1.0, 0.3])
    simulated = simulate_deep_linear_gd(2, 5, s, 0.05, 0.1, 3000, seed=5, fraction=fraction)
    predicted = np.array([half_time_discrete(si, 0.05, 2, 0.1, fraction) for si in s])
    np.testing.assert_allclose(predicted, simulated, rtol=1e-8)


# ---------------------------------------------------------------------------------------------
# (e) η → 0


@pytest.mark.parametrize("depth", [2, 3])
def test_half_time_discrete_tends_to_flow(depth: int) -> None:
    """``η · half_time_discrete`` → ``half_time_flow`` with a relative gap linear in η: halving η halves
    the gap (ratio in [1.8, 2.2]: the next term is O(η²), ≤ 10 % of the first at η ≤ 0.02 here)."""
    s, u0 = 1.0, 1e-3
    flow = half_time_flow(s, u0, depth)
    gaps = [abs(half_time_discrete(s, u0, depth, lr) * lr / flow - 1) for lr in (0.02, 0.01, 0.005)]
    assert gaps[2] < 0.02
    for coarse, fine in itertools.pairwise(gaps):
        assert 1.8 < coarse / fine < 2.2, gaps


# ---------------------------------------------------------------------------------------------
# (f) small random init: u0_eff = Nσ²/2


def test_effective_initial_strength_expectation_by_monte_carlo() -> None:
    """``E‖a0 + b0‖²/4 = Nσ²/2`` for ``a0 = W2ᵀu``, ``b0 = W1 v`` with i.i.d. ``N(0, σ²)`` weights and unit
    ``u``, ``v`` (the expectation behind ``effective_initial_strength``, not the heuristic's accuracy).

    ``a0 + b0 ~ N(0, 2σ² I_N)``, so ``‖a0 + b0‖²/4 = (σ²/2) χ²_N`` with variance ``Nσ⁴/2``; z-test at 4.5
    standard errors over 20 000 draws (false-alarm probability 7e-6). A factor-2 error (e.g. ``Nσ²``)
    would sit ~200 standard errors away.
    """
    n_hidden, d_in, d_out, sigma, draws = 40, 5, 3, 0.07, 20_000
    rng = np.random.default_rng(2024)
    u = rng.standard_normal(d_out)
    u /= np.linalg.norm(u)
    v = rng.standard_normal(d_in)
    v /= np.linalg.norm(v)
    w1 = sigma * rng.standard_normal((draws, n_hidden, d_in))
    w2 = sigma * rng.standard_normal((draws, d_out, n_hidden))
    a0 = np.einsum("son,o->sn", w2, u)
    b0 = w1 @ v
    values = np.sum((a0 + b0) ** 2, axis=1) / 4
    claimed = effective_initial_strength(
        {"kind": "gaussian", "std": sigma}, depth=2, width=n_hidden
    )
    assert claimed == pytest.approx(n_hidden * sigma**2 / 2, rel=1e-15)
    sem = values.std(ddof=1) / np.sqrt(draws)
    assert sem == pytest.approx(sigma**2 * np.sqrt(n_hidden / 2) / np.sqrt(draws), rel=0.05)
    assert abs(values.mean() - claimed) < 4.5 * sem, (values.mean(), claimed, sem)


def test_effective_initial_strength_cases() -> None:
    """Aligned init: its ``mode_strength``; Gaussian at depth ≥ 3: ``None`` (no linear escape phase)."""
    assert effective_initial_strength({"kind": "aligned", "mode_strength": 0.01}, 3, 8) == 0.01
    assert effective_initial_strength({"kind": "gaussian", "std": 0.1}, 3, 8) is None
