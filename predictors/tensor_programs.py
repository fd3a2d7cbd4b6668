"""Width exponents of one training step: Tensor-Programs power counting (Yang & Hu 2021).

Network (``mlp``, two hidden layers of width ``N``, ReLU, no biases; ``d`` inputs fixed):
``h_1 = c_1 W_1 x``, ``h_2 = c_2 W_2 φ(h_1)``, ``f = c_3 W_3 φ(h_2)``, weights ``W_l`` with i.i.d.
entries of scale ``σ_l``, forward multipliers ``c_l`` and learning rates ``η_l`` from the
parameterization table of :class:`harness.components.models.MLP` (``m = N/base_width``):

==========  =====================  =====================  ======================================
            ``σ_1, σ_2, σ_3``      ``c_1, c_2, c_3``      ``η_1, η_2, η_3`` (SGD; Adam)
==========  =====================  =====================  ======================================
SP          ``1, N^-½, N^-½``      ``1, 1, 1``            ``η, η, η``; ``η, η, η``
NTP         ``1, 1, 1``            ``d^-½, N^-½, N^-½``   ``η, η, η``; ``η, η, η``
μP          ``1, N^-½, N^-1``      ``1, 1, 1``            ``ηN, η, η/N``; ``η, η/N, η/N``
==========  =====================  =====================  ======================================

(constants and ``d`` dropped). One step on a fixed batch; the residual ``r = f − y`` is ``O(1)`` in
every parameterization (``f`` is ``O(1)`` or, in μP, ``O(N^-½)``). Exponents are of the RMS changes
``Δh_1``, ``Δh_2``, ``Δf`` on fresh inputs ``x'``, as ``N → ∞`` at fixed ``η`` and small enough ``η``
that ``Δh ≪ h`` (the linear response of one step). Two facts do the counting:

- a sum of ``N`` terms is ``O(N)`` when they are *coherent* (correlated with each other: features of
  two inputs, ``φ(h(x))·φ(h(x')) ~ N``; a weight vector with a gradient built from it) and
  ``O(√N)`` when they are not (a random weight row against an independent vector);
- the gradient reaching ``h_2`` is ``g_2 = φ'(h_2) ⊙ c_3 W_3ᵀ r``, entries ``O(c_3 σ_3)``; the one
  reaching ``h_1`` is ``g_1 = φ'(h_1) ⊙ c_2 W_2ᵀ g_2``, entries ``O(c_2 σ_2 √N · c_3 σ_3)``
  (incoherent sum over the ``N`` rows of a random ``W_2``).

**SGD** (``ΔW_l = −η_l c_l g_l φ(h_{l−1})ᵀ``, so ``c_l ΔW_l φ(h_{l−1}(x'))`` carries the coherent
inner product ``φ(h_{l−1}(x))·φ(h_{l−1}(x')) ~ fan-in``):

- ``Δh_1 ~ η_1 c_1² d · c_2 σ_2 √N c_3 σ_3``;
- ``Δh_2 ~ η_2 c_2² N · c_3 σ_3`` (direct) plus the change of ``h_1`` carried through ``W_2``,
  ``c_2² N σ_2² · η_1 c_1² d c_3 σ_3`` (coherent: ``Δh_1 ∝ W_2ᵀ g_2``, so ``W_2 Δφ_1 ∝ W_2 W_2ᵀ g_2``);
- ``Δf ~ η_3 c_3² N`` (direct) plus ``c_3² N σ_3² · η_2 c_2² N`` (``Δh_2 ∝ g_2 ∝ W_3ᵀ r`` is coherent
  with ``W_3``).

SP: ``Δh_1 ~ N^-½``, ``Δh_2 ~ N^½`` (direct; the carried part is ``N^-½``), ``Δf ~ N``.
NTP: ``N^-½``, ``N^-½``, ``N^0``. μP: ``N^0``, ``N^0``, ``N^0`` (Yang & Hu 2021, Table 3 and
Theorem 3.4: only μP keeps every layer's feature update ``Θ(1)``; SP blows up the output, NTP
freezes the features).

**Adam, first step.** With zero moments, ``m̂_1 = g`` and ``v̂_1 = g²``, so the step is
``ΔW = −η_l g/(|g| + ε) ≈ −η_l sign(g)`` entrywise (for ``|g| ≫ ε``): every entry moves by ``η_l``
whatever the gradient's scale, and the signs are coherent with the features (``sign(g_2 φ_1ᵀ)`` has
rows ``± sign(φ_1)``, and ``φ_1 ≥ 0``), so ``ΔW_l φ(h_{l−1}(x'))`` sums ``fan-in`` coherent terms:

- ``Δh_1 ~ η_1 c_1 d`` (``d`` fixed);
- ``Δh_2 ~ η_2 c_2 N`` (direct) plus ``c_2 W_2 Δφ_1``, at most ``c_2 σ_2 N^½ · N^½ Δh_1`` (the row
  signs ``sign(W_2ᵀ g_2)`` correlate with a given row of ``W_2`` only at ``N^-½``);
- ``Δf ~ η_3 c_3 N`` (direct) plus ``c_3 Σ_i W_3i Δφ_2i``: the direct ``Δh_2`` has the sign of
  ``W_3i`` unit by unit (``g_2i ∝ W_3i r``), so this sum is coherent, ``c_3 σ_3 N · Δh_2``.

SP: ``Δh_1 ~ N^0``, ``Δh_2 ~ N``, ``Δf ~ N^{3/2}`` (the carried term; the direct one is ``N``).
NTP: ``N^0``, ``N^½``, ``N^1``. μP: ``N^0``, ``N^0``, ``N^0`` (Yang et al. 2022, μTransfer, Table 3:
Adam's μP scales the hidden and output learning rates by ``1/fan-in`` for exactly this reason).

The theory catalogue's Adam-SP entry ``(0, +1, +1)`` counts only the direct output term; the
carried term ``W_3 Δφ_2`` dominates at large ``N`` (``N^{3/2}``). At finite width both terms
contribute, so a fit over a finite range sits between 1 and 1.5.
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["EXPONENTS", "TensorProgramsExponents", "WidthIndependent"]

EXPONENTS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("sp", "sgd"): (-0.5, 0.5, 1.0),
    ("ntp", "sgd"): (-0.5, -0.5, 0.0),
    ("mup", "sgd"): (0.0, 0.0, 0.0),
    ("sp", "adam"): (0.0, 1.0, 1.5),
    ("ntp", "adam"): (0.0, 0.5, 1.0),
    ("mup", "adam"): (0.0, 0.0, 0.0),
}
"""``(Δh_1, Δh_2, Δf)`` exponents in the width, per (parameterization, optimizer family)."""


def _applicable(problem: Problem) -> Abstain | None:
    if problem.target.derive is None or problem.target.derive.kind != "slope":
        return Abstain("forecasts width exponents (a slope target over model.width)")
    if problem.target.derive.x != "model.width" or not (
        problem.target.derive.log_x and problem.target.derive.log_y
    ):
        return Abstain("forecasts log-log slopes in model.width")
    model = problem.setting["model"]
    if model["kind"] != "mlp" or len(model["widths"]) != 2:
        return Abstain("the power counting is written for two hidden layers")
    if model["activation"] != "relu" or model["bias"] or model["norm"] != "none":
        return Abstain("the counting assumes ReLU units, no biases, no normalization")
    optimizer = problem.setting["optimizer"]
    if optimizer.get("weight_decay", 0.0) or optimizer.get("lr_unit", "absolute") != "absolute":
        return Abstain("no weight decay; an absolute learning rate")
    if problem.get("steps") != 1:
        return Abstain("the counting is for one optimizer step")
    if optimizer["kind"] == "sgd" or (
        optimizer["kind"] == "adam" and optimizer["batch_size"] != "full"
    ):
        return Abstain("one step on a fixed batch: gd or full-batch adam")
    return None


class TensorProgramsExponents:
    """Tensor-Programs power counting of one step's feature updates (Yang & Hu 2021)."""

    name = "tensor-programs"
    version = "1"
    kind = "theory"
    quantities = ("feature_updates",)
    fitted_on = ()
    references = (
        "Yang & Hu 2021, arXiv:2011.14522, Table 3 and Theorem 3.4 (abc-parameterizations)",
        "Yang et al. 2022, arXiv:2203.03466, Table 3 (μP for Adam)",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        family = "adam" if problem.get("optimizer.kind") == "adam" else "sgd"
        exponents = EXPONENTS[(problem.get("model.parameterization"), family)]
        return Forecast(mean=np.asarray(exponents, dtype=np.float64).reshape(problem.shape))


class WidthIndependent:
    """Baseline: nothing scales with width (every exponent 0)."""

    name = "width-independent"
    version = "1"
    kind = "baseline"
    quantities = ("feature_updates",)
    fitted_on = ()
    references = ("catalogue L5 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        return Forecast(mean=np.zeros(problem.shape))
