"""Online SGD of soft committee machines: Saad & Solla's order-parameter ODEs.

Student ``φ(x) = Σ_{k≤K} g(w_k·x/√N)``, teacher ``φ*(x) = Σ_{n≤M} g(B_n·x/√N)``, ``g(z) = erf(z/√2)``,
``x ~ N(0, I_N)``, loss ``½(φ − y)²``, one example per step and Saad & Solla's rule
``w_i ← w_i + (η/√N) g'(λ_i)(y − φ) x``. With ``α = t/N`` and the order parameters
``Q_ik = w_i·w_k/N``, ``R_in = w_i·B_n/N``, ``T_nm = B_n·B_m/N``, the dynamics concentrate as
``N → ∞`` on the ODEs (Saad & Solla 1995, PRE 52:4225, eqs. 9–10; Biehl & Schwarze 1995)

    dR_in/dα = η [ Σ_m I3(i, n, m) − Σ_j I3(i, n, j) ]
    dQ_ik/dα = η [ Σ_m (I3(i, k, m) + I3(k, i, m)) − Σ_j (I3(i, k, j) + I3(k, i, j)) ]
             + η² [ Σ_nm I4(i, k, n, m) − 2 Σ_jn I4(i, k, j, n) + Σ_jl I4(i, k, j, l) ]
             + η² σ² (2/π) [(1 + Q_ii)(1 + Q_kk) − Q_ik²]^{−1/2}

(``j, l`` student units, ``n, m`` teacher units). ``I3(a, b, c) = E[g'(u_a) u_b g(u_c)]`` and
``I4(a, b, c, d) = E[g'(u_a) g'(u_b) g(u_c) g(u_d)]`` over the jointly Gaussian fields with covariance
``C = [[Q, R], [Rᵀ, T]]`` restricted to the named fields (indices 1..4 below), in closed form for
``g = erf(·/√2)`` (Saad & Solla 1995, appendix):

    I3 = (2/π) (1/√Λ3) (C23 (1 + C11) − C12 C13)/(1 + C11),      Λ3 = (1 + C11)(1 + C33) − C13²
    I4 = (4/π²) (1/√Λ4) arcsin(Λ0/√(Λ1 Λ2)),                       Λ4 = (1 + C11)(1 + C22) − C12²
    Λ0 = Λ4 C34 − C23 C24 (1 + C11) − C13 C14 (1 + C22) + C12 C13 C24 + C12 C14 C23
    Λ1 = Λ4 (1 + C33) − C23² (1 + C11) − C13² (1 + C22) + 2 C12 C13 C23
    Λ2 = Λ4 (1 + C44) − C24² (1 + C11) − C14² (1 + C22) + 2 C12 C14 C24

(checked against a Monte Carlo of the Gaussian expectations and against simulations of the same SGD
in ``tests/test_theory_committee.py``). The generalization error is the arcsin formula of
:func:`harness.components.quantities_committee.committee_error`.

*Initial conditions.* The ODEs are deterministic, but the plateau they predict is left through the
unstable direction of the symmetric fixed point, seeded by the ``O(N^{-1/2})`` asymmetry of the
random initialization, so the escape time is a random variable even at large ``N``. The predictor
samples ``Q(0), R(0)`` exactly from the initialization of the spec (``w_k`` i.i.d. Gaussian, a
teacher drawn from the population) with :meth:`Problem.rng`, integrates one ODE per sample (all
samples in one vectorized system, scipy's DOP853), and forecasts the requested statistic over the
samples: the mean or quantiles of ``ε_g`` on the grid, or of the escape time. The SGD noise of a
finite-``N`` run (which also kicks the order parameters by ``O(N^{-1/2})`` along the unstable
direction) is not modelled: that is the approximation the benchmark tests.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from harness.components import DATA
from harness.components.quantities_committee import committee_error, order_parameters
from harness.predictor import Abstain, Forecast, Problem
from harness.stats import reduce

__all__ = [
    "SaadSollaODE",
    "escape_times",
    "i3",
    "i4",
    "integrate",
    "saad_solla_rhs",
    "sample_initial_conditions",
]

SAMPLES = 256  # Monte Carlo initial conditions per forecast
ALPHA_STEP = 0.02  # resolution (in α) of the error curves the escape times are read from


def i3(c11, c12, c13, c23, c33):
    """``E[g'(u1) u2 g(u3)]`` for ``g = erf(·/√2)`` and covariances ``C`` (broadcasting)."""
    lam3 = (1 + c11) * (1 + c33) - c13**2
    return 2 / np.pi / np.sqrt(lam3) * (c23 * (1 + c11) - c12 * c13) / (1 + c11)


def i4(c11, c12, c13, c14, c22, c23, c24, c33, c34, c44):
    """``E[g'(u1) g'(u2) g(u3) g(u4)]`` for ``g = erf(·/√2)`` (broadcasting)."""
    lam4 = (1 + c11) * (1 + c22) - c12**2
    lam0 = (
        lam4 * c34
        - c23 * c24 * (1 + c11)
        - c13 * c14 * (1 + c22)
        + c12 * c13 * c24
        + c12 * c14 * c23
    )
    lam1 = lam4 * (1 + c33) - c23**2 * (1 + c11) - c13**2 * (1 + c22) + 2 * c12 * c13 * c23
    lam2 = lam4 * (1 + c44) - c24**2 * (1 + c11) - c14**2 * (1 + c22) + 2 * c12 * c14 * c24
    return 4 / np.pi**2 / np.sqrt(lam4) * np.arcsin(lam0 / np.sqrt(lam1 * lam2))


def saad_solla_rhs(
    q: np.ndarray, r: np.ndarray, t: np.ndarray, lr: float, noise_std: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(dQ/dα, dR/dα)`` of the module docstring for a batch: ``Q (S, K, K)``, ``R (S, K, M)``,
    ``T (M, M)``. Vectorized over samples and unit indices (no Python loops)."""
    s, k, _ = q.shape
    m = t.shape[0]
    c = np.empty((s, k + m, k + m))
    c[:, :k, :k], c[:, :k, k:] = q, r
    c[:, k:, :k], c[:, k:, k:] = np.swapaxes(r, 1, 2), t
    d = np.diagonal(c, axis1=1, axis2=2)  # (S, P)
    sign = np.concatenate([-np.ones(k), np.ones(m)])  # student fields −, teacher fields +
    # I3(a, b, c): a a student field; b, c any field  -> (S, K, P, P)
    third = i3(
        d[:, :k, None, None],
        c[:, :k, :, None],
        c[:, :k, None, :],
        c[:, None, :, :],
        d[:, None, None, :],
    )
    drive = np.einsum("sabc,c->sab", third, sign)  # Σ_c s_c I3(a, b, c)
    dr = lr * drive[:, :, k:]
    dq = lr * (drive[:, :, :k] + np.swapaxes(drive[:, :, :k], 1, 2))
    # I4(a, b, c, e): a, b student fields; c, e any field -> (S, K, K, P, P)
    fourth = i4(
        d[:, :k, None, None, None],
        c[:, :k, :k, None, None],
        c[:, :k, None, :, None],
        c[:, :k, None, None, :],
        d[:, None, :k, None, None],
        c[:, None, :k, :, None],
        c[:, None, :k, None, :],
        d[:, None, None, :, None],
        c[:, None, None, :, :],
        d[:, None, None, None, :],
    )
    dq = dq + lr**2 * np.einsum("sabce,c,e->sab", fourth, sign, sign)
    if noise_std > 0:
        dqq = d[:, :k]
        dq = dq + lr**2 * noise_std**2 * (2 / np.pi) / np.sqrt(
            (1 + dqq[:, :, None]) * (1 + dqq[:, None, :]) - q**2
        )
    return dq, dr


def integrate(
    q0: np.ndarray,
    r0: np.ndarray,
    t: np.ndarray,
    lr: float,
    alphas: np.ndarray,
    noise_std: float = 0.0,
    rtol: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """Integrate the ODEs for every initial condition at once; returns ``Q (A, S, K, K)`` and
    ``R (A, S, K, M)`` at the times ``alphas`` (increasing, from 0)."""
    s, k, _ = q0.shape
    m = t.shape[0]
    nq = s * k * k

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        dq, dr = saad_solla_rhs(y[:nq].reshape(s, k, k), y[nq:].reshape(s, k, m), t, lr, noise_std)
        return np.concatenate([dq.ravel(), dr.ravel()])

    y0 = np.concatenate([q0.ravel(), r0.ravel()])
    sol = solve_ivp(
        rhs,
        (0.0, float(alphas[-1])),
        y0,
        method="DOP853",
        t_eval=alphas,
        rtol=rtol,
        atol=1e-12,
    )
    if not sol.success:
        raise RuntimeError(f"ODE integration failed: {sol.message}")
    y = sol.y.T
    return y[:, :nq].reshape(-1, s, k, k), y[:, nq:].reshape(-1, s, k, m)


def sample_initial_conditions(
    problem: Problem, samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Q(0), R(0)`` of ``samples`` independent initializations (and ``T``), drawn exactly as the
    harness draws them: ``w_k`` i.i.d. ``N(0, std²)`` entries, a teacher from the population."""
    rng = problem.rng("initial-conditions")
    data = DATA.get(problem.get("data.kind"))(problem.setting["data"])
    std = problem.get("model.init.std")
    k = problem.get("model.units")
    qs, rs, ts = [], [], []
    for _ in range(samples):
        teacher = data.draw(rng).teacher
        w = std * rng.standard_normal((k, teacher.shape[1]))
        q, r, t = order_parameters(w, teacher)
        qs.append(q)
        rs.append(r)
        ts.append(t)
    return np.array(qs), np.array(rs), np.mean(ts, axis=0)


def escape_times(alphas: np.ndarray, errors: np.ndarray, level: float) -> np.ndarray:
    """First ``α`` at which each curve (``errors (A, S)``) falls below ``level``, interpolated
    linearly between grid points; ``inf`` if never."""
    below = errors < level
    first = np.argmax(below, axis=0)
    hit = below[first, np.arange(errors.shape[1])]
    out = np.full(errors.shape[1], np.inf)
    for s in np.flatnonzero(hit):
        i = first[s]
        if i == 0:
            out[s] = alphas[0]
            continue
        e0, e1 = errors[i - 1, s], errors[i, s]
        out[s] = alphas[i - 1] + (e0 - level) / (e0 - e1) * (alphas[i] - alphas[i - 1])
    return out


def _applicable(problem: Problem) -> Abstain | None:
    if problem.get("model.kind") != "soft_committee":
        return Abstain("the ODEs describe soft committee machines")
    if problem.get("data.kind") != "erf_committee_teacher":
        return Abstain("the ODEs need an erf committee teacher")
    if problem.get("optimizer.kind") != "sgd" or problem.get("optimizer.batch_size") != 1:
        return Abstain("the ODEs describe online SGD with one example per step")
    if problem.get("optimizer.momentum") or problem.get("optimizer.weight_decay"):
        return Abstain("no momentum or weight decay in these ODEs")
    if problem.get("train_size") != "online":
        return Abstain("the ODEs describe online learning (fresh examples)")
    return None


class SaadSollaODE:
    """Saad & Solla's order-parameter ODEs, Monte Carlo over the random initial conditions."""

    name = "saad-solla-ode"
    version = "1"
    kind = "theory"
    quantities = ("committee_error", "plateau_escape")
    fitted_on = ()
    references = (
        "Saad & Solla 1995, Phys. Rev. E 52:4225, eqs. 9-10 and appendix (I3, I4 for erf units)",
        "Biehl & Schwarze 1995, J. Phys. A 28:643",
    )

    def __init__(self, samples: int = SAMPLES) -> None:
        self.samples = samples

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        n = problem.get("data.d")
        lr = problem.get("optimizer.lr")
        noise = problem.get("data.noise_std")
        q0, r0, t = sample_initial_conditions(problem, self.samples)
        target = problem.target
        if target.quantity == "committee_error":
            alphas = problem.grid.astype(np.float64) / n
            q, r = integrate(q0, r0, t, lr, alphas, noise)
            values = committee_error(q, r, t[None, None]) + 0.5 * noise**2  # (A, S)
            values = values.T  # (S, A): samples play the role of seeds
        else:
            horizon_alpha = problem.horizon / n
            alphas = np.arange(0.0, horizon_alpha + ALPHA_STEP, ALPHA_STEP)
            q, r = integrate(q0, r0, t, lr, alphas, noise)
            errors = committee_error(q, r, t[None, None]) + 0.5 * noise**2
            escape = escape_times(alphas, errors, target.params["level"]) * n
            values = np.where(escape <= problem.horizon, escape, np.inf)[:, None]  # (S, 1)
        forecast = reduce(values, target.statistic, quantiles=target.quantiles)
        return Forecast(
            mean=np.asarray(forecast).reshape(problem.shape),
            notes=f"{self.samples} initial conditions, N={n}, eta={lr}",
        )


class ExponentialDecay:
    """No plateau: the error decays as one exponential, ``ε_g(α) = ε_g(0) e^{−ηα}``."""

    name = "exponential-decay"
    version = "1"
    kind = "baseline"
    quantities = ("committee_error", "plateau_escape")
    fitted_on = ()
    references = ("catalogue S5 baseline",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        n = problem.get("data.d")
        lr = problem.get("optimizer.lr")
        q0, r0, t = sample_initial_conditions(problem, SAMPLES)
        start = committee_error(q0, r0, t) + 0.5 * problem.get("data.noise_std") ** 2  # (S,)
        target = problem.target
        if target.quantity == "committee_error":
            alphas = problem.grid.astype(np.float64) / n
            values = start[:, None] * np.exp(-lr * alphas)[None, :]
        else:
            level = target.params["level"]
            values = (np.log(np.maximum(start / level, 1.0)) / lr * n)[:, None]
        forecast = reduce(values, target.statistic, quantiles=target.quantiles)
        return Forecast(mean=np.asarray(forecast).reshape(problem.shape))
