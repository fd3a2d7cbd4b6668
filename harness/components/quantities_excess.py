"""The excess test loss: the test loss against noise-free labels.

With label noise ``y = f*(x) + σε`` the test loss is ``½ E‖f(x) − y‖² = ½ E‖f(x) − f*(x)‖² + ½ d_out σ²``:
an irreducible floor plus the part training can reduce. Ratios of losses (the ``regret`` of a
learning-rate forecast, ``ln L(η̂)/L(η*)``) are diluted by the floor; the excess loss
``½ E‖f(x) − f*(x)‖²`` is what a hyperparameter choice actually changes. It is measured on the same
inputs as ``test_loss`` (each seed's ``eval`` stream), with the data's noise-free labels ``E[y | x]``
(data capability ``noise_free_labels``), so it carries no label-noise Monte Carlo error either.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..schema import Int, Param
from .data import Task
from .quantities import CurveQuantity, GridObserver, Observer, Probe

__all__ = ["ExcessTestLoss"]


class ExcessTestLoss(CurveQuantity):
    """Excess test loss ``½ E‖f(x) − E[y|x]‖²`` on the grid steps, over a test set with noise-free labels.

    Each seed draws ``eval_size`` fresh examples once from its ``eval`` stream (the inputs
    ``test_loss`` uses) and labels them with the data's noise-free labels. ``test_loss`` minus
    ``½ d_out σ²`` in expectation. A diverged run records ``+inf``.
    """

    kind = "excess_test_loss"
    unit = "loss"
    requires_data = frozenset({"noise_free_labels"})
    PARAMS = {"eval_size": Param(Int(ge=1), 2048, doc="test examples per seed")}

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        if eval_rngs is None:
            raise ValueError("excess_test_loss needs the seeds' eval streams")
        return _ExcessObserver(tasks, eval_rngs, self.grid, self.params["eval_size"])


class _ExcessObserver(GridObserver):
    def __init__(
        self,
        tasks: Sequence[Task],
        eval_rngs: Sequence[np.random.Generator],
        grid: np.ndarray,
        size: int,
    ) -> None:
        super().__init__(len(tasks), grid)
        xs = [t.sample(size, rng)[0] for t, rng in zip(tasks, eval_rngs)]
        self.x = np.stack(xs)
        self.y = np.stack([t.noise_free(x) for t, x in zip(tasks, xs)])

    def record(self, step: int, probe: Probe) -> None:
        with np.errstate(all="ignore"):
            prediction = probe.predict_each(self.x)
            loss = 0.5 * np.mean(np.sum((prediction - self.y) ** 2, axis=-1), axis=-1)
        self.put(step, loss)
