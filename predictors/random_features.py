"""Test error of linear random-feature ridge regression: the random-feature eigenframework.

Simon, Karkada, Ghosh & Belkin 2024 (ICLR), "More is better in modern machine learning: when infinite
overparameterization is optimal and overfitting is obligatory", arXiv:2311.14646, sec. 4 (the "RF
eigenframework"); the same deterministic equivalent as Bach 2024 (arXiv:2303.01372), Atanasov,
Zavatone-Veth & Pehlevan 2024 (arXiv:2405.00592) and Defilippis, Loureiro & Misiakiewicz 2024
(arXiv:2405.15699).

Model. ``k`` random features ``φ(x) = F x/√k`` (``F`` with i.i.d. ``N(0, 1)`` entries), fitted by
ridge regression on ``n`` samples, ``f̂(x) = φ(x)ᵀ Φᵀ(ΦΦᵀ + δ I_n)⁻¹ y`` with ``Φ`` the ``n × k``
feature matrix: the ridge ``δ`` is added to the *unnormalized* ``n × n`` feature Gram matrix, whose
``k → ∞`` limit is the kernel matrix ``K(x, x') = x·x'`` (``E[Fᵀ F]/k = I``). ``(λ_i, φ_i)`` is the
eigensystem of that limiting kernel's integral operator (for ``x ~ N(0, Λ)``: ``λ_i`` the eigenvalues
of ``Λ``, ``φ_i(x) = x_i/√λ_i``), ``v_i = ⟨f*, φ_i⟩`` the target's coefficients (``v_i = √λ_i w*_i``
for a linear teacher ``w*``) and ``ε²`` the label-noise variance.

Equations. Solve for ``γ, κ > 0``::

    n = Σ_i λ_i/(λ_i + γ) + δ/κ                                          (data)
    k = Σ_i λ_i/(λ_i + γ) + k κ/γ                                        (features)

and with ``L_i = λ_i/(λ_i + γ)``, ``z = Σ_i L_i``, ``q = Σ_i L_i²``::

    E_0  = [1 − (q (k − 2z) + z²) / (n (k − q))]⁻¹
    test = E_0 [ Σ_i ((1 − L_i) − (κ k/(k − q)) L_i/(λ_i + γ)) v_i² + ε² ].

Using ``κ = γ (k − z)/k`` (the features equation), the bias coefficient is
``(1 − L_i)(1 − L_i (k − z)/(k − q)) ≥ (1 − L_i)²``. Numerics: substitute ``κ(γ)`` into the data
equation, whose left side then decreases strictly in ``γ`` (``dκ/dγ = 1 − q/k > 0``), and solve in
``log γ`` on ``(γ_0, ∞)`` with ``γ_0`` the root of ``z(γ_0) = k`` (``0`` if ``k`` is at least the
number of positive eigenvalues). Ridgeless (``δ = 0``): ``z = min(n, k)``; for ``n > k`` then
``κ = 0`` and ``E_0 = n/(n − k)``, and ``n = k`` is the interpolation peak (``+∞``). In the kernel
limit with ``n`` above the number ``m`` of positive eigenvalues, ridgeless: ``L_i = 1``,
``E_0 = n/(n − m)``, test ``= E_0 ε²`` (the ``δ → 0`` limit of eigenlearning).

Limits. As ``k → ∞``, ``κ → γ`` and the formulas become eigenlearning's (``E_0 = n/(n − q)``,
bias ``(1 − L_i)²``), which is what ``k = inf`` computes.

The formulas above are those of the authors' public reference implementation
(``rf_krr_risk_theory`` in ``theory.py`` of github.com/dkarkada/more-is-better), as transcribed in the
project's theory catalogue (entry S3b), and are checked in ``tests/test_theory_random_features.py``
against: the ``k → ∞`` eigenlearning limit, an independent computation (eigenlearning of the
ridge regression on the *projected* Gaussian features ``Fx/√k``, conditional on ``F``, averaged over
``F``) and a numpy Monte Carlo of the trained model's exact population risk.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from harness.derive import Derive, slope
from harness.predictor import Abstain, Forecast, Problem

from .eigenlearning import eigenlearning

__all__ = [
    "RFEigenframework",
    "linear_gaussian_eigensystem",
    "rf_eigenframework",
]


def _learned(lam: np.ndarray, gamma: float) -> tuple[float, float]:
    """``z = Σ λ/(λ + γ)`` and ``q = Σ (λ/(λ + γ))²``."""
    learn = lam / (lam + gamma)
    return float(np.sum(learn)), float(np.sum(learn**2))


def _gamma_at(lam: np.ndarray, target: float) -> float:
    """The ``γ > 0`` with ``Σ λ/(λ + γ) = target`` (``0 < target < len(lam)``)."""

    def excess(log_gamma: float) -> float:
        return float(np.sum(lam / (lam + math.exp(log_gamma)))) - target

    lo = math.log(lam.min()) - 40.0
    hi = math.log(lam.sum()) + 40.0
    while excess(lo) < 0:
        lo -= 40.0
    while excess(hi) > 0:
        hi += 40.0
    return math.exp(brentq(excess, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=1000))


def _solve(lam: np.ndarray, n: float, k: float, ridge: float) -> tuple[float, float]:
    """``(γ, κ)`` of the module docstring; ``κ = 0`` for ridgeless ``n ≥ k``."""
    m = lam.size
    if ridge <= 0:
        interpolated = min(n, k)
        if interpolated >= m:
            raise ValueError(
                f"ridgeless with min(n, k) = {interpolated:g} >= {m} positive eigenvalues: "
                "the estimate degenerates"
            )
        gamma = _gamma_at(lam, interpolated)
        return gamma, (gamma * (k - n) / k if n < k else 0.0)

    def excess(log_gamma: float) -> float:
        gamma = math.exp(log_gamma)
        z, _ = _learned(lam, gamma)
        kappa = gamma * (k - z) / k
        if kappa <= 0:  # at or below γ_0 (rounding): the data equation's left side is +∞ there
            return 1e300
        return z + ridge / kappa - n

    lo = math.log(_gamma_at(lam, k)) if k < m else math.log(lam.min()) - 40.0
    while excess(lo) <= 0:  # only when k ≥ m: κ → 0 as γ → 0, so the left side grows without bound
        lo -= 40.0
    hi = math.log(lam.sum() + ridge + 1.0) + math.log(max(1.0, 1.0 / n)) + 5.0
    while excess(hi) > 0:
        hi += 20.0
    log_gamma = brentq(excess, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=1000)
    gamma = math.exp(log_gamma)
    z, _ = _learned(lam, gamma)
    return gamma, gamma * (k - z) / k


def rf_eigenframework(
    eigenvalues: np.ndarray,
    coefficients_sq: np.ndarray,
    n: float,
    k: float,
    ridge: float,
    noise_variance: float = 0.0,
) -> dict[str, float]:
    """The RF-eigenframework estimate of the mean test MSE (no ½) of ``k``-feature ridge regression.

    Args:
        eigenvalues: ``λ_i`` of the limiting kernel's operator, shape ``(m,)``.
        coefficients_sq: ``v_i²``, shape ``(m,)``.
        n: training samples.
        k: random features (``math.inf``: the kernel limit, eigenlearning).
        ridge: ``δ`` added to the unnormalized ``n × n`` feature Gram matrix.
        noise_variance: ``ε²``.

    Returns:
        ``{"gamma", "kappa", "e0", "test_mse"}``; ``test_mse`` is ``+inf`` at the ridgeless
        interpolation peak ``n = k``.

    Raises:
        ValueError: ridgeless with ``min(n, k)`` at least the number of positive eigenvalues.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    v2 = np.asarray(coefficients_sq, dtype=np.float64)
    keep = lam > 0
    signal_outside = float(np.sum(v2[~keep]))  # modes the kernel cannot see are never learned
    lam, v2 = lam[keep], v2[keep]
    if math.isinf(k) and ridge <= 0 and n >= lam.size:
        # δ → 0 with more samples than modes: every L_i → 1, κ → 0 with δ/κ → n − m
        e0 = math.inf if n == lam.size else n / (n - lam.size)
        return {
            "gamma": 0.0,
            "kappa": 0.0,
            "e0": e0,
            "test_mse": e0 * (noise_variance + signal_outside),
        }
    if math.isinf(k):
        result = eigenlearning(lam, v2, n, ridge, noise_variance + signal_outside)
        result_kappa = float(result["kappa"])
        return {
            "gamma": result_kappa,
            "kappa": result_kappa,
            "e0": float(result["e0"]),
            "test_mse": float(result["test_mse"]),
        }
    if ridge <= 0 and n == k:
        return {"gamma": math.nan, "kappa": 0.0, "e0": math.inf, "test_mse": math.inf}
    gamma, kappa = _solve(lam, float(n), float(k), float(ridge))
    learn = lam / (lam + gamma)
    z, q = float(np.sum(learn)), float(np.sum(learn**2))
    e0 = 1.0 / (1.0 - (q * (k - 2.0 * z) + z * z) / (n * (k - q)))
    bias = (1.0 - learn) * (1.0 - learn * (k - z) / (k - q))
    test = e0 * (float(np.sum(bias * v2)) + signal_outside + noise_variance)
    return {"gamma": gamma, "kappa": kappa, "e0": e0, "test_mse": test}


def linear_gaussian_eigensystem(task) -> tuple[np.ndarray, np.ndarray, float]:
    """``(λ_i, v_i², ε²)`` of the linear kernel ``x·x'`` on a ``gaussian_linear`` population.

    For ``x ~ N(0, Λ)`` the operator ``f ↦ E[x·x' f(x')]`` has eigenvalues ``λ_i`` (those of ``Λ``)
    and eigenfunctions ``x_i/√λ_i``; the teacher ``w*·x`` has coefficients ``v_i = √λ_i w*_i``.
    """
    lam = np.asarray(task.eigenvalues, dtype=np.float64)
    v2 = lam * np.asarray(task.teacher, dtype=np.float64) ** 2
    return lam, v2, float(task.noise_variance)


def _features(setting) -> float:
    features = setting["model"]["features"]
    return math.inf if features == "identity" else float(features)


class RFEigenframework:
    """Random-feature eigenframework: mean test MSE of linear random-feature ridge regression."""

    name = "rf-eigenframework"
    version = "1"
    kind = "theory"
    quantities = ("test_mse",)
    fitted_on = ()
    references = (
        "Simon, Karkada, Ghosh & Belkin 2024, arXiv:2311.14646, sec. 4 (RF eigenframework)",
        "Simon, Dickens, Karkada & DeWeese 2023, arXiv:2110.03922, eqs. 4-7 (k = inf)",
    )

    def _point(self, setting) -> float:
        from harness.components import DATA

        task = DATA.get(setting["data"]["kind"])(setting["data"]).draw(None)
        lam, v2, noise = linear_gaussian_eigensystem(task)
        result = rf_eigenframework(
            lam,
            v2,
            setting["train_size"],
            _features(setting),
            setting["optimizer"]["ridge"],
            noise,
        )
        return float(result["test_mse"])

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if problem.get("model.kind") != "random_features":
            return Abstain("describes linear random-feature ridge regression")
        if problem.get("data.kind") != "gaussian_linear":
            return Abstain("needs the eigensystem of a gaussian_linear population")
        if problem.target.statistic != "mean":
            return Abstain(f"estimates the mean test error, not the {problem.target.statistic}")
        derive = problem.target.derive
        try:
            if derive is None:
                return Forecast(mean=self._point(problem.setting))
            if derive.kind != "slope":
                return Abstain("forecasts curves and slopes, not optima")
            return Forecast(mean=float(_fitted_slope(problem, derive, self._point)))
        except ValueError as exc:
            return Abstain(str(exc))


def _fitted_slope(problem: Problem, derive: Derive, point_forecast) -> float:
    """The slope the harness fits, applied to the forecast curve of the group's members."""
    curve = np.array([[point_forecast(member)] for member in problem.members])
    assert problem.x is not None
    return float(slope(np.asarray(problem.x), curve, derive)[0])
