"""Scaling exponents of random-feature regression on power-law data.

Data with a power-law spectrum and target, ``λ_i ∝ i^{−b}`` and ``v_i² = λ_i w*_i² ∝ i^{−a}``
(``gaussian_linear``: ``b`` = ``spectrum_exponent``, ``a`` = ``target_exponent``), noiseless. Then,
as ``k, n → ∞`` with the other bottleneck removed:

- in the number of features ``k`` (``n ≫ k``): ``L(k) ∝ k^{−min(a − 1, b)}`` — the error of the best
  approximation in the span of ``k`` random features; in the deterministic equivalent it is
  ``Σ_i γ/(λ_i + γ) v_i²`` with ``Σ_i λ_i/(λ_i + γ) = k``, so ``γ ∝ k^{−b}``, and the modes beyond
  ``k`` contribute ``k^{1 − a}`` while the partially learned ones contribute ``γ Σ_{i<k} i^{b − a}``;
- in the number of samples ``n`` (``k ≫ n``, ridgeless): ``L(n) ∝ n^{−min(a − 1, 2b)}`` (Bordelon,
  Canatar & Pehlevan 2020, arXiv:2002.02561, their power-law analysis; Spigler, Geiger & Wyart 2020,
  arXiv:1905.10843; the eigenlearning
  bias ``κ² Σ_i v_i²/(λ_i + κ)²`` with ``κ ∝ n^{−b}``).

For a "generic" target ``v_i² ∝ λ_i`` (``a = b = 1 + α``), both exponents are ``α``: the law of
Maloney, Roberts & Sully 2022 (arXiv:2210.16859, the summary of results in their introduction),
``L ∝ min(k, n)^{−α}``; when
the other variable is the bottleneck throughout the range, the predicted slope is 0. The harness
fits ``ln L`` against ``ln x`` over the declared range; the forecast is the law's slope, i.e. the
*asymptotic* exponent, with no finite-size corrections (that is what the law claims).

For an MLP of width ``k`` the law is applied as if its hidden layer were ``k`` random features (the
lazy / random-feature picture); whether feature learning changes the exponent is the open question
the nonlinear benchmark asks.
"""

from __future__ import annotations

import math

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["ExponentLaw", "data_exponent", "feature_exponent", "width_of"]


def feature_exponent(a: float, b: float) -> float:
    """``min(a − 1, b)``: the decay exponent of ``L(k)`` at ``n = ∞``."""
    return min(a - 1.0, b)


def data_exponent(a: float, b: float) -> float:
    """``min(a − 1, 2b)``: the decay exponent of ridgeless ``L(n)`` at ``k = ∞``."""
    return min(a - 1.0, 2.0 * b)


def width_of(setting) -> float:
    """The number of features ``k`` of a model (``inf`` for ``features: identity``), or of hidden
    units for a one-hidden-layer MLP."""
    model = setting["model"]
    if model["kind"] == "random_features":
        return math.inf if model["features"] == "identity" else float(model["features"])
    if model["kind"] == "mlp" and len(model["widths"]) == 1:
        return float(model["widths"][0])
    raise ValueError(f"no width for model {model['kind']!r}")


class ExponentLaw:
    """Asymptotic exponent law: L ∝ min(k, n)^-α (Maloney, Roberts & Sully 2022; Bordelon et al. 2020)."""

    name = "exponent-law"
    version = "1"
    kind = "theory"
    quantities = ("test_mse",)
    fitted_on = ()
    references = (
        "Maloney, Roberts & Sully 2022, A solvable model of neural scaling laws, arXiv:2210.16859",
        "Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561 (power-law spectra)",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        derive = problem.target.derive
        if derive is None or derive.kind != "slope" or not (derive.log_x and derive.log_y):
            return Abstain("forecasts log-log slopes only")
        if problem.get("data.kind") != "gaussian_linear":
            return Abstain("needs a power-law gaussian_linear population")
        if problem.get("data.noise_std") > 0:
            return Abstain("the law is for L − L∞; with label noise ln L flattens to ln σ²")
        a, b = problem.get("data.target_exponent"), problem.get("data.spectrum_exponent")
        if b <= 0 or a <= 1:
            return Abstain("needs a decaying spectrum (b > 0) and a summable target (a > 1)")
        assert problem.x is not None
        x = np.asarray(problem.x)
        x = x[derive.mask(x)]
        try:
            widths = [width_of(m) for m in problem.members]
        except ValueError as exc:
            return Abstain(str(exc))
        samples = [m["train_size"] for m in problem.members]
        if any(s == "online" for s in samples):
            samples = [math.inf] * len(samples)
        if derive.x == "train_size":
            k = widths[0]
            if x.max() <= k:
                return Forecast(mean=-data_exponent(a, b), notes="data-limited: n ≤ k")
            if x.min() >= k:
                return Forecast(mean=0.0, notes="feature-limited: k ≤ n, L flat in n")
            return Abstain(f"the range straddles k = {k:g}: no single exponent")
        n = samples[0]
        if x.max() <= n:
            return Forecast(mean=-feature_exponent(a, b), notes="feature-limited: k ≤ n")
        if x.min() >= n:
            return Forecast(mean=0.0, notes="data-limited: n ≤ k, L flat in k")
        return Abstain(f"the range straddles n = {n:g}: no single exponent")
