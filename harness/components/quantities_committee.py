"""Observables of soft committee machines: the exact generalization error and the plateau escape.

For a student ``φ(x) = Σ_k g(w_k·x/√N)`` and a teacher ``φ*(x) = Σ_m g(B_m·x/√N)`` with
``g(z) = erf(z/√2)`` and ``x ~ N(0, I_N)``, the local fields ``λ_k = w_k·x/√N``, ``ν_m = B_m·x/√N``
are jointly Gaussian with covariances given by the order parameters

    Q_ik = w_i·w_k/N,   R_in = w_i·B_n/N,   T_nm = B_n·B_m/N,

and ``E g(u) g(v) = (2/π) arcsin(C_uv/√((1 + C_uu)(1 + C_vv)))``, so the generalization error is a
closed form of ``(Q, R, T)`` (Saad & Solla 1995, PRE 52:4225, eq. 5; Biehl & Schwarze 1995):

    ε_g = ½ E(φ − φ*)² = (1/π) [ Σ_ik arcsin(Q_ik/√((1+Q_ii)(1+Q_kk)))
                                + Σ_nm arcsin(T_nm/√((1+T_nn)(1+T_mm)))
                                − 2 Σ_in arcsin(R_in/√((1+Q_ii)(1+T_nn))) ].

It is computed from the student's weights exactly, with no test-set noise (plus ``σ²/2`` for the
output noise of a fresh example).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from ..schema import Float, Param
from .data import Task
from .quantities import CurveQuantity, GridObserver, Observer, Probe, Quantity

__all__ = ["CommitteeError", "PlateauEscape", "committee_error", "order_parameters"]


def committee_error(q: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``ε_g`` of the module docstring for order parameters ``Q (..., K, K)``, ``R (..., K, M)``,
    ``T (..., M, M)`` (broadcasting over the leading axes), without output noise."""
    dq = np.diagonal(q, axis1=-2, axis2=-1)
    dt = np.diagonal(t, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore"):
        student = np.arcsin(q / np.sqrt((1 + dq[..., :, None]) * (1 + dq[..., None, :])))
        teacher = np.arcsin(t / np.sqrt((1 + dt[..., :, None]) * (1 + dt[..., None, :])))
        cross = np.arcsin(r / np.sqrt((1 + dq[..., :, None]) * (1 + dt[..., None, :])))
    return (
        student.sum(axis=(-2, -1)) + teacher.sum(axis=(-2, -1)) - 2 * cross.sum(axis=(-2, -1))
    ) / np.pi


def order_parameters(
    w: np.ndarray, teacher: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(Q, R, T)`` from student vectors ``w (..., K, N)`` and teacher vectors ``B (..., M, N)``."""
    n = w.shape[-1]
    q = w @ np.swapaxes(w, -1, -2) / n
    r = w @ np.swapaxes(teacher, -1, -2) / n
    t = teacher @ np.swapaxes(teacher, -1, -2) / n
    return q, r, t


def _student_and_teacher(
    tasks: Sequence[Task], probe: Probe
) -> tuple[np.ndarray, np.ndarray, float]:
    w = probe.parameters()[0]  # (S, K, N)
    teacher = np.stack([task.teacher for task in tasks])  # (S, M, N)
    return w, teacher, 0.5 * tasks[0].noise_variance


class CommitteeError(CurveQuantity):
    """Generalization error ``ε_g = ½ E(φ(x) − y)²`` of a soft committee machine on the grid steps.

    Exact, from the order parameters ``Q, R, T`` (arcsin formula of Saad & Solla 1995; see
    :mod:`harness.components.quantities_committee`), plus ``σ²/2`` for output noise. No test-set
    noise. A diverged run records ``+inf``.
    """

    kind = "committee_error"
    unit = "loss"
    requires_model = frozenset({"soft_committee"})
    requires_data = frozenset({"committee_teacher"})

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _CommitteeErrorObserver(tasks, self.grid)


class _CommitteeErrorObserver(GridObserver):
    def __init__(self, tasks: Sequence[Task], grid: np.ndarray) -> None:
        super().__init__(len(tasks), grid)
        self.tasks = list(tasks)

    def record(self, step: int, probe: Probe) -> None:
        w, teacher, extra = _student_and_teacher(self.tasks, probe)
        with np.errstate(all="ignore"):
            error = committee_error(*order_parameters(w, teacher)) + extra
        self.put(step, error)


class PlateauEscape(Quantity):
    """Escape from the symmetric plateau: the first step at which ``ε_g`` falls below ``level``.

    ``ε_g`` (exact, as in ``committee_error``) is evaluated every ``resolution · N`` steps (``N``
    the input dimension, so every ``resolution`` units of ``α = t/N``); the crossing is
    interpolated linearly between the two evaluations that bracket it. ``+inf`` if ``ε_g`` stays
    above ``level`` within ``steps`` (censored at the horizon). Choose ``level`` below the plateau
    (Saad & Solla's symmetric fixed point) and above the asymptotic error, e.g. half the plateau
    height: the event then times the breaking of the student's permutation symmetry.
    """

    kind = "plateau_escape"
    shape_kind = "events"
    default_statistic = "median"
    unit = "steps"
    requires_model = frozenset({"soft_committee"})
    requires_data = frozenset({"committee_teacher"})
    PARAMS: ClassVar[dict[str, Param]] = {
        "level": Param(Float(gt=0), doc="the error level that marks the escape"),
        "resolution": Param(
            Float(gt=0), 0.02, doc="evaluate ε_g every resolution·N steps (α units)"
        ),
    }

    def shape(self) -> tuple[int, ...]:
        return (1,)

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        stride = max(1, round(self.params["resolution"] * self.setting["data"]["d"]))
        steps = frozenset(range(0, self.horizon + 1, stride)) | {self.horizon}
        return _PlateauEscapeObserver(tasks, steps, self.params["level"])


class _PlateauEscapeObserver(Observer):
    def __init__(self, tasks: Sequence[Task], steps: frozenset[int], level: float) -> None:
        self.tasks = list(tasks)
        self.steps = steps
        self.level = level
        self.times = np.full((len(tasks), 1), np.inf)
        self.previous: tuple[int, np.ndarray] | None = None

    def record(self, step: int, probe: Probe) -> None:
        w, teacher, extra = _student_and_teacher(self.tasks, probe)
        with np.errstate(all="ignore"):
            error = committee_error(*order_parameters(w, teacher)) + extra
        error = np.where(np.isnan(error), np.inf, error)
        pending = np.isinf(self.times[:, 0])
        below = pending & (error < self.level)
        if below.any():
            if self.previous is None:
                self.times[below, 0] = float(step)
            else:
                last, before = self.previous
                with np.errstate(all="ignore"):
                    frac = np.clip((before - self.level) / (before - error), 0.0, 1.0)
                frac = np.where(np.isfinite(frac), frac, 1.0)
                self.times[below, 0] = last + frac[below] * (step - last)
        self.previous = (step, error)

    def result(self) -> np.ndarray:
        return self.times
