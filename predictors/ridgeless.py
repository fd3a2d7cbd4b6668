"""Exact finite-sample test error of min-norm least squares on isotropic Gaussian data.

Setting: ``x ~ N(0, I_d)``, ``y = β·x + ε`` with ``ε ~ N(0, σ²)``, ``n`` training samples, the
minimum-norm least-squares fit ``β̂ = X⁺ y`` (ridge → 0). The test MSE (no ½, label noise included)
of a linear predictor is ``R = σ² + ‖β̂ − β‖²``, and its expectation over training sets is exact:

    n ≥ d + 2:   E R = σ² + σ² d/(n − d − 1)
    n ≤ d − 2:   E R = σ² + ‖β‖² (1 − n/d) + σ² n/(d − n − 1)

(Belkin, Hsu & Xu 2020, "Two models of double descent for weak features", arXiv:1903.07571,
Thm. 1, all ``p = d`` features; Hastie, Montanari, Rosset & Tibshirani 2022, "Surprises in
high-dimensional ridgeless least squares interpolation", Ann. Statist., arXiv:1903.08560, sec. 2 and
their isotropic Thm. 1 as ``n, d → ∞``.) Derivation: for ``n ≥ d``, ``β̂ − β = (XᵀX)⁻¹Xᵀε`` and
``E (XᵀX)⁻¹ = I/(n − d − 1)`` (inverse-Wishart mean); for ``n ≤ d``, ``β̂ − β = −(I − P)β + Xᵀ(XXᵀ)⁻¹ε``
with ``P`` the projection on the row space, a uniformly random ``n``-dimensional subspace
(``E‖(I − P)β‖² = ‖β‖²(1 − n/d)``), and ``E (XXᵀ)⁻¹ = I/(d − n − 1)``. The mean is infinite for
``|n − d| ≤ 1``; the right tail of ``R`` decays like ``R^{−(|n − d| + 1)/2}`` (from the density of the
smallest eigenvalue of a Wishart matrix near 0), so the variance is infinite for ``|n − d| ≤ 3``.
"""

from __future__ import annotations

import math

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["RidgelessExact", "min_norm_risk"]


def min_norm_risk(n: int, d: int, beta_sq: float, noise_variance: float) -> float:
    """``E R`` of the module docstring; ``+inf`` for ``|n − d| ≤ 1`` (the mean does not exist)."""
    if n >= d + 2:
        return noise_variance + noise_variance * d / (n - d - 1)
    if n <= d - 2:
        return noise_variance + beta_sq * (1.0 - n / d) + noise_variance * n / (d - n - 1)
    return math.inf


class RidgelessExact:
    """Exact expected test error of min-norm least squares on isotropic Gaussian inputs (any n, d)."""

    name = "ridgeless-exact"
    version = "1"
    kind = "theory"
    quantities = ("test_mse",)
    fitted_on = ()
    references = (
        "Belkin, Hsu & Xu 2020, arXiv:1903.07571, Thm. 1",
        "Hastie, Montanari, Rosset & Tibshirani 2022, arXiv:1903.08560, sec. 2",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if problem.get("model.kind") != "random_features" or problem.get("model.features") != (
            "identity"
        ):
            return Abstain("describes least squares on the inputs themselves (features: identity)")
        if problem.get("optimizer.kind") != "ridge_solve" or problem.get("optimizer.ridge") != 0:
            return Abstain("describes the ridgeless (min-norm) fit")
        if problem.get("data.kind") != "gaussian_linear" or problem.target.derive is not None:
            return Abstain("needs isotropic gaussian_linear data and a per-point target")
        if problem.target.statistic != "mean":
            return Abstain(f"gives the mean test error, not the {problem.target.statistic}")
        task = problem.population()
        if not np.allclose(task.eigenvalues, task.eigenvalues[0], rtol=1e-12):
            return Abstain("exact only for an isotropic input covariance")
        # isotropic with variance c: rescaling x by √c leaves β̂·x unchanged, so use β' = √c β
        beta_sq = float(task.eigenvalues[0] * np.sum(task.teacher**2))
        n, d = problem.get("train_size"), task.d_in
        return Forecast(mean=min_norm_risk(n, d, beta_sq, task.noise_variance))
