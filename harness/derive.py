"""Targets derived across a sweep: slopes, optima and minima.

Some theories predict a relation *between* sweep points rather than each point's value: a scaling
exponent (the log-log slope of a quantity in width), the learning rate that minimizes the loss at
each width. A benchmark declares this with ``target.derive``::

    target:
      quantity: feature_update_rms
      derive: {kind: slope, x: model.width, log_x: true, log_y: true, range: [256, 4096]}

The sweep points are partitioned into **groups**: points that agree on every swept value except
``x``. Within a group the per-point statistics ``ȳ_j`` (over seeds) are turned into one derived
value per cell:

- ``slope``: the ordinary least-squares slope of ``ln ȳ`` (or ``ȳ``) against ``ln x`` (or ``x``)
  over the points with ``x`` in ``range``;
- ``argmin``: ``log2`` of the ``x`` minimizing a scalar ``ȳ``, refined by the vertex of the parabola
  through the minimum and its two neighbours in ``log2 x`` (not refined at the ends of the grid);
- ``min``: the smallest ``ȳ_j`` of the group, per cell (e.g. the loss at the optimal learning rate);
- ``steps_to``: for a curve quantity, the fewest steps over the group to reach ``level``: per point
  the first step at which the statistic's curve ``ȳ_j(t)`` falls to ``level`` or below (linear in
  steps between the two grid steps that bracket the crossing; the horizon if it never does), then
  the smallest over the group. McCandlish et al. 2018 (arXiv:1812.06162, sec. 2.3) count the steps
  to a target loss this way: on the mean training curve, at the best learning rate per batch size.

An ``argmin`` may be **anchored** (``anchor: {model.widths: [64, 64]}``): the derived value of a
group is then the *shift* ``log2 x*(group) − log2 x*(anchor)`` of its optimum from the optimum of
its anchor, the points whose swept values equal the group's with the anchor's values substituted.
This is a transfer target ("tune at the base width, move the learning rate by the forecast shift"):
theories such as μP or the batch-size scaling rules predict how the optimum moves, not where it is.
Anchor groups are references, not forecast units.

Predictors forecast the derived value per group. The seed bootstrap recomputes the derived value
from resampled statistics, so slopes and optima get honest intervals. For ``argmin`` the metric
``regret`` scores a forecast ``x̂`` by what it costs on the measured curve,
``ln(ȳ(x̂) / ȳ_min)``: near the measured minimum ``ȳ`` is the parabola that refines the argmin
(so an exact forecast has regret 0), elsewhere ``ln ȳ`` is interpolated linearly in ``log2 x``;
``x̂`` is clamped to the grid, and for an anchored target ``x̂ = x*(anchor) + forecast shift``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .schema import Bool, Checker, Enum, Float, ListOf, MappingOf, Param, Record, Str, Validator

__all__ = [
    "DERIVE",
    "Derive",
    "argmin_log2",
    "crossing_steps",
    "derive_values",
    "point_values",
    "regret",
    "slope",
]


class _AnyValue(Validator):
    """Any YAML value (a swept coordinate: a number, text, a list or a mapping)."""

    def check(self, value: Any, path: str, checker: Checker) -> Any:
        return value

    def describe(self) -> str:
        return "a swept value"


DERIVE = Record(
    {
        "kind": Param(
            Enum(("slope", "argmin", "min", "steps_to")),
            doc="slope: log-log slope over x; argmin: log2 of the minimizing x; min: the minimum; "
            "steps_to: the fewest steps over x for the curve to fall to level",
        ),
        "x": Param(
            Str(), doc="the swept setting path that varies within a group, e.g. model.width"
        ),
        "log_x": Param(Bool(), True, doc="slope: use ln x"),
        "log_y": Param(Bool(), True, doc="slope: use ln of the statistic"),
        "range": Param(
            ListOf(Float(), min_len=2, max_len=2), None, doc="slope: fit only x in [lo, hi]"
        ),
        "level": Param(
            Float(gt=0), None, doc="steps_to: the level the curve statistic must fall to"
        ),
        "anchor": Param(
            MappingOf(_AnyValue()),
            None,
            doc="argmin: forecast the shift of log2 x* from the group with these swept values",
        ),
    },
    what="derive",
)


@dataclass(frozen=True)
class Derive:
    """A validated ``target.derive`` block."""

    kind: str
    x: str
    log_x: bool = True
    log_y: bool = True
    range: tuple[float, float] | None = None
    anchor: Mapping[str, Any] | None = None
    level: float | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Derive:
        bounds = spec.get("range")
        return cls(
            spec["kind"],
            spec["x"],
            spec["log_x"],
            spec["log_y"],
            None if bounds is None else (float(bounds[0]), float(bounds[1])),
            spec.get("anchor"),
            None if spec.get("level") is None else float(spec["level"]),
        )

    def hashed(self) -> dict[str, Any]:
        """The fields that enter content hashes (``anchor`` and ``level`` only when set, so keys of
        earlier targets stay stable)."""
        out = dict(self.__dict__)
        for optional in ("anchor", "level"):
            if out[optional] is None:
                del out[optional]
        return out

    def mask(self, x: np.ndarray) -> np.ndarray:
        if self.range is None:
            return np.ones(x.shape, dtype=bool)
        return (x >= self.range[0]) & (x <= self.range[1])

    def check(
        self, x: Sequence[float], cells: int, path: str, checker: Checker, label: str
    ) -> None:
        """Problems with one group: too few points, non-positive x on a log axis, a non-scalar argmin."""
        xs = np.asarray(x, dtype=np.float64)
        used = int(self.mask(xs).sum())
        need = {"slope": 2, "argmin": 3, "min": 1, "steps_to": 1}[self.kind]
        if used < need:
            checker.issue(
                path,
                f"group [{label}] has {used} point(s) in range; {self.kind} needs at least {need}",
            )
        if (self.kind == "argmin" or self.log_x) and np.any(xs <= 0):
            checker.issue(path, f"group [{label}]: {self.x} must be positive for a log axis")
        if self.kind == "argmin" and cells != 1:
            checker.issue(
                path, f"argmin needs a scalar quantity; this one has {cells} cells per point"
            )
        if self.anchor is not None and self.kind != "argmin":
            checker.issue(f"{path}.anchor", "only an argmin can be anchored")
        if (self.kind == "steps_to") != (self.level is not None):
            checker.issue(f"{path}.level", "steps_to needs a level; only steps_to takes one")


def slope(x: np.ndarray, y: np.ndarray, derive: Derive) -> np.ndarray:
    """OLS slope over the group's points: ``y`` is ``(..., P, C)``, ``x`` is ``(P,)``; returns ``(..., C)``."""
    keep = derive.mask(x)
    xs = np.log(x[keep]) if derive.log_x else x[keep]
    ys = y[..., keep, :]
    with np.errstate(all="ignore"):
        if derive.log_y:
            ys = np.where(ys > 0, np.log(np.where(ys > 0, ys, 1.0)), np.nan)
        xc = xs - xs.mean()
        return np.einsum("p,...pc->...c", xc, ys - ys.mean(axis=-2, keepdims=True)) / np.sum(xc**2)


def _parabola(lx: np.ndarray, curve: np.ndarray) -> tuple[np.ndarray, ...]:
    """The parabola through the grid minimum of ``curve`` (``(..., P)``) and its two neighbours.

    Returns ``(best, i, vertex, ok, y0, y1, y2)``: the grid argmin, the clipped centre index, the
    vertex in ``log2 x``, whether the refinement applies (an interior minimum, a finite vertex inside
    the bracket) and the three values.
    """
    with np.errstate(all="ignore"):
        curve = np.where(np.isnan(curve), np.inf, curve)
        best = np.argmin(curve, axis=-1)
        inner = (best > 0) & (best < len(lx) - 1)
        i = np.clip(best, 1, len(lx) - 2)
        take = np.take_along_axis
        y0 = take(curve, (i - 1)[..., None], -1)[..., 0]
        y1 = take(curve, i[..., None], -1)[..., 0]
        y2 = take(curve, (i + 1)[..., None], -1)[..., 0]
        x0, x1, x2 = lx[i - 1], lx[i], lx[i + 1]
        num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
        den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
        vertex = x1 - 0.5 * num / den
        ok = inner & np.isfinite(vertex) & (den != 0) & (vertex >= x0) & (vertex <= x2)
    return best, i, vertex, ok, y0, y1, y2


def _parabola_at(
    t: np.ndarray, lx: np.ndarray, i: np.ndarray, y0: np.ndarray, y1: np.ndarray, y2: np.ndarray
) -> np.ndarray:
    """The parabola through ``(lx[i−1], y0), (lx[i], y1), (lx[i+1], y2)`` at ``t`` (Lagrange form)."""
    x0, x1, x2 = lx[i - 1], lx[i], lx[i + 1]
    with np.errstate(all="ignore"):
        return (
            y0 * (t - x1) * (t - x2) / ((x0 - x1) * (x0 - x2))
            + y1 * (t - x0) * (t - x2) / ((x1 - x0) * (x1 - x2))
            + y2 * (t - x0) * (t - x1) / ((x2 - x0) * (x2 - x1))
        )


def argmin_log2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log2`` of the minimizing ``x``, parabola-refined: ``y`` is ``(..., P, 1)``; returns ``(..., 1)``."""
    lx = np.log2(x)
    best, _, vertex, ok, *_ = _parabola(lx, y[..., 0])
    return np.where(ok, vertex, lx[best].astype(np.float64))[..., None]


def crossing_steps(grid: np.ndarray, curve: np.ndarray, level: float) -> np.ndarray:
    """First step at which ``curve`` (``(..., T)`` on the steps ``grid``) is ``≤ level``: ``(..., 1)``.

    Between the bracketing grid steps ``g_{i−1} < g_i`` the crossing is placed linearly,
    ``g_{i−1} + (g_i − g_{i−1})(ȳ_{i−1} − level)/(ȳ_{i−1} − ȳ_i)``; ``g_0`` if the curve starts at
    or below the level; ``g_{T−1}`` (the horizon: censored) if it never gets there. NaN counts as
    above every level.
    """
    g = np.asarray(grid, dtype=np.float64)
    c = np.where(np.isnan(curve), np.inf, np.asarray(curve, dtype=np.float64))
    below = c <= level
    first = np.argmax(below, axis=-1)[..., None]
    hit = np.take_along_axis(below, first, -1)[..., 0]
    before = np.maximum(first - 1, 0)
    prev = np.take_along_axis(c, before, -1)[..., 0]
    here = np.take_along_axis(c, first, -1)[..., 0]
    with np.errstate(all="ignore"):
        frac = np.clip((prev - level) / (prev - here), 0.0, 1.0)
    frac = np.where(np.isfinite(frac), frac, 1.0)
    g_prev, g_here = g[before[..., 0]], g[first[..., 0]]
    steps = np.where(first[..., 0] == 0, g[0], g_prev + frac * (g_here - g_prev))
    return np.where(hit, steps, g[-1])[..., None]


def point_values(y: np.ndarray, derive: Derive, grid: np.ndarray | None) -> np.ndarray:
    """A point's statistic as the derivation uses it: its crossing step for ``steps_to`` (``(..., 1)``),
    else unchanged."""
    if derive.kind != "steps_to":
        return y
    assert grid is not None and derive.level is not None
    return crossing_steps(grid, y, derive.level)


def derive_values(x: np.ndarray, y: np.ndarray, derive: Derive) -> np.ndarray:
    """The derived value of a group from its per-point values ``y`` (``(..., P, C)``; for
    ``steps_to``, the crossing steps of :func:`point_values`)."""
    if derive.kind == "slope":
        return slope(x, y, derive)
    if derive.kind in ("min", "steps_to"):
        with np.errstate(invalid="ignore"):
            return np.min(np.where(np.isnan(y), np.inf, y), axis=-2)
    return argmin_log2(x, y)


def regret(predicted_log2: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``ln(ȳ(x̂)/ȳ_min)`` on the measured curve ``y`` (``(..., P)``); see the module docstring.

    Between the neighbours of the grid minimum ``ȳ`` is the parabola that refines the argmin (when
    it applies and stays positive) and ``ȳ_min`` its vertex value, so that the measured optimum has
    regret 0; elsewhere ``ln ȳ`` is interpolated linearly in ``log2 x`` and ``ȳ_min`` is the grid
    minimum. ``predicted_log2`` broadcasts against the leading axes of ``y``; a forecast outside the
    grid is clamped to its nearest end. ``inf`` if the curve is not positive there.
    """
    lx = np.log2(x)
    with np.errstate(all="ignore"):
        logs = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.inf)
        logs = np.where(np.isnan(y), np.inf, logs)
        target = np.clip(np.asarray(predicted_log2, dtype=np.float64), lx[0], lx[-1])
        target = np.broadcast_to(target, logs.shape[:-1])
        j = np.clip(np.searchsorted(lx, target, side="right") - 1, 0, len(lx) - 2)
        t = (target - lx[j]) / (lx[j + 1] - lx[j])
        take = np.take_along_axis
        left = take(logs, j[..., None], -1)[..., 0]
        right = take(logs, (j + 1)[..., None], -1)[..., 0]
        at = np.where(t == 0, left, np.where(t == 1, right, (1 - t) * left + t * right))
        floor = np.min(logs, axis=-1)
        _, i, vertex, ok, y0, y1, y2 = _parabola(lx, y)
        low = _parabola_at(vertex, lx, i, y0, y1, y2)
        ok = ok & (low > 0)
        near = ok & (target >= lx[i - 1]) & (target <= lx[i + 1])
        value = _parabola_at(target, lx, i, y0, y1, y2)
        at = np.where(near, np.log(np.where(near, value, 1.0)), at)
        floor = np.where(ok, np.log(np.where(ok, low, 1.0)), floor)
        out = at - floor
    return np.where(np.isnan(out), np.inf, out)
