"""How the optimal learning rate moves with width: μP versus standard parameterization.

Target: for each (parameterization, width) group, the shift ``log2 η*(N) − log2 η*(N0)`` of the
test-loss-minimizing learning rate from the anchor width ``N0`` (``target.derive.anchor``).

*μP* (Yang & Hu 2021, arXiv:2011.14522, Table 3; Yang et al. 2022, arXiv:2203.03466, Table 3):
initializations, multipliers and per-layer learning rates are scaled with width so that every
layer's update changes its pre-activations by ``Θ(1)`` as ``N → ∞``; the training dynamics, and with
them the optimal learning rate, have a width-independent limit: **shift 0**.

*SP* (same papers; Yang et al. 2022, Fig. 1): one global learning rate and ``1/fan_in`` init. With
Adam, each entry of a hidden or output matrix moves by ``Θ(η)``, so its contribution to the next
pre-activation, a coherent sum over ``N`` inputs, moves by ``Θ(ηN)``; with SGD the output layer's
gradient has ``Θ(1)`` entries and the output moves by ``Θ(ηN)``. Keeping updates bounded needs
``η ∝ 1/N``: asymptotically **shift −log2(N/N0)**.
"""

from __future__ import annotations

import math

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["NaiveTransfer", "SwappedWidthLaw", "WidthScalingLaw", "width_shift"]


def width_shift(parameterization: str, width: int, base: int) -> float | None:
    """Predicted ``log2 η*(width) − log2 η*(base)``; ``None`` where there is no law."""
    if parameterization == "mup":
        return 0.0
    if parameterization == "sp":
        return -math.log2(width / base)
    return None


def _widths(problem: Problem) -> tuple[int, int] | Abstain:
    if problem.target.derive is None or problem.target.derive.kind != "argmin":
        return Abstain("forecasts the optimal learning rate (an argmin over optimizer.lr)")
    if problem.target.derive.x != "optimizer.lr" or not problem.anchor_members:
        return Abstain("forecasts the shift of the optimum from an anchor width")
    if problem.get("model.kind") != "mlp":
        return Abstain("an MLP")
    anchor = problem.anchor_members[0]
    if anchor["model"]["parameterization"] != problem.get("model.parameterization"):
        return Abstain("the anchor must share the parameterization")
    width, base = max(problem.get("model.widths")), max(anchor["model"]["widths"])
    if width == base:
        return Abstain("the anchor has the same width: not a width sweep")
    return width, base


class WidthScalingLaw:
    """Tensor-programs width laws: the optimal learning rate is flat in μP and ∝ 1/width in SP."""

    name = "width-scaling-law"
    version = "1"
    kind = "theory"
    quantities = ("test_loss", "train_loss")
    fitted_on = ()
    references = (
        "Yang & Hu 2021, arXiv:2011.14522, Table 3",
        "Yang et al. 2022, arXiv:2203.03466, Table 3 and Fig. 1",
    )

    def law(self, parameterization: str) -> str:
        return parameterization

    def predict(self, problem: Problem) -> Forecast | Abstain:
        widths = _widths(problem)
        if isinstance(widths, Abstain):
            return widths
        width, base = widths
        parameterization = problem.get("model.parameterization")
        shift = width_shift(self.law(parameterization), width, base)
        if shift is None:
            return Abstain(f"no law for parameterization {parameterization!r}")
        return Forecast(
            mean=shift, notes=f"{self.law(parameterization)} law, N/N0={width / base:g}"
        )


class SwappedWidthLaw(WidthScalingLaw):
    """The laws swapped: 1/width in μP, flat in SP (naive transfer of an SP-tuned learning rate)."""

    name = "swapped-width-law"
    kind = "baseline"
    references = ("catalogue H1 baseline",)

    def law(self, parameterization: str) -> str:
        return {"mup": "sp", "sp": "mup"}.get(parameterization, parameterization)


class NaiveTransfer(WidthScalingLaw):
    """Reuse the learning rate tuned at the base width, whatever the parameterization."""

    name = "naive-transfer"
    kind = "baseline"
    references = ("catalogue H1 baseline (slope 0 for SP)",)

    def law(self, parameterization: str) -> str:
        return "mup" if parameterization in ("sp", "mup") else parameterization
