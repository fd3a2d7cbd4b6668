"""Target quantities: what a benchmark measures, per seed, and what predictors forecast.

A quantity has a *shape kind*:

- ``scalar``: one number per sweep point (e.g. the test error at the end of training);
- ``curve``: one number per step of the observation grid ``target.grid`` (e.g. a loss curve);
- ``events``: the (fractional) step at which something first happens, one per event, with
  **censoring**: an event that never happens within the ``steps`` of training is recorded as
  ``+inf`` and scored as "later than the horizon" (see ``docs/statistics.md``);
- ``vector``: a fixed number of distinct numbers per sweep point (e.g. one per layer);
- ``label``: one small non-negative integer per run naming a discrete outcome (a phase), whose
  names the quantity lists in ``labels``; forecast and scored by its most frequent value
  (statistic ``mode``, metric ``mismatch``).

During training an engine hands each quantity's :class:`Observer` a :class:`Probe` at the steps the
observer asks for; observers compute in numpy float64, so they serve every engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol

import numpy as np

from ..schema import Float, Int, Param
from .data import Task

__all__ = [
    "CurveQuantity",
    "GridObserver",
    "ModeHalfTimes",
    "Observer",
    "PopulationLoss",
    "Probe",
    "Quantity",
    "TestLoss",
    "TestMSE",
    "TrainLoss",
]


class Probe(Protocol):
    """What an engine exposes of the ``S`` stacked models it trains (float64 numpy out)."""

    def end_to_end(self) -> np.ndarray:
        """The linear map of each model, ``(S, d_out, d_in)`` (models with capability ``end_to_end``)."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs of each model on shared inputs ``x: (n, d_in)``, shape ``(S, n, d_out)``."""
        ...

    def predict_each(self, x: np.ndarray) -> np.ndarray:
        """Outputs of model ``s`` on its own inputs ``x[s]``: ``x`` is ``(S, n, d_in)``."""
        ...

    def train_set(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Each seed's training set ``(S, n, d_in), (S, n, d_out)``; ``None`` for online training."""
        ...

    def parameters(self) -> list[np.ndarray]:
        """The trained parameters, each with a leading seed axis ``(S, ...)``, in the model's order
        (for an ``mlp``: the weights ``(S, fan_out, fan_in)`` layer by layer, then the biases)."""
        ...

    def preactivations(self, x: np.ndarray) -> list[np.ndarray]:
        """Pre-activations of every layer, each ``(S, n, width)``, the last being the output (models
        with capability ``layers``), on shared inputs ``x: (n, d_in)`` or per-seed inputs
        ``(S, n, d_in)``."""
        ...

    def ntk_max_eigenvalue(self, x: np.ndarray | None = None) -> np.ndarray:
        """Top eigenvalue of each model's empirical NTK ``Θ = J Jᵀ`` on ``x`` divided by its number of
        rows ``n`` (``J = ∂f(x)/∂θ`` over all trained parameters, scaled per parameter by the
        learning-rate factors of the parameterization), shape ``(S,)``. Default ``x``: each seed's
        training set. For the loss ``½·mean‖f − y‖²`` this is the curvature that full-batch GD sees
        in function space (Lewkowycz et al. 2020's ``λ``)."""
        ...


class Observer:
    """Collects one quantity for ``S`` seeds during one training run.

    Attributes:
        steps: the steps at which :meth:`record` must be called (ignored if ``every_step``).
        every_step: call :meth:`record` at every step ``0..steps`` of training.
    """

    every_step: bool = False
    steps: frozenset[int] = frozenset()

    def record(self, step: int, probe: Probe) -> None:
        raise NotImplementedError

    def result(self) -> np.ndarray:
        """Per-seed values, shape ``(S, *quantity.shape())``, float64 (``inf`` = censored/diverged)."""
        raise NotImplementedError


class Quantity:
    """Base class of target quantities.

    Class attributes:
        shape_kind: ``scalar`` | ``curve`` | ``events`` | ``vector`` | ``label``.
        default_statistic: the across-seed statistic forecast unless ``target.statistic`` says otherwise.
        scale: ``log`` when values are positive and span decades (losses, times), else ``linear``.
        needs_grid: whether ``target.grid`` is required.
        requires_model / requires_data: capabilities the model and the data must have.
    """

    kind: ClassVar[str]
    shape_kind: ClassVar[Literal["scalar", "curve", "events", "vector", "label"]]
    PARAMS: ClassVar[dict[str, Param]] = {}
    default_statistic: ClassVar[str] = "mean"
    scale: ClassVar[str] = "log"
    unit: ClassVar[str] = ""
    needs_grid: ClassVar[bool] = False
    requires_model: ClassVar[frozenset[str]] = frozenset()
    requires_data: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self, params: Mapping[str, Any], setting: Mapping[str, Any], grid: Sequence[int] | None
    ) -> None:
        self.params = dict(params)
        self.setting = setting
        self.grid = None if grid is None else np.asarray(grid, dtype=np.int64)
        self.horizon = int(setting.get("steps", 0))

    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        """An observer for ``S`` seeds: their tasks, and their ``eval`` streams (for test sets)."""
        raise NotImplementedError


def _finite_or_inf(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.inf)


class GridObserver(Observer):
    """Records one number per seed at each step of an observation grid."""

    def __init__(self, seeds: int, grid: np.ndarray) -> None:
        self.index = {int(step): i for i, step in enumerate(grid)}
        self.steps = frozenset(self.index)
        self.values = np.full((seeds, grid.size), np.nan)

    def put(self, step: int, values: np.ndarray) -> None:
        """Store one value per seed at ``step`` (non-finite values become ``+inf``)."""
        self.values[:, self.index[step]] = _finite_or_inf(values)

    def result(self) -> np.ndarray:
        return self.values


class CurveQuantity(Quantity):
    """A quantity observed at every step of ``target.grid``: shape ``(len(grid),)``."""

    shape_kind = "curve"
    needs_grid = True

    def shape(self) -> tuple[int, ...]:
        assert self.grid is not None
        return (self.grid.size,)


# --------------------------------------------------------------------------------------------


class PopulationLoss(CurveQuantity):
    """Population loss ``½ E‖f(x) − y‖²`` on the grid steps, computed exactly (no test-set noise).

    Needs a linear model (``end_to_end``) and data with an exact linear risk. A diverged run
    records ``+inf``.
    """

    kind = "population_loss"
    unit = "loss"
    requires_model = frozenset({"end_to_end"})
    requires_data = frozenset({"exact_linear_risk"})

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _PopulationLossObserver(tasks, self.grid)


class _PopulationLossObserver(GridObserver):
    def __init__(self, tasks: Sequence[Task], grid: np.ndarray) -> None:
        super().__init__(len(tasks), grid)
        self.tasks = list(tasks)
        self.shared = all(t is self.tasks[0] for t in self.tasks)

    def record(self, step: int, probe: Probe) -> None:
        w = probe.end_to_end()
        with np.errstate(all="ignore"):
            if self.shared:
                loss = self.tasks[0].population_half_mse(w)
            else:
                loss = np.array([t.population_half_mse(w[s]) for s, t in enumerate(self.tasks)])
        self.put(step, loss)


class TestMSE(Quantity):
    """Population mean squared error ``E‖f(x) − y‖²`` (no ½) at the end of training.

    Computed as exactly as the setting allows, in this order:

    1. a linear model (capability ``end_to_end``) on data with ``exact_linear_risk``: exactly, from the
       learned map (``2 ×`` the task's ``population_half_mse``; label noise included);
    2. a finite pool (``finite_pool``): over the whole pool against its noise-free labels, plus
       ``d_out · σ²`` for the label noise of a fresh test example;
    3. otherwise by Monte Carlo: ``eval_size`` fresh examples per seed, drawn once from its ``eval``
       stream (labels with their noise).
    """

    kind = "test_mse"
    shape_kind = "scalar"
    unit = "mse"
    PARAMS = {
        "eval_size": Param(
            Int(ge=1), 4096, doc="Monte Carlo test examples per seed (when no exact way applies)"
        )
    }

    def shape(self) -> tuple[int, ...]:
        return ()

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        from . import MODELS

        linear = "end_to_end" in MODELS.get(self.setting["model"]["kind"]).capabilities
        if linear and all("exact_linear_risk" in t.capabilities for t in tasks):
            return _ExactLinearMSEObserver(tasks, self.horizon)
        if all("finite_pool" in t.capabilities for t in tasks):
            return _TestMSEObserver(tasks, self.horizon)
        if eval_rngs is None:
            raise ValueError("test_mse on an infinite population needs the seeds' eval streams")
        return _MonteCarloMSEObserver(tasks, eval_rngs, self.horizon, self.params["eval_size"])


class _TestMSEObserver(Observer):
    def __init__(self, tasks: Sequence[Task], final_step: int) -> None:
        if any(t is not tasks[0] for t in tasks):
            raise ValueError("test_mse needs the same finite pool for every seed")
        self.task = tasks[0]
        self.steps = frozenset({final_step})
        self.values = np.full(len(tasks), np.nan)

    def record(self, step: int, probe: Probe) -> None:
        x, y = self.task.evaluation_set()
        with np.errstate(all="ignore"):
            pred = probe.predict(x)
            err = np.mean(np.sum((pred - y[None]) ** 2, axis=-1), axis=-1)
        self.values = _finite_or_inf(err + self.task.d_out * self.task.noise_variance)

    def result(self) -> np.ndarray:
        return self.values


class _ExactLinearMSEObserver(Observer):
    def __init__(self, tasks: Sequence[Task], final_step: int) -> None:
        self.tasks = list(tasks)
        self.steps = frozenset({final_step})
        self.values = np.full(len(tasks), np.nan)

    def record(self, step: int, probe: Probe) -> None:
        w = probe.end_to_end()
        with np.errstate(all="ignore"):
            risk = np.array(
                [2.0 * float(t.population_half_mse(w[s])) for s, t in enumerate(self.tasks)]
            )
        self.values = _finite_or_inf(risk)

    def result(self) -> np.ndarray:
        return self.values


class _MonteCarloMSEObserver(Observer):
    def __init__(
        self,
        tasks: Sequence[Task],
        eval_rngs: Sequence[np.random.Generator],
        final_step: int,
        size: int,
    ) -> None:
        draws = [t.sample(size, rng) for t, rng in zip(tasks, eval_rngs)]
        self.x, self.y = np.stack([x for x, _ in draws]), np.stack([y for _, y in draws])
        self.steps = frozenset({final_step})
        self.values = np.full(len(tasks), np.nan)

    def record(self, step: int, probe: Probe) -> None:
        with np.errstate(all="ignore"):
            err = np.mean(np.sum((probe.predict_each(self.x) - self.y) ** 2, axis=-1), axis=-1)
        self.values = _finite_or_inf(err)

    def result(self) -> np.ndarray:
        return self.values


class ModeHalfTimes(Quantity):
    """Steps at which each teacher mode reaches a fraction of its strength (event times).

    The strength of mode ``α`` is the projection ``u_α(t) = u_αᵀ W(t) v_α`` of the end-to-end map on
    the teacher's singular vectors (a projection, not an SVD of ``W``, which would reorder modes). Its
    event time is the first step at which ``u_α ≥ fraction · s_α``, interpolated linearly between the
    two steps that bracket the crossing; ``+inf`` if it never happens within ``steps`` (censored).
    One event per teacher mode with ``s_α > 0``, in the order the spec lists them.
    """

    kind = "mode_half_times"
    shape_kind = "events"
    default_statistic = "median"
    unit = "steps"
    requires_model = frozenset({"end_to_end"})
    requires_data = frozenset({"teacher_svd"})
    PARAMS = {"fraction": Param(Float(gt=0, lt=1), 0.5, doc="the level, as a fraction of s_α")}

    def _modes(self) -> list[int]:
        return [i for i, s in enumerate(self.setting["data"]["singular_values"]) if s > 0]

    def shape(self) -> tuple[int, ...]:
        return (len(self._modes()),)

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _ModeHalfTimesObserver(tasks, self._modes(), self.params["fraction"])


class _ModeHalfTimesObserver(Observer):
    every_step = True

    def __init__(self, tasks: Sequence[Task], modes: list[int], fraction: float) -> None:
        svds = [t.teacher_svd() for t in tasks]
        self.u = np.stack([u[:, modes] for u, _, _ in svds])  # (S, d_out, r)
        self.v = np.stack([v[:, modes] for _, _, v in svds])  # (S, d_in, r)
        self.level = np.stack([s[modes] for _, s, _ in svds]) * fraction  # (S, r)
        self.times = np.full(self.level.shape, np.inf)
        self.previous: np.ndarray | None = None

    def record(self, step: int, probe: Probe) -> None:
        w = probe.end_to_end()
        strength = np.einsum("sor,soi,sir->sr", self.u, w, self.v)
        pending = np.isinf(self.times)
        if self.previous is None:
            crossed = pending & (strength >= self.level)
            self.times[crossed] = float(step)
        else:
            crossed = pending & (strength >= self.level) & (self.previous < self.level)
            if crossed.any():
                rise = strength - self.previous
                frac = np.divide(
                    self.level - self.previous, rise, out=np.ones_like(rise), where=rise > 0
                )
                self.times[crossed] = (step - 1) + np.clip(frac, 0.0, 1.0)[crossed]
        self.previous = strength

    def result(self) -> np.ndarray:
        return self.times


# --------------------------------------------------------------------------------------------
# losses of any model, on the training set and on a test set


class TrainLoss(CurveQuantity):
    """Training loss ``½·mean over the training set of ‖f(x) − y‖²`` on the grid steps (finite sets)."""

    kind = "train_loss"
    unit = "loss"

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _TrainLossObserver(len(tasks), self.grid)


class _TrainLossObserver(GridObserver):
    def record(self, step: int, probe: Probe) -> None:
        data = probe.train_set()
        if data is None:
            raise ValueError("train_loss needs a finite training set (train_size: online has none)")
        x, y = data
        with np.errstate(all="ignore"):
            loss = 0.5 * np.mean(np.sum((probe.predict_each(x) - y) ** 2, axis=-1), axis=-1)
        self.values[:, self.index[step]] = _finite_or_inf(loss)


class TestLoss(CurveQuantity):
    """Test loss ``½ E‖f(x) − y‖²`` on the grid steps, over a test set.

    On a finite pool the test set is the whole pool with noise-free labels (plus ``½ d_out σ²``), so
    it is the exact population loss; otherwise each seed draws ``eval_size`` fresh examples once from
    its ``eval`` stream (Monte Carlo, the same set at every step).
    """

    kind = "test_loss"
    unit = "loss"
    PARAMS = {
        "eval_size": Param(Int(ge=1), 2048, doc="test examples per seed (infinite populations)")
    }

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        return _TestLossObserver(tasks, eval_rngs, self.grid, self.params["eval_size"])


class _TestLossObserver(GridObserver):
    def __init__(
        self,
        tasks: Sequence[Task],
        eval_rngs: Sequence[np.random.Generator] | None,
        grid: np.ndarray,
        size: int,
    ) -> None:
        super().__init__(len(tasks), grid)
        self.pool = all("finite_pool" in t.capabilities for t in tasks) and all(
            t is tasks[0] for t in tasks
        )
        if self.pool:
            self.x, self.y = tasks[0].evaluation_set()
            self.extra = 0.5 * tasks[0].d_out * tasks[0].noise_variance
        else:
            if eval_rngs is None:
                raise ValueError(
                    "test_loss on an infinite population needs the seeds' eval streams"
                )
            draws = [t.sample(size, rng) for t, rng in zip(tasks, eval_rngs)]
            self.x, self.y = np.stack([x for x, _ in draws]), np.stack([y for _, y in draws])
            self.extra = 0.0

    def record(self, step: int, probe: Probe) -> None:
        with np.errstate(all="ignore"):
            prediction = probe.predict(self.x) if self.pool else probe.predict_each(self.x)
            y = self.y[None] if self.pool else self.y
            loss = 0.5 * np.mean(np.sum((prediction - y) ** 2, axis=-1), axis=-1) + self.extra
        self.values[:, self.index[step]] = _finite_or_inf(loss)
