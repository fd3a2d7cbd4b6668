"""Observables of the weights' motion and of the function's linear part.

- :class:`AngularUpdate` — the angular update ``‖W_{t+1} − W_t‖_F / ‖W_t‖_F`` of chosen weight
  matrices, averaged over a window at the end of training (rotational equilibrium of
  scale-invariant weights: van Laarhoven 2017; Wan et al. 2021; Kosson, Messmer & Jaggi 2024).
- :class:`WeightNorm` — ``‖W_t‖_F`` of chosen weight matrices, averaged over the same kind of window.
- :class:`ModeHalfTimesLinearFit` — the half-learning times of a linear teacher's modes, read on
  the best linear fit of the network's function on its training inputs, so that nonlinear networks
  can be compared with deep linear ones (Saxe, McClelland & Ganguli 2014).

They read the weights through the probe's ``weight_matrices()`` and the function through
``predict_each`` / ``train_set``; everything is computed in numpy float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..schema import Enum, Float, Int, ListOf, Param
from .data import Task
from .quantities import (
    ModeHalfTimes,
    Observer,
    Probe,
    Quantity,
    _finite_or_inf,
    _ModeHalfTimesObserver,
)

__all__ = ["AngularUpdate", "ModeHalfTimesLinearFit", "WeightNorm", "WeightProbe"]


class WeightProbe(Probe, Protocol):
    """A probe that also exposes the weight matrices (the torch engine's ``ModelProbe`` does)."""

    def weight_matrices(self) -> list[np.ndarray]:
        """Each weight matrix ``(S, fan_out, fan_in)``, input layer first, biases excluded."""
        ...


_LAYERS = Param(
    ListOf(Int(ge=0), min_len=1),
    doc="indices of the weight matrices (0 = input layer), e.g. the scale-invariant ones",
)
_START = Param(
    Float(ge=0, lt=1),
    0.5,
    doc="the window starts at this fraction of the steps and ends at the last",
)


class _WindowQuantity(Quantity):
    shape_kind = "scalar"
    PARAMS: dict[str, Param] = {"layers": _LAYERS, "start": _START}

    def shape(self) -> tuple[int, ...]:
        return (len(self.params["layers"]),)

    def first_step(self) -> int:
        return int(np.floor(self.params["start"] * self.horizon))


class AngularUpdate(_WindowQuantity):
    """The angular update per step ``r_t = ‖W_{t+1} − W_t‖_F / ‖W_t‖_F`` of each listed matrix.

    Averaged over the steps ``t`` of the window ``[⌊start·steps⌋, steps − 1]``: ``average: mean``
    gives ``mean_t r_t``, ``rms`` gives ``√(mean_t r_t²)`` (what a random-walk equilibrium predicts:
    ``E‖ΔW‖²`` balances the decay). One number per listed matrix; ``+inf`` if the run diverged.
    """

    kind = "angular_update"
    scale = "log"
    unit = "rad/step"
    PARAMS = {
        **_WindowQuantity.PARAMS,
        "average": Param(Enum(("mean", "rms")), "mean", doc="mean of r_t, or its root mean square"),
    }

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _AngularObserver(
            len(tasks),
            self.params["layers"],
            self.first_step(),
            self.horizon,
            self.params["average"],
        )


class _AngularObserver(Observer):
    def __init__(self, seeds: int, layers: list[int], first: int, last: int, average: str) -> None:
        if last < 1:
            raise ValueError("angular_update needs at least one training step")
        self.layers = list(layers)
        self.first = min(first, last - 1)
        self.steps = frozenset(range(self.first, last + 1))
        self.last = last
        self.average = average
        self.total = np.zeros((seeds, len(self.layers)))
        self.count = 0
        self.previous: list[np.ndarray] | None = None

    def record(self, step: int, probe: Probe) -> None:
        weights = probe.weight_matrices()  # type: ignore[attr-defined]
        if max(self.layers) >= len(weights):
            raise ValueError(
                f"layer {max(self.layers)} requested; the model has {len(weights)} weight matrices"
            )
        current = [weights[i] for i in self.layers]
        if self.previous is not None:
            with np.errstate(all="ignore"):
                r = np.stack(
                    [
                        np.linalg.norm((w - p).reshape(len(w), -1), axis=1)
                        / np.linalg.norm(p.reshape(len(p), -1), axis=1)
                        for w, p in zip(current, self.previous)
                    ],
                    axis=1,
                )
            self.total += r**2 if self.average == "rms" else r
            self.count += 1
        self.previous = current

    def result(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            mean = self.total / max(self.count, 1)
            return _finite_or_inf(np.sqrt(mean) if self.average == "rms" else mean)


class WeightNorm(_WindowQuantity):
    """The Frobenius norm ``‖W_t‖_F`` of each listed matrix, averaged over the steps
    ``⌊start·steps⌋ … steps`` of the window. ``+inf`` if the run diverged."""

    kind = "weight_norm"
    scale = "log"
    unit = "norm"

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _NormObserver(len(tasks), self.params["layers"], self.first_step(), self.horizon)


class _NormObserver(Observer):
    def __init__(self, seeds: int, layers: list[int], first: int, last: int) -> None:
        self.layers = list(layers)
        self.steps = frozenset(range(first, last + 1))
        self.total = np.zeros((seeds, len(self.layers)))
        self.count = 0

    def record(self, step: int, probe: Probe) -> None:
        weights = probe.weight_matrices()  # type: ignore[attr-defined]
        if max(self.layers) >= len(weights):
            raise ValueError(
                f"layer {max(self.layers)} requested; the model has {len(weights)} weight matrices"
            )
        with np.errstate(all="ignore"):
            self.total += np.stack(
                [
                    np.linalg.norm(weights[i].reshape(len(weights[i]), -1), axis=1)
                    for i in self.layers
                ],
                axis=1,
            )
        self.count += 1

    def result(self) -> np.ndarray:
        return _finite_or_inf(self.total / max(self.count, 1))


# --------------------------------------------------------------------------------------------


class ModeHalfTimesLinearFit(ModeHalfTimes):
    """Half-learning times of the teacher's modes, read on the best linear fit of the network.

    At every step the network's outputs ``Ŷ`` on its training inputs ``X`` (``n × d_in``) are fitted
    by least squares, ``J = Ŷᵀ X (XᵀX)⁻¹`` (``= Ŷᵀ X / n`` on exactly whitened inputs), and the
    strength of mode ``α`` is the projection ``u_αᵀ J v_α``; event times as in
    :class:`~harness.components.quantities.ModeHalfTimes`. For a linear network ``J`` is its
    end-to-end map, so both quantities agree. Any model; needs a finite training set.
    """

    kind = "mode_half_times_linear_fit"
    requires_model = frozenset()

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _LinearFitObserver(tasks, self._modes(), self.params["fraction"])


class _FittedMap:
    def __init__(self, fit: np.ndarray) -> None:
        self.fit = fit

    def end_to_end(self) -> np.ndarray:
        return self.fit


class _LinearFitObserver(_ModeHalfTimesObserver):
    def __init__(self, tasks: Sequence[Task], modes: list[int], fraction: float) -> None:
        super().__init__(tasks, modes, fraction)
        self.x: np.ndarray | None = None
        self.project: np.ndarray | None = None

    def record(self, step: int, probe: Probe) -> None:
        if self.x is None:
            data = probe.train_set()
            if data is None:
                raise ValueError(
                    "mode_half_times_linear_fit needs a finite training set (not 'online')"
                )
            self.x = data[0]
            # J = Ŷᵀ X (XᵀX)⁻¹ = Ŷᵀ P with P = X (XᵀX)⁻¹, one (n × d_in) matrix per seed
            gram = np.einsum("sni,snj->sij", self.x, self.x)
            self.project = np.linalg.solve(gram, np.swapaxes(self.x, 1, 2)).swapaxes(1, 2)
        assert self.project is not None
        with np.errstate(all="ignore"):
            fit = np.einsum("sno,sni->soi", probe.predict_each(self.x), self.project)
        super().record(step, _FittedMap(fit))  # type: ignore[arg-type]
