"""Independent checks of the random-feature predictors (``predictors/random_features.py``,
``predictors/ridgeless.py``, ``predictors/scaling_laws.py``, ``predictors/baselines_rf.py``).

The RF eigenframework (Simon, Karkada, Ghosh & Belkin 2024, arXiv:2311.14646, sec. 4) is checked
against: its own defining equations; the paper's form of the bias coefficient; the ``k → ∞``
(eigenlearning) and ridgeless limits; a closed form for an isotropic spectrum; an *independent*
computation — conditional on the random features ``F``, the model is ridge regression on Gaussian
features ``z = Fx/√k`` with covariance ``FΛFᵀ/k``, the best linear predictor's residual acting as
extra label noise, so eigenlearning applies to it; averaging that over draws of ``F`` must give the
eigenframework's number — and a numpy Monte Carlo of the trained model's exact population risk.
All float64, numpy only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from predictors.baselines_rf import unlearned_signal
from predictors.eigenlearning import eigenlearning
from predictors.random_features import rf_eigenframework
from predictors.ridgeless import min_norm_risk
from predictors.scaling_laws import data_exponent, feature_exponent


@pytest.fixture(scope="module", autouse=True)
def _single_threaded_blas():
    """One BLAS thread: many small eigh/solve calls are 10-20x slower with OpenBLAS's two threads
    spin-waiting on a loaded 2-core machine (as in test_theory_eigenlearning.py)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _power(d: int, b: float = 1.5, a: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(1, d + 1, dtype=np.float64)
    return i**-b, i**-a


CASES = [  # (n, k, ridge)
    (200, 50, 1e-4),
    (200, 190, 1e-4),
    (200, 200, 1e-4),
    (200, 800, 1e-4),
    (50, 20, 1.0),
    (1000, 30, 1e-8),
    (30, 1000, 1e-2),
]


@pytest.mark.parametrize("n, k, ridge", CASES)
def test_both_equations_hold(n: int, k: int, ridge: float) -> None:
    """``n = Σ L_i + δ/κ`` and ``k = Σ L_i + kκ/γ`` with ``L_i = λ_i/(λ_i + γ)``.

    The features equation holds to 1e-9. The data equation holds to 1e-9 except where ``κ ≪ γ``
    (tiny ridge, ``n ≫ k``): ``κ = γ(k − z)/k`` then comes from a cancellation (``k − z ≈ 5e-8`` at
    ``δ = 1e-8``, ``n = 1000``, ``k = 30``), whose rounding (~1e-14 absolute) leaves ``δ/κ`` with a
    relative error ~1e-7 (the test MSE is insensitive to it: κ enters only through the bias term,
    ``∝ κ``); so 1e-6 there."""
    lam, v2 = _power(400)
    r = rf_eigenframework(lam, v2, n, k, ridge, 0.1)
    z = np.sum(lam / (lam + r["gamma"]))
    assert r["gamma"] > 0 and r["kappa"] > 0
    tight = r["kappa"] > 1e-6 * r["gamma"]
    assert z + ridge / r["kappa"] == pytest.approx(n, rel=1e-9 if tight else 1e-6)
    assert z + k * r["kappa"] / r["gamma"] == pytest.approx(k, rel=1e-9)


@pytest.mark.parametrize("n, k, ridge", CASES)
def test_paper_form_of_the_risk(n: int, k: int, ridge: float) -> None:
    """The test MSE recomputed from (γ, κ) with the paper's form of the bias coefficient,
    ``(1 − L_i) − (κk/(k − q)) L_i/(λ_i + γ)``, and ``E_0 = [1 − (q(k − 2z) + z²)/(n(k − q))]⁻¹``."""
    lam, v2 = _power(400)
    r = rf_eigenframework(lam, v2, n, k, ridge, 0.1)
    g, kap = r["gamma"], r["kappa"]
    learn = lam / (lam + g)
    z, q = learn.sum(), (learn**2).sum()
    e0 = 1.0 / (1.0 - (q * (k - 2 * z) + z**2) / (n * (k - q)))
    bias = (1 - learn) - kap * k / (k - q) * learn / (lam + g)
    assert r["test_mse"] == pytest.approx(e0 * (bias @ v2 + 0.1), rel=1e-10)


@pytest.mark.parametrize("n, ridge", [(50, 1e-3), (200, 0.0), (300, 1e-1)])
def test_infinitely_many_features_is_eigenlearning(n: int, ridge: float) -> None:
    """``k → ∞``: ``κ → γ`` and the estimate tends to eigenlearning's, with an O(1/k) gap."""
    lam, v2 = _power(400)
    limit = eigenlearning(lam, v2, n, ridge, 0.1)["test_mse"]
    assert rf_eigenframework(lam, v2, n, math.inf, ridge, 0.1)["test_mse"] == limit
    gaps = [
        abs(rf_eigenframework(lam, v2, n, k, ridge, 0.1)["test_mse"] / limit - 1)
        for k in (1e4, 1e6, 1e8)
    ]
    assert gaps[0] < 0.1 and gaps[1] < 1e-2 * gaps[0] * 2 and gaps[2] < 1e-5


def test_ridgeless_limits() -> None:
    """``δ = 0``, ``n > k``: ``z = k``, ``κ = 0``, ``E_0 = n/(n − k)``; continuous as ``δ → 0⁺``; the
    peak ``n = k`` is infinite, and finite but large at a small ridge."""
    lam, v2 = _power(400)
    n, k = 300, 120
    r = rf_eigenframework(lam, v2, n, k, 0.0, 0.1)
    assert r["kappa"] == 0.0 and np.sum(lam / (lam + r["gamma"])) == pytest.approx(k, rel=1e-12)
    assert r["e0"] == pytest.approx(n / (n - k), rel=1e-12)
    learn = lam / (lam + r["gamma"])
    assert r["test_mse"] == pytest.approx(n / (n - k) * ((1 - learn) @ v2 + 0.1), rel=1e-12)
    assert rf_eigenframework(lam, v2, n, k, 1e-10, 0.1)["test_mse"] == pytest.approx(
        r["test_mse"], rel=1e-6
    )
    r = rf_eigenframework(lam, v2, 100, 300, 0.0, 0.1)  # n < k: γ at Σ L = n, κ = γ(1 − n/k)
    assert r["kappa"] == pytest.approx(r["gamma"] * (1 - 100 / 300), rel=1e-12)
    assert rf_eigenframework(lam, v2, 100, 300, 1e-10, 0.1)["test_mse"] == pytest.approx(
        r["test_mse"], rel=1e-6
    )
    assert math.isinf(rf_eigenframework(lam, v2, 200, 200, 0.0, 0.1)["test_mse"])
    assert 10 < rf_eigenframework(lam, v2, 200, 200, 1e-6, 0.1)["test_mse"] < math.inf
    with pytest.raises(ValueError, match="degenerates"):
        rf_eigenframework(lam, v2, 500, 450, 0.0)


def test_isotropic_closed_form() -> None:
    """``d`` equal eigenvalues, ridgeless, ``k < n``: every ``L_i = k/d``, so
    ``test = n/(n − k) (‖β‖²(1 − k/d) + σ²)``; and in the kernel limit with ``n > d``,
    ``n/(n − d) σ²`` (``L_i = 1``)."""
    d, beta_sq, s2 = 100, 1.3, 0.2
    lam, v2 = np.ones(d), np.full(d, beta_sq / d)
    for n, k in [(80, 30), (500, 99)]:
        got = rf_eigenframework(lam, v2, n, k, 0.0, s2)["test_mse"]
        assert got == pytest.approx(n / (n - k) * (beta_sq * (1 - k / d) + s2), rel=1e-10)
    assert rf_eigenframework(lam, v2, 150, math.inf, 0.0, s2)["test_mse"] == pytest.approx(
        150 / 50 * s2
    )


def _conditional_eigenlearning(lam, w, noise, n, k, ridge, draws, rng) -> np.ndarray:
    """Eigenlearning of the ridge regression on ``z = Fx/√k`` for each draw of ``F``."""
    out = []
    for _ in range(draws):
        f = rng.standard_normal((k, lam.size))
        cov = (f * lam) @ f.T / k  # Cov(z)
        cross = f @ (lam * w) / np.sqrt(k)  # Cov(z, y)
        mu, u = np.linalg.eigh(cov)
        theta = np.linalg.solve(cov, cross)  # best linear predictor in z
        residual = float(w @ (lam * w) - cross @ theta)  # its error: independent Gaussian noise
        v2 = mu * (u.T @ theta) ** 2
        out.append(eigenlearning(mu, v2, n, ridge, noise + max(residual, 0.0))["test_mse"])
    return np.array(out)


@pytest.mark.parametrize("n, k, ridge", [(200, 60, 1e-4), (200, 150, 1e-4), (100, 300, 1e-2)])
def test_matches_conditional_eigenlearning_averaged_over_features(
    n: int, k: int, ridge: float
) -> None:
    """The eigenframework's analytic average over ``F`` vs the numerical average of the conditional
    (Gaussian-design) eigenlearning estimate over 40 draws of ``F``. Tolerance: 4 standard errors of
    that average (≈ 1% each) plus 1% for the O(1/k) difference between averaging the exact
    conditional estimate and the deterministic equivalent. A wrong factor anywhere in the
    features equation or the bias coefficient moves the estimate by far more (the ``k = ∞`` value
    differs by 25–70% here)."""
    lam, v2 = _power(400)
    w = np.sqrt(v2 / lam)
    samples = _conditional_eigenlearning(
        lam, w, 0.09, n, k, ridge, 40, np.random.default_rng(n + k)
    )
    theory = rf_eigenframework(lam, v2, n, k, ridge, 0.09)["test_mse"]
    sem = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(theory - samples.mean()) < 4 * sem + 0.01 * theory, (theory, samples.mean(), sem)
    kernel = rf_eigenframework(lam, v2, n, math.inf, ridge, 0.09)["test_mse"]
    assert abs(kernel / theory - 1) > 0.2


def _monte_carlo(lam, w, sigma, n, k, ridge, draws, rng) -> np.ndarray:
    """Exact population risk of the trained k-feature ridge model, one value per draw."""
    out = np.empty(draws)
    for r in range(draws):
        x = rng.standard_normal((n, lam.size)) * np.sqrt(lam)
        y = x @ w + sigma * rng.standard_normal(n)
        f = rng.standard_normal((k, lam.size))
        phi = x @ f.T / np.sqrt(k)
        a = phi.T @ np.linalg.solve(phi @ phi.T + ridge * np.eye(n), y)
        err = f.T @ a / np.sqrt(k) - w
        out[r] = np.sum(lam * err**2) + sigma**2
    return out


@pytest.mark.parametrize("n, k", [(120, 60), (120, 120), (120, 240)])
def test_matches_monte_carlo_of_the_trained_model(n: int, k: int) -> None:
    """d = 240 power-law data, σ = 0.3, δ = 1e-4, 150 draws (features, data and noise all redrawn):
    the estimate is within 4 standard errors + 3% of the simulated mean, across the interpolation
    peak (k = n), where the mean is ~5× its value away from it. The 3% allows the asymptotic
    estimate's finite-size bias (≤ 4% in our larger runs; see the double-descent-rf card)."""
    lam, v2 = _power(240)
    w = np.sqrt(v2 / lam)
    sim = _monte_carlo(lam, w, 0.3, n, k, 1e-4, 150, np.random.default_rng(k))
    theory = rf_eigenframework(lam, v2, n, k, 1e-4, 0.09)["test_mse"]
    sem = sim.std(ddof=1) / np.sqrt(sim.size)
    assert abs(theory - sim.mean()) < 4 * sem + 0.03 * theory, (theory, sim.mean(), sem)


# --------------------------------------------------------------------------------------------
# min-norm least squares (ridgeless-exact) and the no-peak baseline


@pytest.mark.parametrize("n", [30, 70, 140])
def test_min_norm_risk_by_monte_carlo(n: int) -> None:
    """Monte Carlo of ``β̂ = X⁺y`` on ``x ~ N(0, I_d)``, d = 50, σ² = 0.25, 3000 draws (a z-test at
    4.5 s.e.m.) on both sides of the threshold; ``|n − d| ≥ 20`` keeps the tails light enough."""
    d, sigma2, draws = 50, 0.25, 3000
    rng = np.random.default_rng(n)
    beta = rng.standard_normal(d)
    beta *= np.sqrt(1.3) / np.linalg.norm(beta)
    x = rng.standard_normal((draws, n, d))
    y = (x @ beta + np.sqrt(sigma2) * rng.standard_normal((draws, n)))[..., None]
    xt = np.swapaxes(x, 1, 2)
    if n > d:  # least squares (XᵀX)⁻¹Xᵀy
        beta_hat = np.linalg.solve(xt @ x, xt @ y)[..., 0]
    else:  # minimum norm Xᵀ(XXᵀ)⁻¹y
        beta_hat = (xt @ np.linalg.solve(x @ xt, y))[..., 0]
    risk = sigma2 + np.sum((beta_hat - beta) ** 2, axis=1)
    exact = min_norm_risk(n, d, 1.3, sigma2)
    assert abs(risk.mean() - exact) < 4.5 * risk.std(ddof=1) / np.sqrt(draws), (risk.mean(), exact)
    assert math.isinf(min_norm_risk(50, 50, 1.3, sigma2)) and math.isinf(
        min_norm_risk(51, 50, 1.0, 0.1)
    )


def test_no_peak_baseline() -> None:
    """Isotropic: ``‖β‖² max(0, 1 − m/d)`` (ties share the cut); power law: the hard cutoff."""
    d = 100
    lam, v2 = np.ones(d), np.full(d, 0.013)
    for m in (0, 10, 37.0, 100, 250):
        assert unlearned_signal(lam, v2, m) == pytest.approx(1.3 * max(0.0, 1 - m / d), abs=1e-12)
    lam, v2 = _power(50)
    assert unlearned_signal(lam, v2, 20) == pytest.approx(v2[20:].sum(), rel=1e-12)


# --------------------------------------------------------------------------------------------
# exponent laws against the eigenframework deep in the asymptotic regime


@pytest.mark.parametrize("a, b", [(2.0, 2.0), (3.0, 3.0), (5.0, 1.5)])
def test_exponent_laws_are_the_asymptotic_slopes(a: float, b: float) -> None:
    """``L(k) ∝ k^{−min(a−1, b)}`` at ``n = 10⁹`` and ridgeless ``L(n) ∝ n^{−min(a−1, 2b)}`` at ``k = ∞``,
    from the eigenframework's slope over k, n ∈ [128, 512] with 2^16 modes, within 0.03. The case
    (5, 1.5) separates the two laws (1.5 vs 3)."""
    d = 2**16
    i = np.arange(1, d + 1, dtype=np.float64)
    lam, v2 = i**-b, i**-a
    x = np.array([128.0, 256.0, 512.0])
    lk = [rf_eigenframework(lam, v2, 1e9, k, 0.0)["test_mse"] for k in x]
    ln = [rf_eigenframework(lam, v2, n, math.inf, 0.0)["test_mse"] for n in x]
    assert np.polyfit(np.log(x), np.log(lk), 1)[0] == pytest.approx(
        -feature_exponent(a, b), abs=0.03
    )
    assert np.polyfit(np.log(x), np.log(ln), 1)[0] == pytest.approx(-data_exponent(a, b), abs=0.03)
