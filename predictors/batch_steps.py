"""Steps to a target loss of online SGD on Gaussian linear regression, per batch size.

Target (benchmark ``batch-size-steps``): for each batch size ``B``, the fewest steps, over the
group's learning-rate grid, at which the mean population-loss curve first falls to a level ``ℓ``
(``target.derive: {kind: steps_to, x: optimizer.lr, level: ℓ}`` on ``population_loss``; the crossing
is placed linearly between the two grid steps that bracket it, :func:`harness.derive.crossing_steps`).

*Exact recursion* (:mod:`predictors.sgd_linreg`; Bordelon & Pehlevan 2022, arXiv:2106.02713,
sec. 3 and app. B): the expected loss curve ``E L(t; η, B)`` of every point of the group on the
point's grid, its crossing by the benchmark's own rule, the smallest over the group. No
approximation beyond the estimator, which both sides share.

*Infinite batch* (baseline): the same with the gradient noise dropped, i.e. deterministic gradient
descent on the population loss, ``c_k(t) = c_k(0)(1 − ηλ_k)^{2t}``, at the group's learning rates.

*McCandlish et al.'s model* (arXiv:1812.06162, sec. 2.3, eq. 2.11): with the learning rate tuned
for every batch size, ``S(B) = S_min (1 + B_noise/B)``. Here ``S_min`` is the infinite-batch
minimum, the fewest gradient-descent steps to ``ℓ`` over all stable constant learning rates
(a fine grid in ``log2 η`` up to ``2/λ_max``), and ``B_noise = tr(HΣ)/(GᵀHG)`` is the noise scale
of :func:`predictors.batch_size.gradient_noise_scale` at initialization (frozen, as the paper's
simplest form; along training it grows, see the benchmark card).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from harness.derive import crossing_steps
from harness.predictor import Abstain, Forecast, Problem

from .sgd_linreg import expected_loss_curve, initial_error_moments

__all__ = [
    "applies",
    "critical_batch_steps",
    "infinite_batch_min_steps",
    "infinite_batch_steps",
    "min_steps_over_group",
    "recursion_steps",
]

#: ``log2 η`` resolution of the search for the infinite-batch minimum ``S_min``.
LR_SEARCH_PER_OCTAVE = 64


def applies(problem: Problem) -> bool:
    """Whether the target is the fewest steps to a level over a learning-rate grid."""
    derive = problem.target.derive
    return derive is not None and derive.kind == "steps_to" and derive.x == "optimizer.lr"


def _unsupported(problem: Problem) -> Abstain | None:
    """Why the recursion cannot forecast this setting, or ``None``."""
    if problem.get("data.kind") != "gaussian_linear" or problem.get("model.kind") != "linear":
        return Abstain("exact only for a linear model on gaussian_linear data")
    if problem.get("optimizer.kind") != "sgd" or problem.get("train_size") != "online":
        return Abstain("online SGD (fresh samples every step)")
    if problem.get("optimizer.momentum", 0.0) or problem.get("optimizer.weight_decay", 0.0):
        return Abstain("plain SGD (no momentum, no weight decay)")
    if problem.target.statistic != "mean":
        return Abstain("the recursion gives the mean loss curve")
    return None


def min_steps_over_group(
    problem: Problem, batch_size: Callable[[Mapping[str, Any]], float]
) -> float:
    """Fewest steps to the level over the group's points, by the benchmark's crossing rule.

    Each point's loss curve is the recursion's with batch ``batch_size(setting)`` (``inf`` drops the
    gradient noise: gradient descent), read on the point's grid as the measurement is.
    """
    task = problem.population()
    level = problem.target.derive.level
    best = np.inf
    for m, grid in zip(problem.members, problem.member_grids, strict=True):
        c0 = initial_error_moments(task.teacher, m["model"]["init"])
        curve = expected_loss_curve(
            task.eigenvalues,
            c0,
            task.noise_variance,
            m["optimizer"]["lr"],
            batch_size(m),
            m["steps"],
        )
        best = min(best, float(crossing_steps(grid, curve[grid], level)[0]))
    return best


def infinite_batch_min_steps(problem: Problem, level: float) -> float:
    """McCandlish's ``S_min``: fewest gradient-descent steps to ``level`` over stable ``η``.

    Gradient descent on ``½ eᵀΛe + ½σ²`` from ``c_k(0)`` decays each mode as ``(1 − ηλ_k)^{2t}``; the
    steps are searched on ``log2 η`` from ``−8`` to ``log2(2/λ_max)`` at ``1/64`` octave, each curve
    run until the level is reached or ``4·10⁵`` steps; between integer steps linearly.
    """
    task = problem.population()
    lam = np.asarray(task.eigenvalues, dtype=np.float64)
    c0 = initial_error_moments(task.teacher, problem.get("model.init"))
    top = np.log2(2.0 / lam.max())
    best = np.inf
    excess = level - 0.5 * task.noise_variance
    if excess <= 0:
        return best
    for log_lr in np.arange(-8.0, top, 1.0 / LR_SEARCH_PER_OCTAVE):
        rate = np.abs(1.0 - 2.0**log_lr * lam)
        if np.any(rate >= 1.0):
            continue
        # loss(t) = ½σ² + ½ Σ λ c0 rate^{2t} in closed form: bracketed by doubling, then bisected
        t = _first_step_below(lam * c0, rate, excess)
        if t is not None:
            best = min(best, t)
    return best


def _first_step_below(weights: np.ndarray, rate: np.ndarray, excess: float) -> float | None:
    """First (fractional) ``t`` with ``½ Σ w rate^{2t} ≤ excess``: bracketed by doubling, then linear."""

    def loss(t: float) -> float:
        return 0.5 * float(np.sum(weights * rate ** (2.0 * t)))

    if loss(0) <= excess:
        return 0.0
    hi = 1
    while loss(hi) > excess:
        hi *= 2
        if hi > 400_000:
            return None
    lo = hi // 2
    while hi - lo > 1:  # integer bisection: the loss falls monotonically (every |1 − ηλ| < 1)
        mid = (lo + hi) // 2
        if loss(mid) > excess:
            lo = mid
        else:
            hi = mid
    a, b = loss(lo), loss(hi)
    return lo + (a - excess) / (a - b)


def recursion_steps(problem: Problem) -> Forecast | Abstain:
    """The fewest steps by the exact recursion, at each point's batch size."""
    abstain = _unsupported(problem)
    if abstain is not None:
        return abstain
    return Forecast(mean=min_steps_over_group(problem, lambda m: m["optimizer"]["batch_size"]))


def infinite_batch_steps(problem: Problem) -> Forecast | Abstain:
    """The fewest steps with the gradient noise dropped (gradient descent), at the group's rates."""
    abstain = _unsupported(problem)
    if abstain is not None:
        return abstain
    return Forecast(mean=min_steps_over_group(problem, lambda m: np.inf))


def critical_batch_steps(
    problem: Problem, b_noise: Callable[[Problem], float]
) -> Forecast | Abstain:
    """McCandlish et al.'s ``S_min (1 + B_noise/B)``, with ``b_noise(problem)`` at initialization."""
    abstain = _unsupported(problem)
    if abstain is not None:
        return abstain
    if problem.get("model.init")["kind"] != "zeros":
        return Abstain("B_noise at a deterministic (zero) initialization")
    s_min = infinite_batch_min_steps(problem, problem.target.derive.level)
    scale = b_noise(problem)
    batch = float(problem.get("optimizer.batch_size"))
    return Forecast(
        mean=s_min * (1.0 + scale / batch), notes=f"S_min = {s_min:.2f}, B_noise = {scale:.3f}"
    )
