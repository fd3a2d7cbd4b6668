"""Rotational equilibrium of scale-invariant weights under weight decay.

A weight matrix ``W`` followed by a normalization (here LayerNorm without affine, no bias) is
*scale-invariant*: the loss does not change under ``W → cW``, so the gradient is orthogonal to
``W`` and scales as ``1/‖W‖``. Weight decay shrinks ``‖W‖``; the gradient noise grows it. In the
noise-dominated regime the two balance, and the expected angular update per step,
``r = ‖W_{t+1} − W_t‖ / ‖W_t‖``, reaches a value fixed by the hyperparameters alone
(van Laarhoven 2017, arXiv:1706.05350; Wan et al. 2021, arXiv:2006.08419, "spherical motion
dynamics"; Kosson, Messmer & Jaggi 2024, arXiv:2305.17212, sec. 3 and Table 1):

- **SGD** with coupled weight decay ``λ`` (``W ← (1 − ηλ)W − ηg``, ``g ⟂ W``):
  ``‖W_{t+1}‖² = (1 − ηλ)²‖W_t‖² + η²‖g_t‖²``; stationarity gives ``η²‖g‖²/‖W‖² = 2ηλ − η²λ²``, and
  with the radial part ``ηλ‖W‖``, ``E‖ΔW‖²/‖W‖² = 2ηλ`` **exactly**: ``r = √(2ηλ)``.
- **SGD with heavy-ball momentum** ``μ`` (decay inside the gradient): over many steps the update
  sums to ``η g/(1 − μ)`` and the decay to ``ηλ/(1 − μ)``, so the norm balance is that of SGD with
  ``η/(1 − μ)``; a single step of pure-noise momentum has ``E‖b‖² = E‖g‖²/(1 − μ²)``, so
  ``r² = 2ηλ/(1 + μ)`` (to leading order in ``ηλ``): ``r = √(2ηλ/(1 + μ))``.
- **AdamW** (decoupled, ``W ← (1 − ηλ)W − η u``, ``u = m̂/(√v̂ + ε)``): for pure-noise gradients the
  per-coordinate update has ``E u² = (1 − β₁)/(1 + β₁)`` per step but sums over many steps like
  ``Σ g/√v`` (unit variance per step), so ``‖W‖² = ηC/(2λ)`` (``C`` entries) and
  ``r = √(2ηλ (1 − β₁)/(1 + β₁))`` (Kosson et al. 2024, Table 1).

These hold after the norm has relaxed, which from ``‖W_0‖`` takes about
``ln(‖W_0‖²/‖W_eq‖²)/(2ηλ)`` steps, and only while the gradient noise persists (online data with
label noise, or label noise a network cannot fit). The baseline is the angular update of the very
first step at initialization (no equilibrium).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = [
    "InitialAngularUpdate",
    "RandomWalkEquilibrium",
    "equilibrium_angular_update",
    "equilibrium_norm",
    "mlp_gradients",
]


def equilibrium_angular_update(optimizer: Mapping[str, Any]) -> float | None:
    """``r`` at equilibrium for ``gd``/``sgd`` (coupled decay, any momentum) and AdamW; else ``None``."""
    eta, decay = optimizer["lr"], optimizer.get("weight_decay", 0.0)
    if decay <= 0:
        return None
    if optimizer["kind"] in ("gd", "sgd"):
        return math.sqrt(2.0 * eta * decay / (1.0 + optimizer.get("momentum", 0.0)))
    if optimizer["kind"] == "adam" and optimizer["decoupled"]:
        b1 = optimizer["beta1"]
        return math.sqrt(2.0 * eta * decay * (1.0 - b1) / (1.0 + b1))
    return None


def equilibrium_norm(optimizer: Mapping[str, Any], entries: int) -> float | None:
    """AdamW's equilibrium ``‖W‖_F = √(ηC/(2λ))`` (Kosson et al. 2024); ``None`` for SGD, whose
    norm depends on the gradient's size at unit norm."""
    if optimizer["kind"] == "adam" and optimizer["decoupled"]:
        return math.sqrt(optimizer["lr"] * entries / (2.0 * optimizer["weight_decay"]))
    return None


def _scale_invariant(problem: Problem) -> list[int] | Abstain:
    """The listed layers, if each is a bias-free linear layer followed by a LayerNorm."""
    if problem.get("model.kind") != "mlp":
        return Abstain("an MLP")
    if problem.get("model.norm") != "layernorm" or problem.get("model.bias"):
        return Abstain("scale-invariant layers need LayerNorm after bias-free linear layers")
    layers = list(problem.target.params["layers"])
    hidden = len(problem.get("model.widths"))
    if any(layer >= hidden for layer in layers):
        return Abstain("the output layer is not scale-invariant")
    return layers


class RandomWalkEquilibrium:
    """Rotational equilibrium: r = √(2ηλ) (SGD), √(2ηλ/(1+μ)) (momentum), √(2ηλ(1−β₁)/(1+β₁)) (AdamW)."""

    name = "random-walk-equilibrium"
    version = "1"
    kind = "theory"
    quantities = ("angular_update", "weight_norm")
    fitted_on = ()
    references = (
        "van Laarhoven 2017, arXiv:1706.05350",
        "Wan, Zhu, Zhang & Sun 2021, arXiv:2006.08419, sec. 4",
        "Kosson, Messmer & Jaggi 2024, arXiv:2305.17212, sec. 3 and Table 1",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        layers = _scale_invariant(problem)
        if isinstance(layers, Abstain):
            return layers
        optimizer = problem.get("optimizer")
        if problem.target.quantity == "angular_update":
            r = equilibrium_angular_update(optimizer)
            if r is None:
                return Abstain("needs weight decay (coupled for SGD, decoupled for Adam)")
            return Forecast(mean=np.full(len(layers), r))
        task = problem.population()
        dims = [task.d_in, *problem.get("model.widths")]
        norms = [equilibrium_norm(optimizer, dims[i] * dims[i + 1]) for i in layers]
        if any(n is None for n in norms):
            return Abstain("the SGD equilibrium norm depends on the gradient size (not data-free)")
        return Forecast(mean=np.asarray(norms, dtype=np.float64))


# --------------------------------------------------------------------------------------------
# baseline: the first step from initialization


def _layernorm(z: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    mean = z.mean(axis=-1, keepdims=True)
    std = np.sqrt(z.var(axis=-1, keepdims=True) + eps)
    return (z - mean) / std, std


def mlp_gradients(
    weights: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray, activation: str = "relu"
) -> list[np.ndarray]:
    """Gradients of ``½·mean‖f(x) − y‖²`` for the bias-free MLP ``x → φ(LN(W_1 x)) → … → W_L h``
    (LayerNorm without affine, ``eps = 1e-5``), by hand-written backpropagation in float64."""
    act = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "identity": lambda z: z}[
        activation
    ]
    grad_act = {
        "relu": lambda z: (z > 0).astype(np.float64),
        "tanh": lambda z: 1.0 - np.tanh(z) ** 2,
        "identity": np.ones_like,
    }[activation]
    inputs, normed, stds = [], [], []
    h = x
    for w in weights[:-1]:
        inputs.append(h)
        n, std = _layernorm(h @ w.T)
        normed.append(n)
        stds.append(std)
        h = act(n)
    inputs.append(h)
    delta = (h @ weights[-1].T - y) / len(x)
    grads = [delta.T @ inputs[-1]]
    back = delta @ weights[-1]
    for i in range(len(weights) - 2, -1, -1):
        dn = back * grad_act(normed[i])
        n = normed[i]
        dz = (dn - dn.mean(-1, keepdims=True) - n * (dn * n).mean(-1, keepdims=True)) / stds[i]
        grads.append(dz.T @ inputs[i])
        back = dz @ weights[i]
    return grads[::-1]


class InitialAngularUpdate:
    """No equilibrium: the angular update of the first step from initialization (Monte Carlo)."""

    name = "initial-angular-update"
    version = "1"
    kind = "baseline"
    quantities = ("angular_update",)
    fitted_on = ()
    references = ("catalogue H3 baseline",)
    draws = 8

    def predict(self, problem: Problem) -> Forecast | Abstain:
        layers = _scale_invariant(problem)
        if isinstance(layers, Abstain):
            return layers
        init = problem.get("model.init")
        if init["kind"] != "fan_in" or problem.get("model.parameterization") != "sp":
            return Abstain("standard fan-in initialization")
        optimizer = problem.get("optimizer")
        batch = optimizer.get("batch_size")
        task = problem.population()
        rng = problem.rng("initial-angular-update")
        dims = [task.d_in, *problem.get("model.widths"), task.d_out]
        ratios = np.zeros((self.draws, len(layers)))
        for k in range(self.draws):
            weights = [
                init["gain"] / math.sqrt(dims[i]) * rng.standard_normal((dims[i + 1], dims[i]))
                for i in range(len(dims) - 1)
            ]
            x, y = task.sample(batch if isinstance(batch, int) else 256, rng)
            grads = mlp_gradients(weights, x, y, problem.get("model.activation"))
            for j, i in enumerate(layers):
                w, g = weights[i], grads[i]
                if optimizer["kind"] == "adam":  # first Adam step: m̂/√v̂ = sign(g)
                    step = optimizer["lr"] * np.sign(g)
                    if optimizer["decoupled"]:
                        step = step + optimizer["lr"] * optimizer["weight_decay"] * w
                else:
                    step = optimizer["lr"] * (g + optimizer.get("weight_decay", 0.0) * w)
                ratios[k, j] = np.linalg.norm(step) / np.linalg.norm(w)
        return Forecast(mean=np.sqrt(np.mean(ratios**2, axis=0)))
