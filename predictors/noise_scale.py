"""The linear scaling rule capped at the critical batch size: McCandlish's noise scale of an MLP.

Target: an anchored argmin over ``optimizer.lr`` — the shift ``log2 η*(B) − log2 η*(B0)`` of the
loss-minimizing learning rate of SGD at batch ``B`` from the anchor's (see
:mod:`predictors.scaling_rules`).

McCandlish, Kaplan, Amodei et al. 2018 (arXiv:1812.06162, sec. 2.2, eqs. 2.6–2.8): one step along
the mean of ``B`` per-example gradients (mean ``G``, covariance ``Σ``) changes the loss by
``−ε|G|² + ½ε²(GᵀHG + tr(HΣ)/B)``, optimal at ``ε_opt(B) = ε_max/(1 + B_noise/B)`` with
``B_noise = tr(HΣ)/(GᵀHG)``; for a Hessian proportional to the identity this is the *simple noise
scale* ``B_simple = tr(Σ)/|G|²`` (their eq. 2.8), the estimate they use in practice. The forecast
shift is

    log2 ε_opt(B)/ε_opt(B0) = log2[(1 + B_simple/B0) / (1 + B_simple/B)],

``≈ log2(B/B0)`` (the linear rule) for ``B ≪ B_simple`` and saturating beyond.

``B_simple`` is computed for the benchmark's MLP at **initialization** by Monte Carlo: per-example
gradients of ``½‖f(x) − y‖²`` by backpropagation in float64 over 4,096 fresh samples of the
population, for each of 64 initial networks drawn as the engine draws them (weights
``N(0, g²/fan_in)``, biases 0). For a layer with gradient ``δ ⊗ a`` (plus bias ``δ``),
``|g|² = Σ_layers |δ|²(|a|² + 1)``, so ``tr Σ = E|g|² − |G|²`` needs no per-example matrices;
``|G|²`` is debiased by ``tr Σ/n``. ``B_simple`` varies thirty-fold between initial networks
(heavy-tailed: a few have large output scales and large gradients), so the forecast uses the
*typical* network's, the geometric mean over the draws — the benchmark's statistic is a geometric
mean over seeds too, and each seed trains its own initial network.
The noise scale grows as training lowers the gradient (McCandlish et al., sec. 3), so the value at
initialization is a lower bound on the batch size up to which the linear rule holds late in
training.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

from .batch_size import batch_shift_target

__all__ = [
    "NoiseScaleRule",
    "gradient_moments",
    "init_mlp",
    "mcc_shift",
    "simple_noise_scale",
    "typical_noise_scale",
]

_ACT = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(np.float64)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "identity": (lambda z: z, np.ones_like),
}


def mcc_shift(b_simple: float, batch: float, anchor_batch: float) -> float:
    """McCandlish's ``log2[(1 + B_noise/B0)/(1 + B_noise/B)]``."""
    return math.log2((1.0 + b_simple / anchor_batch) / (1.0 + b_simple / batch))


def init_mlp(
    sizes: Sequence[int], gain: float, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Layers ``(W, b)`` of an MLP with ``sizes = [d_in, h_1, …, d_out]``: ``W ~ N(0, g²/fan_in)``, ``b = 0``."""
    return [
        (rng.standard_normal((n_out, n_in)) * gain / math.sqrt(n_in), np.zeros(n_out))
        for n_in, n_out in itertools.pairwise(sizes)
    ]


def gradient_moments(
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "relu",
) -> tuple[list[tuple[np.ndarray, np.ndarray]], float]:
    """The per-layer sums ``Σ_i g_i`` (as ``(dW, db)``) and ``Σ_i |g_i|²`` of the per-example
    gradients of ``½‖f(x_i) − y_i‖²`` for ``f = W_L φ(… φ(W_1 x + b_1) …) + b_L``."""
    act, dact = _ACT[activation]
    inputs, pre = [], []
    h = x
    for w, b in layers[:-1]:
        inputs.append(h)
        z = h @ w.T + b
        pre.append(z)
        h = act(z)
    inputs.append(h)
    w_out, b_out = layers[-1]
    delta = h @ w_out.T + b_out - y  # (n, d_out): ∂/∂f of ½‖f − y‖²
    sums, square = [], 0.0
    for i in range(len(layers) - 1, -1, -1):
        a = inputs[i]
        sums.append((delta.T @ a, delta.sum(0)))
        square += float(np.sum(np.sum(delta**2, 1) * (np.sum(a**2, 1) + 1.0)))
        if i > 0:
            delta = (delta @ layers[i][0]) * dact(pre[i - 1])
    return sums[::-1], square


def simple_noise_scale(
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    x: np.ndarray,
    y: np.ndarray,
    activation: str = "relu",
) -> float:
    """``B_simple = tr Σ / |G|²`` of one network over the examples ``(x, y)``, with the sample
    covariance (``n − 1``) and ``|G|²`` debiased by ``tr Σ / n``."""
    n = len(x)
    sums, square = gradient_moments(layers, x, y, activation)
    mean_sq = sum(float(np.sum(dw**2) + np.sum(db**2)) for dw, db in sums) / n**2
    tr_sigma = (square / n - mean_sq) * n / (n - 1)
    return tr_sigma / (mean_sq - tr_sigma / n)


def typical_noise_scale(
    sizes: Sequence[int],
    gain: float,
    activation: str,
    sample: Any,
    rng: np.random.Generator,
    draws: int = 64,
    samples: int = 4096,
) -> float:
    """The geometric mean over ``draws`` initial networks of their ``B_simple`` (``samples`` fresh
    examples each; ``sample(n, rng)`` returns inputs and noisy labels)."""
    logs = []
    for _ in range(draws):
        layers = init_mlp(sizes, gain, rng)
        x, y = sample(samples, rng)
        logs.append(math.log(simple_noise_scale(layers, x, y, activation)))
    return math.exp(float(np.mean(logs)))


def _mlp_sizes(setting: Mapping[str, Any], d_in: int, d_out: int) -> list[int]:
    model = setting["model"]
    widths = model.get("widths") or [model["width"]] * int(model["hidden_layers"])
    return [d_in, *map(int, widths), d_out]


class NoiseScaleRule:
    """SGD's optimum moves as 1/(1 + B_simple/B) (McCandlish et al.), B_simple of the MLP at init."""

    name = "noise-scale-rule"
    version = "1"
    kind = "theory"
    quantities = ("excess_test_loss", "test_loss")
    fitted_on = ()
    references = (
        "McCandlish, Kaplan, Amodei et al. 2018, An empirical model of large-batch training, "
        "arXiv:1812.06162, sec. 2.2, eqs. 2.6-2.8",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = batch_shift_target(problem)
        if abstain is not None:
            return abstain
        here, anchor = problem.setting, problem.anchor_members[0]
        opt = here["optimizer"]
        if opt["kind"] != "sgd" or anchor["optimizer"]["kind"] != "sgd":
            return Abstain("McCandlish's step-size model is for SGD")
        if opt.get("momentum") or opt.get("weight_decay") or here.get("train_size") != "online":
            return Abstain("plain online SGD")
        model = here["model"]
        if (
            model["kind"] != "mlp"
            or model.get("parameterization") != "sp"
            or model.get("norm") != "none"
            or model.get("center")
            or not model.get("bias", True)
            or model["init"]["kind"] != "fan_in"
        ):
            return Abstain("B_simple is computed for a standard-parameterization MLP with biases")
        b, b0 = int(opt["batch_size"]), int(anchor["optimizer"]["batch_size"])
        if b == b0:
            return Abstain("the anchor has the same batch size: not a batch-size sweep")
        task = problem.population()
        sizes = _mlp_sizes(here, task.d_in, task.d_out)
        b_simple = typical_noise_scale(
            sizes, float(model["init"]["gain"]), model["activation"], task.sample, problem.rng()
        )
        return Forecast(mean=mcc_shift(b_simple, b, b0), notes=f"B_simple at init = {b_simple:.1f}")
