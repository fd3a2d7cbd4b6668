"""Trivial baselines of the random-feature benchmarks (double descent, scaling laws).

- ``no-peak``: the classical picture of linear regression with ``m = min(n, k)`` effective
  parameters — the top ``m`` modes are learned perfectly and the rest not at all, with no variance
  and so no interpolation peak: ``test MSE = σ² + Σ_{i > m} v_i²``. For isotropic data (all ``λ_i``
  equal, so the learned ``m``-dimensional subspace is a random one) it is
  ``σ² + ‖β‖² max(0, 1 − n/d)``.
- ``exponent-half``: every scaling exponent is ``1/2`` (the Monte Carlo rate), slope ``−1/2``.
"""

from __future__ import annotations

import math

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

from .random_features import _fitted_slope, linear_gaussian_eigensystem
from .scaling_laws import width_of

__all__ = ["ExponentHalf", "NoPeak", "unlearned_signal"]


def unlearned_signal(eigenvalues: np.ndarray, coefficients_sq: np.ndarray, m: float) -> float:
    """``Σ_{i > m} v_i²`` with modes ranked by decreasing ``λ_i``; tied eigenvalues share the cut
    evenly (the learned subspace is a random one among them)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    v2 = np.asarray(coefficients_sq, dtype=np.float64)
    values, inverse = np.unique(-lam, return_inverse=True)  # groups in decreasing λ
    sizes = np.bincount(inverse, minlength=values.size).astype(np.float64)
    signal = np.bincount(inverse, weights=v2, minlength=values.size)
    start = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
    learned = np.clip((m - start) / sizes, 0.0, 1.0)
    return float(np.sum((1.0 - learned) * signal))


class NoPeak:
    """The top min(n, k) modes learned exactly, no variance: σ² + Σ_{i>min(n,k)} v_i² (no peak)."""

    name = "no-peak"
    version = "1"
    kind = "baseline"
    quantities = ("test_mse",)
    fitted_on = ()
    references = ("catalogue S3 baseline: sigma^2 + |beta|^2 max(0, 1 - n/d)",)

    def _point(self, setting) -> float:
        from harness.components import DATA

        task = DATA.get(setting["data"]["kind"])(setting["data"]).draw(None)
        lam, v2, noise = linear_gaussian_eigensystem(task)
        m = min(float(setting["train_size"]), width_of(setting))
        return noise + unlearned_signal(lam, v2, m)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if problem.get("model.kind") != "random_features":
            return Abstain("defined for linear random-feature regression")
        if problem.get("data.kind") != "gaussian_linear":
            return Abstain("needs a gaussian_linear population")
        derive = problem.target.derive
        if derive is None:
            return Forecast(mean=self._point(problem.setting))
        if derive.kind != "slope":
            return Abstain("no optimum to forecast")
        value = _fitted_slope(problem, derive, self._point)
        return Forecast(mean=value) if math.isfinite(value) else Abstain("no finite slope")


class ExponentHalf:
    """Every scaling exponent is 1/2 (the Monte Carlo rate): slope −1/2."""

    name = "exponent-half"
    version = "1"
    kind = "baseline"
    quantities = ("test_mse",)
    fitted_on = ()
    references = ("catalogue E3 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        derive = problem.target.derive
        if derive is None or derive.kind != "slope" or not (derive.log_x and derive.log_y):
            return Abstain("forecasts log-log slopes only")
        return Forecast(mean=np.full(problem.shape, -0.5))
