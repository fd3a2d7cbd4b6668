"""The resolved form of a benchmark spec: :class:`Benchmark`, its :class:`Point` and :class:`Group`
units, :class:`Target` and :class:`Tolerance` (built by :mod:`harness.spec`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .components import QUANTITIES
from .derive import Derive

__all__ = [
    "PILLARS",
    "PILLAR_TITLES",
    "TIERS",
    "Benchmark",
    "Group",
    "Point",
    "Target",
    "Tolerance",
]

PILLARS = ("solvable", "limits", "laws", "hyperparameters", "universal")
PILLAR_TITLES = {
    "solvable": "Solvable idealized settings",
    "limits": "Tractable limits",
    "laws": "Simple mathematical laws",
    "hyperparameters": "Theories of hyperparameters",
    "universal": "Universal behaviors",
}
TIERS = ("smoke", "default", "full")


@dataclass(frozen=True)
class Target:
    """The quantity a benchmark measures and predictors forecast.

    Attributes:
        quantity: name in :data:`harness.components.QUANTITIES`.
        params: the quantity's normalized parameters.
        statistic: the across-seed statistic forecast: ``mean``, ``median``, ``logmean``
            (``exp(mean(ln y))``), ``mode`` (labels) or ``quantiles`` (a distribution, forecast by
            its quantiles at the levels ``quantiles``).
        grid: the grid spec as written (resolved per point into :attr:`Point.grid`).
        derive: a target derived across the sweep (:mod:`harness.derive`), or ``None``.
        quantiles: quantile levels for ``statistic: quantiles``.
    """

    quantity: str
    params: Mapping[str, Any]
    statistic: str
    grid: Any = None
    derive: Derive | None = None
    quantiles: tuple[float, ...] | None = None

    @property
    def quantity_class(self) -> type:
        return QUANTITIES.get(self.quantity)


@dataclass(frozen=True)
class Tolerance:
    """How forecasts are scored; see ``docs/statistics.md``."""

    metric: str
    value: float
    aggregate: str = "mean"
    floor: float = 0.0
    z_floor: float = 0.02
    rank_over: str | None = None


@dataclass(frozen=True)
class Point:
    """One sweep point of a resolved benchmark tier.

    Attributes:
        index: position in the sweep.
        coords: the swept values, as ``{dotted path relative to setting: value}``.
        label: a short human-readable form of ``coords``.
        setting: the complete, normalized setting at this point.
        grid: observation steps for curve targets, else ``None``.
        shape: the shape of the target at this point (per seed).
        key: content hash of everything that changes a measured number at this point.
    """

    index: int
    coords: Mapping[str, Any]
    label: str
    setting: Mapping[str, Any]
    grid: tuple[int, ...] | None
    shape: tuple[int, ...]
    key: str
    forecast_shape: tuple[int, ...] = ()

    @property
    def members(self) -> tuple[int, ...]:
        return (self.index,)


@dataclass(frozen=True)
class Group:
    """Sweep points that differ only in the derived target's ``x`` (see :mod:`harness.derive`).

    Attributes:
        index: position among the groups.
        label: the group's fixed sweep values in words (``"default"`` if nothing else is swept).
        coords: the group's fixed sweep values.
        members: indices of its points, sorted by ``x``.
        x: the ``x`` values of the members.
        forecast_shape: the shape of the derived value a predictor forecasts.
        key: content hash of the group's point keys and the derive block.
        anchor: for an anchored argmin, the points of the group's anchor, sorted by ``x``.
        anchor_x: their ``x`` values.
    """

    index: int
    label: str
    coords: Mapping[str, Any]
    members: tuple[int, ...]
    x: tuple[float, ...]
    forecast_shape: tuple[int, ...]
    key: str
    anchor: tuple[int, ...] = ()
    anchor_x: tuple[float, ...] = ()


@dataclass(frozen=True)
class Benchmark:
    """A benchmark spec resolved at one tier."""

    id: str
    version: int
    pillar: str
    title: str
    claim: str
    references: tuple[str, ...]
    open_directions: tuple[int, ...]
    tier: str
    seeds: int
    target: Target
    tolerance: Tolerance
    baseline: str
    budget_seconds: float
    points: tuple[Point, ...]
    path: str
    spec_hash: str = field(default="")
    groups: tuple[Group, ...] = ()

    @property
    def seed_indices(self) -> range:
        return range(self.seeds)

    @property
    def units(self) -> tuple[Point, ...] | tuple[Group, ...]:
        """What predictors forecast: the groups of a derived target, else the sweep points."""
        return self.groups if self.target.derive is not None else self.points

    def point(self, index: int) -> Point:
        return self.points[index]


# --------------------------------------------------------------------------------------------
# helpers
