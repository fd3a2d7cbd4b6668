"""Conservation laws of gradient descent from the rescaling symmetry of homogeneous layers.

For a hidden unit ``j`` of a network with a positively homogeneous activation (ReLU, linear),
multiplying its incoming weights (and bias) by ``c > 0`` and its outgoing weights by ``1/c`` leaves
the function unchanged. Differentiating that invariance gives ``⟨a_j, g_{a_j}⟩ = ⟨w_j, g_{w_j}⟩``
for the loss gradients ``g`` of the outgoing weights ``a_j`` and incoming weights ``w_j`` (Du, Hu &
Lee 2018, arXiv:1806.00900, Theorem 2.1; Kunin et al. 2021, arXiv:2012.04728, sec. 3). Hence,
for ``D_j = ‖a_j‖² − ‖w_j‖²``:

*Gradient flow* on ``L + (λ/2)‖θ‖²``: ``dD_j/dτ = −2⟨a_j, g_a + λa_j⟩ + 2⟨w_j, g_w + λw_j⟩ = −2λ D_j``,
so ``D_j(τ) = e^{−2λτ} D_j(0)`` with ``τ = ηt`` — conserved without weight decay (Du, Hu & Lee
2018), decaying exponentially with it (Kunin et al. 2021, secs. 4-6: the rescale symmetry, with weight
decay). For linear networks the whole matrix ``W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ`` obeys the same law
(Du, Hu & Lee 2018, Theorem 2.2; Arora, Cohen & Hazan 2018).

*Gradient descent* with coupled weight decay, ``θ ← (1 − ηλ)θ − η g``, expands exactly to

    D_j(t+1) = (1 − ηλ)² D_j(t) + η² (‖g_{a_j}‖² − ‖g_{w_j}‖²)          (the cross terms cancel)

(with the minibatch gradient for SGD): the flow law up to the factor ``(1 − ηλ)^{2t}`` vs
``e^{−2ληt}`` (``O(η²λ²t)``) and an ``η²`` sum of squared-gradient differences along the path — the
finite-step breaking of Kunin et al. 2021 (their modified-equation analysis), to which SGD adds its gradient
noise. That sum depends on the trajectory's gradients, which the spec does not give without
training, so the predictor here is the zero-shot flow law.

Predictors:

- ``balance-flow-law`` (theory): ``‖D(t)‖/‖D(0)‖ = e^{−2ληt}`` on the grid;
- ``balance-no-law`` (baseline): no conservation law — the imbalance is taken to scale like the
  weights' squared norm, and the weights to keep their initial scale, so the ratio stays 1.
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["BalanceFlowLaw", "BalanceNoLaw", "flow_law"]

REFERENCES = (
    "Du, Hu & Lee 2018, Algorithmic regularization in learning deep homogeneous models, arXiv:1806.00900, Theorems 2.1-2.2",
    "Kunin, Sagastuy-Brena, Ganguli, Yamins & Tanaka 2021, Neural mechanics, arXiv:2012.04728, secs. 4-6 (rescale symmetry, weight decay)",
)


def flow_law(steps: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    """``e^{−2λτ}`` at ``τ = η t``: the gradient-flow decay of the layer imbalance."""
    return np.exp(-2.0 * weight_decay * lr * np.asarray(steps, dtype=np.float64))


def _applicable(problem: Problem) -> Abstain | None:
    optimizer = problem.get("optimizer")
    if optimizer["kind"] not in ("gd", "sgd"):
        return Abstain("the law is derived for (stochastic) gradient descent")
    if optimizer.get("momentum", 0.0) != 0:
        return Abstain("momentum changes the law (the update is not a gradient step)")
    return None


class BalanceFlowLaw:
    """Gradient flow conserves the layer imbalance; weight decay λ makes it decay as e^{−2λτ}."""

    name = "balance-flow-law"
    version = "1"
    kind = "theory"
    quantities = ("balance_ratio",)
    fitted_on = ()
    references = REFERENCES

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        lr, decay = problem.get("optimizer.lr"), problem.get("optimizer.weight_decay")
        return Forecast(mean=flow_law(problem.grid, lr, decay))


class BalanceNoLaw:
    """No conservation law: the imbalance keeps the size of the weights (ratio 1)."""

    name = "balance-no-law"
    version = "1"
    kind = "baseline"
    quantities = ("balance_ratio",)
    fitted_on = ()
    references = ("catalogue E4 baseline: D scales like ‖θ‖², whose scale is taken as unchanged",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        return Forecast(mean=np.ones(problem.shape))
