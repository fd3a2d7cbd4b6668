"""Learning-rate phases of gradient descent (Lewkowycz et al. 2020): the phase of a run, its loss spike
and its final curvature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from ..schema import Float, Param
from .data import Task
from .quantities import Observer, Probe, Quantity

__all__ = ["PHASES", "CatapultDynamics", "CatapultPhase"]

PHASES = ("lazy", "catapult", "diverged")
"""Label values of :class:`CatapultPhase`: ``0`` lazy, ``1`` catapult, ``2`` diverged."""


class _TrainLossTrace:
    """The training loss ``½·mean‖f − y‖²`` of every seed at every step (cached training set)."""

    def __init__(self) -> None:
        self.data: tuple[np.ndarray, np.ndarray] | None = None
        self.losses: list[np.ndarray] = []

    def record(self, probe: Probe) -> np.ndarray:
        if self.data is None:
            data = probe.train_set()
            if data is None:
                raise ValueError("learning-rate phases need a finite training set")
            self.data = data
        x, y = self.data
        with np.errstate(all="ignore"):
            loss = 0.5 * np.mean(np.sum((probe.predict_each(x) - y) ** 2, axis=-1), axis=-1)
        loss = np.where(np.isfinite(loss), loss, np.inf)
        self.losses.append(loss)
        return loss

    def array(self) -> np.ndarray:
        return np.stack(self.losses, axis=1)  # (S, steps + 1)


class CatapultPhase(Quantity):
    """The phase of a run of gradient descent: ``0`` lazy, ``1`` catapult, ``2`` diverged.

    With ``L_t`` the training loss ``½·mean‖f − y‖²`` at step ``t = 0..T``:

    - **diverged** (``2``): ``L_T`` is not finite or ``L_T > final · L_0`` (training did not bring
      the loss below where it started);
    - **catapult** (``1``): not diverged, and the loss rose to ``max_t L_t > spike · L_0`` on the way
      (Lewkowycz et al. 2020's loss spike, after which the curvature has dropped and GD converges);
    - **lazy** (``0``): otherwise (the loss came down without a spike).

    Labels are scored by their most frequent value over seeds (statistic ``mode``, metric
    ``mismatch``): accuracy = 1 − mismatch error.
    """

    kind = "catapult_phase"
    shape_kind = "label"
    default_statistic = "mode"
    scale = "linear"
    labels: ClassVar[tuple[str, ...]] = PHASES
    PARAMS: ClassVar[dict[str, Param]] = {
        "spike": Param(Float(gt=1), 2.0, doc="catapult: max_t L_t > spike · L_0"),
        "final": Param(Float(gt=0), 1.0, doc="diverged: L_T > final · L_0 (or not finite)"),
    }

    def shape(self) -> tuple[int, ...]:
        return ()

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _PhaseObserver(len(tasks), self.params["spike"], self.params["final"])


def classify_phases(losses: np.ndarray, spike: float = 2.0, final: float = 1.0) -> np.ndarray:
    """Phase labels of loss traces ``(S, T + 1)`` by the rule of :class:`CatapultPhase`."""
    start, end = losses[:, 0], losses[:, -1]
    with np.errstate(invalid="ignore"):
        diverged = ~np.isfinite(end) | (end > final * start)
        catapult = ~diverged & (np.max(losses, axis=1) > spike * start)
    return np.where(diverged, 2.0, np.where(catapult, 1.0, 0.0))


class _PhaseObserver(Observer):
    every_step = True

    def __init__(self, seeds: int, spike: float, final: float) -> None:
        self.trace = _TrainLossTrace()
        self.spike, self.final = spike, final
        self.seeds = seeds

    def record(self, step: int, probe: Probe) -> None:
        self.trace.record(probe)

    def result(self) -> np.ndarray:
        return classify_phases(self.trace.array(), self.spike, self.final)


class CatapultDynamics(Quantity):
    """The loss spike and the final curvature of a run of gradient descent.

    Two cells: the peak-loss ratio ``max_t L_t / L_0`` (``1`` for a monotone run; ``+inf`` if the
    loss diverged) and the final curvature in units of the step size, ``η λ_T``, with
    ``λ_T = λ_max(Θ_T)/n`` the top eigenvalue of the empirical NTK on the training set at the end
    of training divided by ``n`` (:meth:`Probe.ntk_max_eigenvalue`; ``+inf`` if diverged) and ``η``
    the step size actually used (``lr/λ0`` with ``lr_unit: ntk_max_eigenvalue``). GD on the
    linearized model is stable iff ``η λ < 2``; Lewkowycz et al. 2020 predict ``η λ_T < 2`` after a
    catapult and ``η λ_T = η λ_0`` in the lazy phase.
    """

    kind = "catapult_dynamics"
    shape_kind = "vector"
    unit = "ratio"

    def shape(self) -> tuple[int, ...]:
        return (2,)

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        optimizer = self.setting["optimizer"]
        relative = optimizer.get("lr_unit", "absolute") == "ntk_max_eigenvalue"
        return _DynamicsObserver(len(tasks), self.horizon, optimizer["lr"], relative)


class _DynamicsObserver(Observer):
    every_step = True

    def __init__(self, seeds: int, final_step: int, lr: float, relative: bool) -> None:
        self.trace = _TrainLossTrace()
        self.final_step, self.lr, self.relative = final_step, lr, relative
        self.curvature0 = np.full(seeds, np.nan)
        self.curvature = np.full(seeds, np.nan)

    def record(self, step: int, probe: Probe) -> None:
        loss = self.trace.record(probe)
        if step == 0 and self.relative:
            self.curvature0 = probe.ntk_max_eigenvalue()
        if step == self.final_step:
            curvature = np.full(loss.shape, np.inf)
            finite = np.isfinite(loss)
            if finite.any():
                curvature = np.where(finite, probe.ntk_max_eigenvalue(), np.inf)
            self.curvature = curvature

    def result(self) -> np.ndarray:
        losses = self.trace.array()
        with np.errstate(invalid="ignore", divide="ignore"):
            peak = np.max(losses, axis=1) / losses[:, 0]
            eta = self.lr / self.curvature0 if self.relative else np.full(peak.shape, self.lr)
            sharp = eta * self.curvature
        sharp = np.where(np.isfinite(sharp), sharp, np.inf)
        peak = np.where(np.isfinite(peak), peak, np.inf)
        return np.stack([peak, sharp], axis=1)
