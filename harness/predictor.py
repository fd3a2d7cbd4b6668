"""The predictor interface: a :class:`Problem` in, a :class:`Forecast` or an :class:`Abstain` out.

A predictor forecasts a benchmark's target quantity at one sweep point *from theory*, without
training the benchmark's model on the benchmark's data. It sees the resolved setting, the target
(its quantity, the across-seed statistic to forecast, the observation grid) and a handle to the
data population (:meth:`Problem.population`, seeded apart from every training stream). It never
sees measurements, except calibration data it declares in ``fitted_on``.

Example:
    >>> class Chance:
    ...     name = "chance"
    ...     version = "1"
    ...     kind = "baseline"
    ...     quantities = ("test_mse",)
    ...     def predict(self, problem):
    ...         x, y = problem.population().evaluation_set()
    ...         return Forecast(mean=float((y**2).mean()))
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from .components import DATA
from .components.data import Task
from .hashing import content_hash
from .seeds import population_rng
from .spec import Benchmark, Group, Point, Target

__all__ = ["Abstain", "Forecast", "Predictor", "PredictorInfo", "Problem", "info_of"]


@dataclass(frozen=True)
class Forecast:
    """A forecast of the target at one sweep point.

    Attributes:
        mean: the forecast of the target's across-seed statistic (``Problem.target.statistic``),
            a float or an array of shape ``Problem.shape``. ``+inf`` is allowed (an event that
            never happens, a loss that diverges); NaN is not.
        std: optional forecast of the seed-to-seed standard deviation, same shape.
        notes: free text shown with the forecast.
    """

    mean: Any
    std: Any = None
    notes: str = ""


@dataclass(frozen=True)
class Abstain:
    """The predictor does not apply at this point (shown on the board as coverage, not as an error)."""

    reason: str


@runtime_checkable
class Predictor(Protocol):
    """What a predictor provides. Only ``name``, ``version``, ``quantities`` and ``predict`` are required.

    Attributes:
        name: unique registry name (lowercase, hyphens).
        version: bump it when the predictor's numbers change for a reason the code hash cannot see.
        quantities: target quantities it forecasts (it is not run on other benchmarks).
        kind: ``theory`` or ``baseline`` (optional; default ``theory``).
        fitted_on: benchmark ids whose measurements were used to fit constants (optional;
            empty means zero-shot: a prediction, not a post-diction).
        references: papers, with equation numbers (optional).
        description: one line for the board (optional).
    """

    name: str
    version: str
    quantities: tuple[str, ...]

    def predict(self, problem: Problem) -> Forecast | Abstain: ...


@dataclass(frozen=True)
class PredictorInfo:
    """Metadata of a predictor, normalized (what the board shows)."""

    name: str
    version: str
    kind: str
    quantities: tuple[str, ...]
    fitted_on: tuple[str, ...]
    references: tuple[str, ...]
    description: str
    source: str = ""

    @property
    def zero_shot(self) -> bool:
        return not self.fitted_on


def info_of(predictor: Any, source: str = "") -> PredictorInfo:
    """Read a predictor's metadata, checking the required members."""
    missing = [m for m in ("name", "version", "quantities", "predict") if not hasattr(predictor, m)]
    if missing:
        raise TypeError(
            f"{type(predictor).__name__} is not a predictor: missing {', '.join(missing)}"
        )
    doc = (getattr(predictor, "description", "") or (type(predictor).__doc__ or "")).strip()
    return PredictorInfo(
        name=str(predictor.name),
        version=str(predictor.version),
        kind=str(getattr(predictor, "kind", "theory")),
        quantities=tuple(predictor.quantities),
        fitted_on=tuple(getattr(predictor, "fitted_on", ()) or ()),
        references=tuple(getattr(predictor, "references", ()) or ()),
        description=doc.splitlines()[0] if doc else "",
        source=source,
    )


@dataclass(frozen=True)
class Problem:
    """One sweep point of one benchmark, as a predictor sees it.

    Attributes:
        benchmark: the benchmark id.
        label: the sweep point in words (``"batch_size=8, lr=0.3"``).
        coords: the swept values, ``{dotted path relative to setting: value}``.
        setting: the complete setting at this point (a copy; see ``docs/specs.md``).
        target: quantity, its parameters, the statistic to forecast.
        grid: observation steps (curve quantities), else ``None``.
        shape: the shape the forecast's ``mean`` must have.
        horizon: the number of training steps (events later than this are censored).
        key: content hash of everything the forecast may depend on.
        members: for a target derived across the sweep (``target.derive``), the complete settings of
            the group's points, in increasing ``x``; ``setting`` is then the first of them.
        x: for a derived target, the group's values of ``target.derive.x``.
        anchor_members / anchor_x: for an anchored argmin (the forecast is the shift of
            ``log2 x*`` from the anchor's optimum), the settings and ``x`` values of the anchor.
        member_grids: for a derived target of a curve quantity, the observation steps of each
            member (``grid`` is the first's).
    """

    benchmark: str
    label: str
    coords: Mapping[str, Any]
    setting: Mapping[str, Any]
    target: Target
    grid: np.ndarray | None
    shape: tuple[int, ...]
    horizon: int
    key: str
    members: tuple[Mapping[str, Any], ...] = ()
    x: np.ndarray | None = None
    anchor_members: tuple[Mapping[str, Any], ...] = ()
    anchor_x: np.ndarray | None = None
    member_grids: tuple[np.ndarray, ...] = ()

    POPULATION_STREAM: ClassVar[str] = "population"

    @classmethod
    def from_point(cls, benchmark: Benchmark, point: Point) -> Problem:
        key = content_hash(
            {
                "point": point.key,
                "statistic": benchmark.target.statistic,
                "quantiles": benchmark.target.quantiles,
            }
        )
        return cls(
            benchmark=benchmark.id,
            label=point.label,
            coords=dict(point.coords),
            setting=copy.deepcopy(dict(point.setting)),
            target=benchmark.target,
            grid=None if point.grid is None else np.asarray(point.grid, dtype=np.int64),
            shape=tuple(point.forecast_shape),
            horizon=int(point.setting.get("steps", 0)),
            key=key,
        )

    @classmethod
    def from_group(cls, benchmark: Benchmark, group: Group) -> Problem:
        points = [benchmark.points[i] for i in group.members]
        first = points[0]
        key = content_hash({"group": group.key, "statistic": benchmark.target.statistic})
        return cls(
            benchmark=benchmark.id,
            label=group.label,
            coords=dict(group.coords),
            setting=copy.deepcopy(dict(first.setting)),
            target=benchmark.target,
            grid=None if first.grid is None else np.asarray(first.grid, dtype=np.int64),
            shape=tuple(group.forecast_shape),
            horizon=int(first.setting.get("steps", 0)),
            key=key,
            members=tuple(copy.deepcopy(dict(p.setting)) for p in points),
            x=np.asarray(group.x, dtype=np.float64),
            anchor_members=tuple(
                copy.deepcopy(dict(benchmark.points[i].setting)) for i in group.anchor
            ),
            anchor_x=np.asarray(group.anchor_x, dtype=np.float64) if group.anchor else None,
            member_grids=tuple(
                np.asarray(p.grid, dtype=np.int64) for p in points if p.grid is not None
            ),
        )

    @classmethod
    def from_unit(cls, benchmark: Benchmark, unit: Point | Group) -> Problem:
        """The problem of a forecast unit: a sweep point, or a group of a derived target."""
        return (
            cls.from_group(benchmark, unit)
            if isinstance(unit, Group)
            else cls.from_point(benchmark, unit)
        )

    def get(self, path: str, default: Any = ...) -> Any:
        """A setting value by dotted path, e.g. ``problem.get("optimizer.lr")``."""
        node: Any = self.setting
        for part in path.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif default is not ...:
                return default
            else:
                raise KeyError(f"setting has no {path!r}")
        return node

    def rng(self, purpose: str = "monte-carlo") -> np.random.Generator:
        """A random generator for Monte Carlo predictors, independent of every training stream."""
        return population_rng(self.benchmark, purpose)

    @cached_property
    def _data(self) -> Any:
        return DATA.get(self.setting["data"]["kind"])(self.setting["data"])

    def population(self) -> Task:
        """One draw of the learning problem from the population stream (a :class:`~harness.components.data.Task`).

        For data with a fixed teacher or pool (``gaussian_linear``, ``sphere_relu_teacher``,
        ``digits``) this is exactly the task the training runs see; for data that draw a teacher per
        seed (``whitened_linear_teacher``) it is an independent draw from the same distribution.
        """
        return self._data.draw(population_rng(self.benchmark, self.POPULATION_STREAM))
