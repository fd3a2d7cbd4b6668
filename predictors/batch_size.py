"""How the optimal learning rate moves with the batch size.

Target: for each batch size ``B`` (with its number of steps), the shift
``log2 η*(B) − log2 η*(B0)`` of the loss-minimizing learning rate from the anchor ``B0``
(``target.derive.anchor``).

*Exact recursion* (online SGD on Gaussian linear regression; :mod:`predictors.sgd_linreg`): the
expected final loss ``E L_T(η; B)`` is computed exactly at every learning rate of the group's grid,
and the optimum is located with the benchmark's own estimator (grid minimum refined by the
parabola in ``log2 η``), for the group and for its anchor.

*Critical batch size* (McCandlish, Kaplan, Amodei et al. 2018, arXiv:1812.06162, eqs. 2.6–2.8 and
app. A): the loss-optimal step along a noisy gradient of batch ``B`` is
``ε_opt(B) = ε_max / (1 + B_noise/B)`` with ``B_noise = tr(HΣ)/(GᵀHG)`` (``H`` the Hessian, ``Σ`` the
per-example gradient covariance, ``G`` the gradient). For Gaussian linear regression at error
``e = w − w*`` (derived for this project; see the benchmark card), ``H = Λ``, ``G = Λe`` and the
per-example gradient ``g = x xᵀe − σεx`` has covariance ``Σ = ΛeeᵀΛ + (eᵀΛe + σ²)Λ`` (Gaussian
fourth moment), so

    B_noise = tr(ΛΣ)/(eᵀΛ³e) = 1 + tr(Λ²)(eᵀΛe + σ²)/(eᵀΛ³e),

evaluated at initialization. The forecast shift is ``log2[(1 + B_noise/B0)/(1 + B_noise/B)]``.

*Linear scaling rule* (``η ∝ B`` for SGD; the square-root rule for Adam): the predictor
``scaling-rules``, :mod:`predictors.scaling_rules`.

Baseline: no rescaling, shift 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.derive import argmin_log2
from harness.predictor import Abstain, Forecast, Problem

from .batch_steps import applies, critical_batch_steps
from .sgd_linreg import expected_loss_curve, initial_error_moments

__all__ = [
    "CriticalBatchSize",
    "NoRescaling",
    "RecursionOptimum",
    "batch_shift_target",
    "gradient_noise_scale",
]


def gradient_noise_scale(
    eigenvalues: np.ndarray, error: np.ndarray, noise_variance: float
) -> float:
    """McCandlish et al.'s ``B_noise = tr(HΣ)/(GᵀHG)`` for Gaussian linear regression at error ``e``:
    ``1 + tr(Λ²)(eᵀΛe + σ²)/(eᵀΛ³e)``."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    e = np.asarray(error, dtype=np.float64)
    return 1.0 + float(np.sum(lam**2)) * (float(e @ (lam * e)) + noise_variance) / float(
        e @ (lam**3 * e)
    )


def _initial_noise_scale(problem: Problem) -> float:
    """``B_noise`` at a zero initialization (error ``e = −w*``)."""
    task = problem.population()
    return gradient_noise_scale(task.eigenvalues, -task.teacher, task.noise_variance)


def _batch(setting: Mapping[str, Any]) -> int:
    return int(setting["optimizer"]["batch_size"])


def batch_shift_target(problem: Problem) -> Abstain | None:
    """Why the target is not the shift of the optimal learning rate between two batch sizes (an
    argmin over ``optimizer.lr`` anchored at another integer batch size), or ``None`` if it is."""
    derive = problem.target.derive
    if derive is None or derive.kind != "argmin" or derive.x != "optimizer.lr":
        return Abstain("forecasts the optimal learning rate (an argmin over optimizer.lr)")
    if not problem.anchor_members:
        return Abstain("forecasts the shift of the optimum from an anchor batch size")
    if "batch_size" not in problem.setting["optimizer"] or not isinstance(
        problem.get("optimizer.batch_size"), int
    ):
        return Abstain("needs an integer batch size")
    if problem.anchor_members[0]["optimizer"].get("batch_size") == problem.get(
        "optimizer.batch_size"
    ):
        return Abstain("the anchor has the same batch size: not a batch-size sweep")
    return None


class RecursionOptimum:
    """Exact: the optimum of the expected final loss from the online-SGD second-moment recursion."""

    name = "sgd-recursion-optimum"
    version = "1"
    kind = "theory"
    quantities = ("population_loss",)
    fitted_on = ()
    references = (
        "Bordelon & Pehlevan 2022, arXiv:2106.02713, sec. 3 and app. B (the recursion)",
        "Paquette et al. 2021, arXiv:2102.04396",
    )

    def _optimum(
        self, problem: Problem, members: Sequence[Mapping[str, Any]], x: np.ndarray
    ) -> float:
        task = problem.population()
        c0 = initial_error_moments(task.teacher, members[0]["model"]["init"])
        finals = [
            expected_loss_curve(
                task.eigenvalues,
                c0,
                task.noise_variance,
                m["optimizer"]["lr"],
                _batch(m),
                m["steps"],
            )[-1]
            for m in members
        ]
        return float(argmin_log2(x, np.asarray(finals)[:, None])[0])

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = batch_shift_target(problem)
        if abstain is not None:
            return abstain
        if problem.get("data.kind") != "gaussian_linear" or problem.get("model.kind") != "linear":
            return Abstain("exact only for a linear model on gaussian_linear data")
        if problem.get("optimizer.kind") != "sgd" or problem.get("train_size") != "online":
            return Abstain("the recursion is for online SGD")
        if problem.get("optimizer.momentum") or problem.get("optimizer.weight_decay"):
            return Abstain("plain SGD (no momentum, no weight decay)")
        if (
            problem.target.statistic != "mean"
            or problem.grid is None
            or problem.grid[-1] != problem.horizon
        ):
            return Abstain("the recursion gives the mean loss at the end of training")
        assert problem.x is not None and problem.anchor_x is not None
        here = self._optimum(problem, problem.members, problem.x)
        anchor = self._optimum(problem, problem.anchor_members, problem.anchor_x)
        return Forecast(mean=here - anchor, notes=f"log2 η* = {here:.3f} (anchor {anchor:.3f})")


class CriticalBatchSize:
    """McCandlish et al. 2018: η*(B) ∝ 1/(1 + B_noise/B) and S(B) = S_min(1 + B_noise/B), with
    B_noise at initialization (the steps: :mod:`predictors.batch_steps`)."""

    name = "critical-batch-size"
    version = "1"
    kind = "theory"
    quantities = ("population_loss",)
    fitted_on = ()
    references = (
        "McCandlish, Kaplan, Amodei et al. 2018, An empirical model of large-batch training, "
        "arXiv:1812.06162, eqs. 2.6-2.8",
        "B_noise for Gaussian linear regression: derived in predictors/batch_size.py and the card",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if applies(problem):
            return critical_batch_steps(problem, _initial_noise_scale)
        abstain = batch_shift_target(problem)
        if abstain is not None:
            return abstain
        if problem.get("data.kind") != "gaussian_linear" or problem.get("model.kind") != "linear":
            return Abstain("B_noise is computed for a linear model on gaussian_linear data")
        if problem.get("optimizer.kind") != "sgd":
            return Abstain("SGD")
        if problem.get("model.init")["kind"] != "zeros":
            return Abstain("B_noise at a deterministic (zero) initialization")
        b_noise = _initial_noise_scale(problem)
        b, b0 = _batch(problem.setting), _batch(problem.anchor_members[0])
        shift = math.log2((1.0 + b_noise / b0) / (1.0 + b_noise / b))
        return Forecast(mean=shift, notes=f"B_noise = {b_noise:.3f}")


class NoRescaling:
    """The optimal learning rate does not depend on the batch size: shift 0.

    (The rules that do rescale it, linear for SGD and square root for Adam, are
    :class:`predictors.scaling_rules.ScalingRules`.)
    """

    name = "no-rescaling"
    version = "1"
    kind = "baseline"
    quantities = ("population_loss", "excess_test_loss", "test_loss", "train_loss")
    fitted_on = ()
    references = ("catalogue H2 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = batch_shift_target(problem)
        if abstain is not None:
            return abstain
        return Forecast(mean=0.0)
