"""The batch-size scaling rules of the SDE view: linear for SGD, square root for Adam.

Target: an anchored argmin over ``optimizer.lr`` — the shift ``log2 η*(B) − log2 η*(B0)`` of the
loss-minimizing learning rate at batch size ``B = κ B0`` from the anchor's, at a **fixed sample
budget** (``steps · B`` equal in the group and its anchor).

*Linear scaling rule* (Goyal et al. 2017, arXiv:1706.02677, sec. 2.1: "when the minibatch size is
multiplied by k, multiply the learning rate by k"; justified by the SGD SDE of Li, Malladi & Arora
2021, arXiv:2102.12470, sec. 2). SGD with learning rate ``η`` and batch ``B`` is approximated by

    dX_t = −∇L(X_t) dt + (η/B)^{1/2} Σ(X_t)^{1/2} dW_t,      t = η · (steps),

so ``(η, B) → (κη, κB)`` keeps the noise scale ``η/B``, and at a fixed budget of ``N`` samples the
horizon ``T = η N/B`` too: the whole final-loss curve in ``log2 η`` moves by ``log2 κ``, and so does
its minimizer. Forecast shift: ``log2 κ``.

*Square-root scaling rule* (Malladi, Lyu, Panigrahi & Arora 2022, arXiv:2205.10287, sec. 4, the SR
rule for RMSprop and Adam): at batch ``κB`` use

    η → √κ η,    1 − β₁ → κ(1 − β₁),    1 − β₂ → κ(1 − β₂),    ε → ε/√κ.

Their Adam SDE has time ``t = η² · (steps)`` and is determined by ``c₁ = (1 − β₁)/η²``,
``c₂ = (1 − β₂)/η²``, the noise ``σ₀ = η/√B`` (in units of the per-example gradient noise) and
``ε₀ = ε η``; the SR rule keeps all four and, at a fixed budget, the horizon ``η² N/B``
(:func:`adam_sde_invariants`). Forecast shift: ``½ log2 κ`` — valid only if the group's β₁, β₂, ε are
the anchor's rescaled by the rule, which the predictor checks (it abstains otherwise).

Both rules are first-order (small learning rate, noise-dominated gradients); they are expected to
break beyond the critical batch size (McCandlish et al. 2018, arXiv:1812.06162), where the gradient
noise no longer dominates and the optimum saturates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.predictor import Abstain, Forecast, Problem

from .batch_size import batch_shift_target

__all__ = ["ScalingRules", "adam_sde_invariants", "rule_exponent", "square_root_rule"]

#: relative tolerance on the group's β and ε against the rule (the spec writes ~12 digits)
RULE_RTOL = 1e-6


def rule_exponent(optimizer: str) -> float | None:
    """``a`` in ``η* ∝ B^a``: 1 for SGD (linear rule), ½ for Adam (square-root rule), else ``None``."""
    return {"sgd": 1.0, "adam": 0.5}.get(optimizer)


def square_root_rule(
    beta1: float, beta2: float, eps: float, kappa: float
) -> tuple[float, float, float]:
    """Malladi et al.'s SR rule for Adam's other hyperparameters at batch ``κB``:
    ``(1 − κ(1 − β₁), 1 − κ(1 − β₂), ε/√κ)`` (the learning rate moves by ``√κ``)."""
    if kappa <= 0:
        raise ValueError(f"kappa must be positive, got {kappa}")
    return 1.0 - kappa * (1.0 - beta1), 1.0 - kappa * (1.0 - beta2), eps / math.sqrt(kappa)


def adam_sde_invariants(
    lr: float, beta1: float, beta2: float, eps: float, batch: int, samples: int
) -> dict[str, float]:
    """The quantities that fix Malladi et al.'s Adam SDE over a budget of ``samples`` examples:
    ``c₁ = (1−β₁)/η²``, ``c₂ = (1−β₂)/η²``, ``σ₀ = η/√B``, ``ε₀ = εη``, horizon ``T = η² · samples/B``."""
    return {
        "c1": (1.0 - beta1) / lr**2,
        "c2": (1.0 - beta2) / lr**2,
        "sigma0": lr / math.sqrt(batch),
        "eps0": eps * lr,
        "horizon": lr**2 * samples / batch,
    }


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=RULE_RTOL, abs_tol=0.0)


def _adam_mismatch(here: Mapping[str, Any], anchor: Mapping[str, Any], kappa: float) -> str | None:
    """Why the group's (β₁, β₂, ε) are not the anchor's rescaled by the SR rule, or ``None``."""
    b1, b2, eps = square_root_rule(anchor["beta1"], anchor["beta2"], anchor["eps"], kappa)
    if b1 <= 0 or b2 <= 0:
        return f"κ = {kappa:g} takes a β below 0: the rule does not apply"
    ok = (
        _close(1.0 - here["beta1"], 1.0 - b1)
        and _close(1.0 - here["beta2"], 1.0 - b2)
        and _close(here["eps"], eps)
    )
    if ok:
        return None
    return (
        f"the square-root rule at κ = {kappa:g} needs (β₁, β₂, ε) = ({b1:.6g}, {b2:.6g}, {eps:.6g}); "
        f"this group has ({here['beta1']:.6g}, {here['beta2']:.6g}, {here['eps']:.6g})"
    )


class ScalingRules:
    """η* ∝ B for SGD (linear rule), η* ∝ √B for Adam with β, ε rescaled (square-root rule)."""

    name = "scaling-rules"
    version = "1"
    kind = "theory"
    quantities = ("excess_test_loss", "test_loss", "train_loss", "population_loss")
    fitted_on = ()
    references = (
        "Goyal et al. 2017, arXiv:1706.02677, sec. 2.1 (linear scaling rule)",
        "Li, Malladi & Arora 2021, arXiv:2102.12470 (the SGD SDE behind it)",
        "Malladi, Lyu, Panigrahi & Arora 2022, arXiv:2205.10287, sec. 4 (square-root rule for Adam)",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = batch_shift_target(problem)
        if abstain is not None:
            return abstain
        here, anchor = problem.setting, problem.anchor_members[0]
        opt, ref = here["optimizer"], anchor["optimizer"]
        kind = opt["kind"]
        exponent = rule_exponent(kind)
        if exponent is None:
            return Abstain(f"no batch-size rule for {kind!r}")
        if ref["kind"] != kind:
            return Abstain("the anchor uses another optimizer")
        if "batch_size" not in opt or here.get("train_size") != "online":
            return Abstain("minibatches drawn online (the SDE's fresh-noise assumption)")
        b, b0 = int(opt["batch_size"]), int(ref["batch_size"])
        if b == b0:
            return Abstain("the anchor has the same batch size: not a batch-size sweep")
        if b * int(here["steps"]) != b0 * int(anchor["steps"]):
            return Abstain("the rules compare runs over the same number of samples")
        kappa = b / b0
        if kind == "adam":
            why = _adam_mismatch(opt, ref, kappa)
            if why is not None:
                return Abstain(why)
        shift = exponent * math.log2(kappa)
        return Forecast(mean=shift, notes=f"κ = {kappa:g}, η* ∝ κ^{exponent:g}")
