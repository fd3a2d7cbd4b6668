"""Saxe's mode dynamics carried to two-layer nonlinear networks from small initialization.

Setting: ``f(x) = W_2 φ(W_1 x)`` (no biases), whitened inputs, linear teacher ``T = Σ_α s_α u_α v_αᵀ``,
loss ``½·mean‖Tx − f(x)‖²``, GD with rate ``η`` from i.i.d. ``N(0, σ²)`` weights, hidden width
``N``. The mode strengths are read on the best linear fit ``J`` of ``f`` on the training inputs
(``u_α = u_αᵀ J v_α``).

*Identity and tanh* (``φ'(0) = 1``, ``φ(z) = z + O(z³)``): near small weights the network is the
linear network ``W_2 W_1``; from a random init its modes follow Saxe et al.'s depth-2 solution
(arXiv:1312.6120, sec. 1.1) with the effective initial strength ``u0 = N σ²/2`` (catalogue S1: the
linearized escape ``u ≈ ‖a_0 + b_0‖²/4 · e^{2sτ}``, ``E‖a_0 + b_0‖² = 2Nσ²``).

*ReLU: the half-speed rule* (derived for this project, catalogue U1; checked in the benchmark card).
Write ``ReLU(z) = z/2 + |z|/2``. For Gaussian-like inputs the odd part of ``f`` is linear,
``J = E[f(x) xᵀ] = ½ W_2 W_1`` (Stein: ``E[x ReLU(w·x)] = w/2``), and the even part
``½ W_2 |W_1 x|`` is orthogonal to the odd teacher, so

    L = ½‖T − ½W_2W_1‖_F² + ½ E‖½ W_2 |W_1 x|‖².

Dropping the even-part penalty, the rescaled weights ``W_i' = W_i/√2`` obey
``dW_2'/dτ = ½ (T − W_2'W_1') W_1'ᵀ``, ``dW_1'/dτ = ½ W_2'ᵀ (T − W_2'W_1')``: a linear network at
**half speed** with init scale ``σ/√2``. Hence ``u_α(τ)`` is Saxe's solution in ``τ/2`` with
``u0' = N σ²/4``, and the half time is ``t = ln[f(s − u0')/((1 − f) u0')] / (η s)``
(for ``f = ½``: ``ln((s − u0')/u0')/(η s)``). The same follows from the exact gradients at small
weights, ``E[x ReLU(w·x)] = w/2`` and ``E[1{w·x > 0} x xᵀ] = I/2``.

Both are iterated in gradient-descent time with the aligned-mode map of :mod:`predictors.saxe`
(``a ← a + η' a (s − a²)``, ``u = a²``, ``η' = η`` or ``η/2``).
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

from .saxe import half_time_discrete, half_time_flow

__all__ = ["LinearNetworkTimes", "SaxeModeOrder", "SaxeStepwise", "stepwise_half_times"]

SPEED = {"identity": 1.0, "tanh": 1.0, "relu": 0.5}
"""Learning speed of the linear part relative to a linear network (``φ'(0)`` for odd ``φ``; ½ for ReLU)."""


def stepwise_half_times(
    singular_values: list[float],
    width: int,
    std: float,
    lr: float,
    speed: float,
    fraction: float,
    horizon: int,
) -> np.ndarray:
    """Half-learning steps of each mode for a network whose linear part learns at ``speed``.

    A linear network at rate ``speed·η`` from init scale ``σ√speed``: ``u0 = N σ² speed / 2``.
    """
    u0 = width * std**2 * speed / 2.0
    return np.array(
        [
            half_time_discrete(s, u0, 2, speed * lr, fraction, horizon)
            for s in singular_values
            if s > 0
        ]
    )


def _applicable(problem: Problem) -> Abstain | None:
    if problem.get("data.kind") != "whitened_linear_teacher":
        return Abstain("needs whitened inputs and a linear teacher")
    if problem.get("model.kind") != "mlp" or len(problem.get("model.widths")) != 1:
        return Abstain("a two-layer network (one hidden layer)")
    if problem.get("model.bias") or problem.get("model.norm") != "none":
        return Abstain("no biases, no normalization")
    if problem.get("model.init.kind") != "gaussian":
        return Abstain("small i.i.d. Gaussian init")
    if problem.get("optimizer.kind") != "gd" or problem.get("optimizer.momentum") > 0:
        return Abstain("plain full-batch gradient descent")
    if problem.get("data.noise_std") > 0:
        return Abstain("noiseless labels")
    return None


class _Stepwise:
    kind = "theory"
    quantities = ("mode_half_times_linear_fit",)
    fitted_on = ()

    def speed(self, activation: str) -> float | None:
        raise NotImplementedError

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        activation = problem.get("model.activation")
        speed = self.speed(activation)
        if speed is None:
            return Abstain(f"no rule for activation {activation!r}")
        times = stepwise_half_times(
            problem.get("data.singular_values"),
            problem.get("model.widths")[0],
            problem.get("model.init.std"),
            problem.get("optimizer.lr"),
            speed,
            problem.target.params["fraction"],
            problem.horizon,
        )
        return Forecast(mean=times, notes=f"speed {speed:g}")


class SaxeStepwise(_Stepwise):
    """Saxe's deep-linear solution for identity/tanh, at half speed (u0 = Nσ²/4) for ReLU."""

    name = "saxe-stepwise"
    version = "1"
    references = (
        "Saxe, McClelland & Ganguli 2014, arXiv:1312.6120, sec. 1.1 (mode dynamics)",
        "half-speed ReLU rule: derived in predictors/stepwise.py and the benchmark card",
    )

    def speed(self, activation: str) -> float | None:
        return SPEED.get(activation)


class LinearNetworkTimes(_Stepwise):
    """The nonlinearity does not matter: every network learns at the linear network's times."""

    name = "linear-network-times"
    version = "1"
    kind = "baseline"
    references = ("catalogue U1 baseline (linear-net times unchanged by the nonlinearity)",)

    def speed(self, activation: str) -> float | None:
        return 1.0


class SaxeModeOrder:
    """Greedy order: stronger modes first, as in Saxe's mode equation at any depth (order only).

    For depth ``L`` the mode equation ``du/dτ = L u^{2−2/L}(s − u)`` from a common small ``u0`` reaches
    ``s/2`` sooner the larger ``s`` is, whatever ``u0`` and ``L`` (Saxe et al. 2014, sec. 3). The
    forecast is these flow times for the network's depth from ``u0 = 10⁻³``; only their *order* is
    meant, for benchmarks scored by ``discordance``. It therefore covers only nonlinear networks
    deeper than two layers, where no theory forecasts the times themselves (two-layer networks are
    ``saxe-stepwise``'s).
    """

    name = "saxe-mode-order"
    version = "1"
    kind = "theory"
    quantities = ("mode_half_times_linear_fit",)
    fitted_on = ()
    references = ("Saxe, McClelland & Ganguli 2014, arXiv:1312.6120, sec. 3 (deep mode dynamics)",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if problem.get("data.kind") != "whitened_linear_teacher":
            return Abstain("needs a linear teacher's modes")
        if problem.get("model.kind") != "mlp" or len(problem.get("model.widths")) < 2:
            return Abstain("an order forecast for MLPs deeper than two layers (no closed form)")
        depth = len(problem.get("model.widths")) + 1
        fraction = problem.target.params["fraction"]
        times = [
            half_time_flow(s, 1e-3, depth, fraction)
            for s in problem.get("data.singular_values")
            if s > 0
        ]
        return Forecast(mean=np.asarray(times), notes="order only")
