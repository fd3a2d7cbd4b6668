"""Exact expected loss curves of online SGD on Gaussian linear regression.

Setting: ``x ~ N(0, Λ)``, ``Λ = diag(λ_k)``, ``y = w*·x + σε``, loss ``½(y − w·x)²``, online SGD
with batch ``B`` and learning rate ``η``: ``w ← w + (η/B) Σ_i x_i (y_i − w·x_i)``. Write
``c_k(t) = E[(w_k(t) − w*_k)²]``. The Gaussian fourth moment
``E[x xᵀ e eᵀ x xᵀ] = 2 Λ e eᵀ Λ + Λ tr(Λ e eᵀ)`` closes the recursion on the diagonal *exactly*
(Bordelon & Pehlevan 2022, arXiv:2106.02713, sec. 3 and app. B; cf. Paquette et al. 2021):

    c_k(t+1) = (1 − ηλ_k)² c_k(t) + (η²/B) [ λ_k² c_k(t) + λ_k Σ_j λ_j c_j(t) + σ² λ_k ]
    E L(t)   = ½ ( Σ_k λ_k c_k(t) + σ² ).

Off-diagonal terms of ``E[e eᵀ]`` never feed back into the diagonal because only ``tr(Λ E[e eᵀ])``
enters, so the recursion is exact at every finite ``d``, ``B`` and ``t`` — not an asymptotic theory.
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["SGDRecursion", "expected_loss_curve", "initial_error_moments", "stability_radius"]


def expected_loss_curve(
    eigenvalues: np.ndarray,
    c0: np.ndarray,
    noise_variance: float,
    lr: float,
    batch_size: int,
    steps: int,
) -> np.ndarray:
    """``E L(t)`` for ``t = 0..steps`` from the second-moment recursion (module docstring), float64.

    Args:
        eigenvalues: ``λ_k``, shape ``(d,)``.
        c0: ``E[(w_k(0) − w*_k)²]``, shape ``(d,)``.
        noise_variance: ``σ²``.
        lr: ``η``.
        batch_size: ``B``.
        steps: number of SGD steps.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    c = np.asarray(c0, dtype=np.float64).copy()
    decay = (1.0 - lr * lam) ** 2 + lr**2 / batch_size * lam**2
    coupling = lr**2 / batch_size * lam
    out = np.empty(steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            excess = float(lam @ c)
            out[t] = 0.5 * (excess + noise_variance)
            c = decay * c + coupling * (excess + noise_variance)
    return np.where(np.isnan(out), np.inf, out)


def stability_radius(eigenvalues: np.ndarray, lr: float, batch_size: int) -> float:
    """Spectral radius of the linear map ``c ↦ M c``; the mean loss converges iff it is below 1."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    m = np.diag(
        (1.0 - lr * lam) ** 2 + lr**2 / batch_size * lam**2
    ) + lr**2 / batch_size * np.outer(lam, lam)
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def initial_error_moments(teacher: np.ndarray, init: dict) -> np.ndarray:
    """``E[(w_k(0) − w*_k)²]`` for ``zeros`` (``w*²``) or ``gaussian`` (``w*² + std²``) init."""
    if init["kind"] == "zeros":
        return teacher**2
    return teacher**2 + init["std"] ** 2


class SGDRecursion:
    """Exact second-moment recursion for online SGD on Gaussian linear regression."""

    name = "sgd-recursion"
    version = "1"
    kind = "theory"
    quantities = ("population_loss",)
    fitted_on = ()
    references = (
        "Bordelon & Pehlevan 2022, arXiv:2106.02713, sec. 3, app. B",
        "Paquette et al. 2021, arXiv:2102.04396",
    )

    def predict(self, problem: Problem) -> Forecast | Abstain:
        from .batch_steps import applies, recursion_steps

        if applies(problem):
            return recursion_steps(problem)
        if problem.get("data.kind") != "gaussian_linear" or problem.get("model.kind") != "linear":
            return Abstain("exact only for a linear model on gaussian_linear data")
        if problem.get("optimizer.kind") != "sgd" or problem.get("train_size") != "online":
            return Abstain("the recursion is for online SGD (fresh samples every step)")
        if problem.target.statistic != "mean":
            return Abstain(
                f"the recursion gives the mean loss; the target asks for the {problem.target.statistic}"
            )
        if problem.target.derive is not None:
            return Abstain("forecasts loss curves, not values derived across the sweep")
        task = problem.population()
        c0 = initial_error_moments(task.teacher, problem.get("model.init"))
        curve = expected_loss_curve(
            task.eigenvalues,
            c0,
            task.noise_variance,
            problem.get("optimizer.lr"),
            problem.get("optimizer.batch_size"),
            problem.horizon,
        )
        return Forecast(mean=curve[problem.grid])
