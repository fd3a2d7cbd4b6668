"""Mode-by-mode learning in deep linear networks (Saxe, McClelland & Ganguli 2014, arXiv:1312.6120).

Network ``f(x) = W_L ⋯ W_1 x``, loss ``½·mean‖y − f(x)‖²``, inputs whitened (``XᵀX/n = I``), teacher
``T = Σ_α s_α u_α v_αᵀ``. From the balanced init aligned with the teacher (every mode at strength
``u0``), gradient flow in time ``τ = η t`` decouples into one scalar ODE per mode (Saxe et al. 2014,
sec. 1.1, ``τ du/dt = 2u(s − u)`` for L = 2; sec. 3 for deeper networks):

    du_α/dτ = L u_α^{2 − 2/L} (s_α − u_α).

For ``L = 2`` it integrates in closed form (Saxe et al. 2014, sec. 1.1):

    u_α(τ) = s_α e^{2 s_α τ} / (e^{2 s_α τ} − 1 + s_α/u0),

so the mode reaches a fraction ``f`` of ``s_α`` at ``τ = ln[f (s_α − u0) / ((1 − f) u0)] / (2 s_α)``
(``f = ½``: ``ln((s − u0)/u0) / (2s)``, their learning-time formula with ``u_f = s/2``). For
``L ≥ 3`` the time is the quadrature
``τ = ∫_{u0}^{f s} du / (L u^{2−2/L} (s − u))``.

*Discrete time.* Gradient descent keeps the aligned, balanced structure exactly; each layer's
scalar ``a = u^{1/L}`` then obeys ``a ← a + η a^{L−1}(s − a^L)``. Iterating this map gives the exact
mode strengths of GD from the aligned init (the flow solution is its ``η → 0`` limit, off by
``O(η s)``).

*Small random init* (derived in the project's theory catalogue, entry S1, and in the benchmark
card): with i.i.d. ``N(0, σ²)`` entries and hidden width ``N``, linearizing around zero gives
``a = W_2ᵀ u_α``, ``b = W_1 v_α`` with ``ȧ = s b``, ``ḃ = s a``, so ``u_α = a·b`` grows like
``‖a_0 + b_0‖²/4 · e^{2 s τ}`` with ``E‖a_0 + b_0‖² = 2 N σ²``. Saxe's solution with
``u0_eff = N σ²/2`` then applies (depth 2 only; deeper random inits have no such linear phase).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad

from harness.predictor import Abstain, Forecast, Problem

__all__ = [
    "SaxeDiscrete",
    "SaxeGradientFlow",
    "effective_initial_strength",
    "half_time_discrete",
    "half_time_flow",
    "mode_strength_flow",
]


def mode_strength_flow(s: float, u0: float, tau: np.ndarray) -> np.ndarray:
    """Closed-form ``u(τ)`` for depth 2 (Saxe et al. 2014, sec. 1.1)."""
    grow = np.exp(2.0 * s * np.asarray(tau, dtype=np.float64))
    return s * grow / (grow - 1.0 + s / u0)


def half_time_flow(s: float, u0: float, depth: int, fraction: float = 0.5) -> float:
    """Gradient-flow time ``τ`` at which ``u`` first reaches ``fraction · s`` from ``u(0) = u0``."""
    level = fraction * s
    if u0 >= level:
        return 0.0
    if depth == 2:
        return math.log(fraction * (s - u0) / ((1.0 - fraction) * u0)) / (2.0 * s)
    # substitute u = e^x: dτ = dx / (L e^{x(1 − 2/L)} (s − e^x)), smooth in x
    exponent = 1.0 - 2.0 / depth

    def integrand(x: float) -> float:
        return 1.0 / (depth * math.exp(x * exponent) * (s - math.exp(x)))

    value, _ = quad(integrand, math.log(u0), math.log(level), epsabs=0.0, epsrel=1e-12, limit=200)
    return value


def half_time_discrete(
    s: float, u0: float, depth: int, lr: float, fraction: float = 0.5, horizon: int = 10**7
) -> float:
    """Step at which ``u = a^L`` of the map ``a ← a + η a^{L−1}(s − a^L)`` first reaches ``fraction·s``.

    Interpolated linearly between the bracketing steps (as the ``mode_half_times`` observable does);
    ``inf`` if not reached within ``horizon`` steps.
    """
    level = fraction * s
    a = u0 ** (1.0 / depth)
    previous = a**depth
    if previous >= level:
        return 0.0
    for step in range(1, horizon + 1):
        a = a + lr * a ** (depth - 1) * (s - a**depth)
        u = a**depth
        if u >= level:
            return (step - 1) + (level - previous) / (u - previous)
        if not math.isfinite(u):
            return math.inf
        previous = u
    return math.inf


def effective_initial_strength(init: dict, depth: int, width: int) -> float | None:
    """``u0`` of an aligned init, ``N σ²/2`` for a depth-2 Gaussian init, else ``None``."""
    if init["kind"] == "aligned":
        return float(init["mode_strength"])
    if init["kind"] == "gaussian" and depth == 2:
        return width * init["std"] ** 2 / 2.0
    return None


def _applicable(problem: Problem) -> Abstain | None:
    if (
        problem.get("data.kind") != "whitened_linear_teacher"
        or problem.get("model.kind") != "deep_linear"
    ):
        return Abstain(
            "Saxe's solution is for deep linear networks on whitened inputs with a linear teacher"
        )
    if problem.get("optimizer.kind") != "gd":
        return Abstain("Saxe's solution is for full-batch gradient descent")
    if problem.get("data.noise_std") > 0:
        return Abstain("Saxe's solution assumes noiseless labels")
    return None


class _Saxe:
    kind = "theory"
    quantities = ("mode_half_times",)
    fitted_on = ()
    references = (
        "Saxe, McClelland & Ganguli 2014, arXiv:1312.6120, sec. 1.1 (mode ODE and its solution) and sec. 3",
    )

    def _half_time(
        self, s: float, u0: float, depth: int, lr: float, fraction: float, horizon: int
    ) -> float:
        raise NotImplementedError

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        depth, width = problem.get("model.depth"), problem.get("model.width")
        u0 = effective_initial_strength(problem.get("model.init"), depth, width)
        if u0 is None:
            return Abstain(
                f"no closed form for a random init at depth {depth} (no linear escape phase)"
            )
        lr = problem.get("optimizer.lr")
        fraction = problem.target.params["fraction"]
        times = [
            self._half_time(s, u0, depth, lr, fraction, problem.horizon)
            for s in problem.get("data.singular_values")
            if s > 0
        ]
        return Forecast(mean=np.asarray(times), notes=f"u0={u0:.4g}")


class SaxeGradientFlow(_Saxe):
    """Saxe et al.'s gradient-flow solution, in steps ``t = τ/η``."""

    name = "saxe-gradient-flow"
    version = "1"

    def _half_time(
        self, s: float, u0: float, depth: int, lr: float, fraction: float, horizon: int
    ) -> float:
        return half_time_flow(s, u0, depth, fraction) / lr


class SaxeDiscrete(_Saxe):
    """Saxe et al.'s decoupled modes, iterated in discrete gradient-descent time."""

    name = "saxe-discrete"
    version = "1"

    def _half_time(
        self, s: float, u0: float, depth: int, lr: float, fraction: float, horizon: int
    ) -> float:
        return half_time_discrete(s, u0, depth, lr, fraction, horizon)
