"""Wide two-layer networks trained by gradient descent: the NTK Gaussian-process prediction.

Network (``mlp`` with one hidden layer, ReLU, no biases, ``parameterization: ntp``, gain 1):
``f(x) = N^{-1/2} Σ_j a_j ReLU(w_j·x/√d)`` with ``a_j, w_j`` i.i.d. standard normal, both layers
trained by full-batch GD on ``½·mean_i (f(x_i) − y_i)²`` with learning rate ``η``.

As ``N → ∞`` (Jacot, Gabriel & Hongler 2018; Lee et al. 2019, arXiv:1902.06720, sec. 2.3–2.4):

- the initial function is a centred Gaussian process with the NNGP kernel ``K = K1`` (the readout
  layer's kernel ``E[ReLU(u)ReLU(v)]``);
- the network stays linear in its parameters, with the constant NTK ``Θ = K1 + G·K0`` of
  :mod:`harness.components.kernels`;
- GD moves the training residual as ``r_{t+1} = (I − ηΘ_XX/n) r_t``, so with
  ``A_t = I − (I − ηΘ_XX/n)^t`` and ``M_t(x) = Θ_xX Θ_XX^{-1} A_t`` (Lee et al. 2019, eqs. 9–10 and
  16 in discrete time),

      f_t(x) = f_0(x) + M_t(x) (Y − f_0(X)),
      E f_t(x) = M_t(x) Y,
      Var f_t(x) = K(x, x) − 2 M_t(x) K_Xx + M_t(x) K_XX M_t(x)ᵀ.

  ``Θ_XX^{-1} A_t`` is evaluated in ``Θ_XX``'s eigenbasis as ``(1 − (1 − ηλ_i/n)^t)/λ_i`` (equal to
  ``tη/n`` for ``λ_i = 0``, so repeated training points are harmless).

The expected test loss over the finite pool (the benchmark's test set) is
``½ E_x[(E f_t(x) − f*(x))² + Var f_t(x)] (+ ½σ²)``, the training loss
``½/n [‖(I − ηΘ/n)^t Y‖² + tr((I − ηΘ/n)^t K_XX (I − ηΘ/n)^t)] (+ noise)``. Each seed draws its own
training set, so the forecast averages these over training sets drawn from the population with
:meth:`Problem.rng` (Monte Carlo over data; no network is trained).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from harness.components.kernels import arccos_kernels
from harness.predictor import Abstain, Forecast, Problem

__all__ = ["InitialFunction", "NTKGaussianProcess", "ntk_gp_curves"]

DRAWS = 400  # Monte Carlo training sets per forecast


def _applicable(problem: Problem) -> Abstain | None:
    model = problem.setting["model"]
    if model["kind"] != "mlp" or len(model["widths"]) != 1:
        return Abstain("the analytic kernels are those of a two-layer network")
    if model["activation"] != "relu" or model["bias"] or model["norm"] != "none":
        return Abstain("the analytic kernels are for ReLU units without biases or normalization")
    if model["parameterization"] != "ntp" or model["init"]["gain"] != 1.0:
        return Abstain("the kernels are written for the NTK parameterization with gain 1")
    if problem.get("optimizer.kind") != "gd":
        return Abstain("the GD-time solution is for full-batch gradient descent")
    optimizer = problem.setting["optimizer"]
    if optimizer["momentum"] or optimizer["weight_decay"]:
        return Abstain("no momentum or weight decay in the linearized solution")
    if "finite_pool" not in problem.population().capabilities:
        return Abstain("needs a finite pool as the test set")
    return None


def ntk_gp_curves(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    lr: float,
    steps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected half-MSE on the test points and on the training set at each step of ``steps``
    (scalar outputs), from the infinite-width NTK (mean and initial-function variance)."""
    n = len(x_train)
    g_tt, k1_tt, k0_tt = arccos_kernels(x_train, x_train)
    g_st, k1_st, k0_st = arccos_kernels(x_test, x_train)
    theta = k1_tt + g_tt * k0_tt
    theta_st = k1_st + g_st * k0_st
    nngp_tt, nngp_st = k1_tt, k1_st
    nngp_ss = np.sum(x_test * x_test, axis=1) / x_test.shape[1] / 2.0  # K1(x, x) = ‖x‖²/(2d)
    lam, vec = np.linalg.eigh(theta)
    lam = np.maximum(lam, 0.0)
    t = np.asarray(steps, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        decay = (1.0 - lr * lam / n)[None, :] ** t  # (T, n): eigenvalues of (I − ηΘ/n)^t
        gain = np.where(lam > 0, (1.0 - decay) / np.where(lam > 0, lam, 1.0), t * lr / n)
    y = y_train.reshape(n)
    proj_y = vec.T @ y  # Y in the eigenbasis
    target = y_test.reshape(len(x_test))
    m = len(x_test)
    # M_t(x) = P(x) diag(gain_t) Vᵀ with P = Θ_xX V; test averages reduce to n×n quadratic forms
    p = theta_st @ vec  # (m, n)
    c = nngp_st @ vec  # K_xX V, (m, n)
    k_eig = vec.T @ nngp_tt @ vec  # K_XX in the eigenbasis
    gram = p.T @ p / m
    coef = gain * proj_y[None, :]  # (T, n): E f_t = P coef_t
    mean_sq = (
        np.einsum("ti,ij,tj->t", coef, gram, coef)
        - 2 * coef @ (p.T @ target / m)
        + np.mean(target**2)
    )
    variance = (
        np.mean(nngp_ss)
        - 2 * gain @ np.mean(p * c, axis=0)
        + np.einsum("ti,ij,tj->t", gain, gram * k_eig, gain)
    )
    test = 0.5 * (mean_sq + variance)
    residual = decay * proj_y[None, :]  # (I − ηΘ/n)^t Y in the eigenbasis
    # E‖(I − ηΘ/n)^t (Y − f_0(X))‖² = ‖(I − ηΘ/n)^t Y‖² + tr((I − ηΘ/n)^t K_XX (I − ηΘ/n)^t)
    train = 0.5 / n * (np.sum(residual**2, axis=1) + (decay**2) @ np.diag(k_eig))
    return test, train


class NTKGaussianProcess:
    """Infinite-width NTK: GD-time solution with the initial function's variance (Lee et al. 2019)."""

    name = "ntk-gp"
    version = "1"
    kind = "theory"
    quantities = ("test_loss", "train_loss")
    fitted_on = ()
    references = (
        "Jacot, Gabriel & Hongler 2018, arXiv:1806.07572 (NTK)",
        "Lee et al. 2019, arXiv:1902.06720, eqs. 9-10 and 16 (GD-time mean and variance)",
        "Arora et al. 2019, arXiv:1904.11955, eq. 4 (ReLU NTK)",
    )

    def __init__(self, draws: int = DRAWS) -> None:
        self.draws = draws

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        if problem.target.statistic != "mean":
            return Abstain("forecasts the mean over seeds")
        task = problem.population()
        x_pool, y_pool = task.evaluation_set()
        n = problem.get("train_size")
        lr = problem.get("optimizer.lr")
        unit = problem.setting["optimizer"]["lr_unit"]
        quantity = problem.target.quantity
        steps = problem.grid
        rng = problem.rng("training-sets")
        curves = []
        # small dense linear algebra: one BLAS thread (two spin-waiting threads are ~20× slower here)
        with threadpool_limits(limits=1, user_api="blas"):
            for _ in range(self.draws):
                x, y = task.sample(n, rng)
                eta = lr
                if unit == "ntk_max_eigenvalue":  # η = lr/λ0, λ0 from the analytic kernel
                    g, k1, k0 = arccos_kernels(x, x)
                    eta = lr / (np.linalg.eigvalsh(k1 + g * k0)[-1] / n)
                test, train = ntk_gp_curves(x, y, x_pool, y_pool, eta, steps)
                curves.append(train if quantity == "train_loss" else test)  # noisy labels in Y
        values = np.array(curves)
        extra = 0.5 * task.noise_variance if quantity == "test_loss" else 0.0
        return Forecast(
            mean=(values.mean(axis=0) + extra).reshape(problem.shape),
            notes=f"{self.draws} training sets",
        )


class InitialFunction:
    """The untrained network: test loss ``½ E_x[f*(x)² + K1(x, x)]`` (target plus the random initial
    function's variance), at every step."""

    name = "initial-function"
    version = "1"
    kind = "baseline"
    quantities = ("test_loss",)
    fitted_on = ()
    references = ("catalogue L1 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        task = problem.population()
        x, y = task.evaluation_set()
        nngp = np.sum(x * x, axis=1) / x.shape[1] / 2.0
        value = 0.5 * (np.mean(np.sum(y**2, axis=1)) + np.mean(nngp) + task.noise_variance)
        return Forecast(mean=np.full(problem.shape, value))
