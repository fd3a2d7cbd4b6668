"""Trivial baselines: what one would predict while ignoring the theory a benchmark tests.

Every benchmark names one of these as its ``baseline``; a theory's *skill* is measured against it
(``docs/statistics.md``). A baseline that passes means the benchmark does not discriminate.
"""

from __future__ import annotations

import math

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

from .batch_steps import applies, infinite_batch_steps
from .sgd_linreg import initial_error_moments

__all__ = ["GDPopulation", "NoLearning", "ShallowRegression"]


class GDPopulation:
    """Deterministic gradient descent on the population loss: SGD without its noise.

    ``E L(t) ≈ ½ (Σ_k λ_k c_k(0) (1 − ηλ_k)^{2t} + σ²)`` — the mean of SGD's iterates follows GD,
    but the loss is quadratic, so the ignored gradient-noise term is what this baseline misses.
    """

    name = "gd-population"
    version = "1"
    kind = "baseline"
    quantities = ("population_loss",)
    fitted_on = ()
    references = ("catalogue S4 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if applies(problem):
            return infinite_batch_steps(problem)
        if problem.get("data.kind") != "gaussian_linear" or problem.get("model.kind") != "linear":
            return Abstain("defined for a linear model on gaussian_linear data")
        if problem.target.derive is not None:
            return Abstain("forecasts loss curves, not values derived across the sweep")
        task = problem.population()
        c0 = initial_error_moments(task.teacher, problem.get("model.init"))
        lr = problem.get("optimizer.lr")
        t = problem.grid.astype(np.float64)[:, None]
        with np.errstate(over="ignore"):
            curve = 0.5 * (
                np.sum(task.eigenvalues * c0 * (1.0 - lr * task.eigenvalues) ** (2 * t), axis=1)
                + task.noise_variance
            )
        return Forecast(mean=curve)


class NoLearning:
    """The predictor never learns: test MSE = ``E[y²]`` = ``‖f*‖² + ε²`` over the population."""

    name = "no-learning"
    version = "1"
    kind = "baseline"
    quantities = ("test_mse",)
    fitted_on = ()
    references = ("catalogue S2 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        task = problem.population()
        if "finite_pool" not in task.capabilities:
            return Abstain("needs a finite pool to compute the target's norm")
        _, y = task.evaluation_set()
        return Forecast(
            mean=float(np.mean(np.sum(y**2, axis=1)) + task.d_out * task.noise_variance)
        )


class ShallowRegression:
    """Every mode is learned at one rate, as by linear regression without hidden layers.

    With whitened inputs, GD on ``f = W x`` from zero gives ``u_α(τ) = s_α (1 − e^{−τ})``, so a mode
    reaches the fraction ``f`` of its strength at ``t = −ln(1 − f)/η`` whatever ``s_α``, the depth or the
    initialization.
    """

    name = "shallow-regression"
    version = "1"
    kind = "baseline"
    quantities = ("mode_half_times", "mode_half_times_linear_fit")
    fitted_on = ()
    references = ("catalogue S1 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        lr = problem.get("optimizer.lr", None)
        if lr is None:
            return Abstain("needs a learning rate")
        t = -math.log(1.0 - problem.target.params["fraction"]) / lr
        return Forecast(mean=np.full(problem.shape, t))
