"""How much training moves each layer's features: RMS changes of the pre-activations on fresh inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from ..schema import Int, Param
from .data import Task
from .quantities import Observer, Probe, Quantity, _finite_or_inf

__all__ = ["FeatureUpdates"]


class FeatureUpdates(Quantity):
    """RMS change of every layer's pre-activations over training, on fresh inputs.

    For an MLP with hidden pre-activations ``h_1 … h_L`` and output ``f`` (the ``layers`` capability),
    cell ``l`` is ``‖Δh_l‖_rms = √(mean over inputs and units of (h_l(x; θ_T) − h_l(x; θ_0))²)``
    between the initialization (step 0) and the end of training (step ``steps``; one step when
    ``steps: 1``), and the last cell is the same for the output ``f``. The inputs are
    ``eval_size`` fresh examples per seed from its ``eval`` stream (not the training batch). Shape:
    ``(L + 1,)``, e.g. ``(Δh_1, Δh_2, Δf)`` for two hidden layers. With ``target.derive`` a slope
    over ``model.width`` gives the width-scaling exponents of Yang & Hu 2021 (Tensor Programs IV).
    A diverged run records ``+inf``.
    """

    kind = "feature_updates"
    shape_kind = "vector"
    unit = "rms"
    requires_model = frozenset({"layers"})
    PARAMS: ClassVar[dict[str, Param]] = {
        "eval_size": Param(Int(ge=1), 256, doc="fresh inputs per seed"),
    }

    def shape(self) -> tuple[int, ...]:
        return (len(self.setting["model"]["widths"]) + 1,)

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        if eval_rngs is None:
            raise ValueError("feature_updates needs the seeds' eval streams for fresh inputs")
        x = np.stack(
            [task.sample(self.params["eval_size"], rng)[0] for task, rng in zip(tasks, eval_rngs)]
        )
        return _FeatureUpdatesObserver(x, self.horizon, self.shape()[0])


class _FeatureUpdatesObserver(Observer):
    def __init__(self, x: np.ndarray, final_step: int, layers: int) -> None:
        self.x = x  # (S, m, d): each seed's fresh inputs
        self.steps = frozenset({0, final_step})
        self.final_step = final_step
        self.initial: list[np.ndarray] | None = None
        self.values = np.full((x.shape[0], layers), np.nan)

    def record(self, step: int, probe: Probe) -> None:
        current = probe.preactivations(self.x)
        if step == 0:
            self.initial = current
        if step == self.final_step:
            assert self.initial is not None
            with np.errstate(all="ignore"):
                rms = [
                    np.sqrt(np.mean((after - before) ** 2, axis=(1, 2)))
                    for before, after in zip(self.initial, current)
                ]
            self.values = _finite_or_inf(np.stack(rms, axis=1))

    def result(self) -> np.ndarray:
        return self.values
