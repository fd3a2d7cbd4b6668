"""Targets derived across a sweep: slopes and optima.

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
  through the minimum and its two neighbours in ``log2 x`` (not refined at the ends of the grid).

Predictors forecast the derived value per group. The seed bootstrap recomputes the derived value
from resampled statistics, so slopes and optima get honest intervals. For ``argmin`` the metric
``regret`` scores a forecast ``x̂`` by what it costs on the measured curve:
``ln(ȳ(x̂) / min_j ȳ_j)``, with ``ln ȳ`` interpolated linearly in ``log2 x`` (and clamped to the grid).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .schema import Bool, Checker, Enum, Float, ListOf, Param, Record, Str

__all__ = ["DERIVE", "Derive", "argmin_log2", "derive_values", "regret", "slope"]

DERIVE = Record(
    {
        "kind": Param(
            Enum(("slope", "argmin")),
            doc="slope: log-log slope over x; argmin: log2 of the minimizing x",
        ),
        "x": Param(
            Str(), doc="the swept setting path that varies within a group, e.g. model.width"
        ),
        "log_x": Param(Bool(), True, doc="slope: use ln x"),
        "log_y": Param(Bool(), True, doc="slope: use ln of the statistic"),
        "range": Param(
            ListOf(Float(), min_len=2, max_len=2), None, doc="slope: fit only x in [lo, hi]"
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

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Derive:
        bounds = spec.get("range")
        return cls(
            spec["kind"],
            spec["x"],
            spec["log_x"],
            spec["log_y"],
            None if bounds is None else (float(bounds[0]), float(bounds[1])),
        )

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
        need = 2 if self.kind == "slope" else 3
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


def argmin_log2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log2`` of the minimizing ``x``, parabola-refined: ``y`` is ``(..., P, 1)``; returns ``(..., 1)``."""
    lx = np.log2(x)
    curve = y[..., 0]
    with np.errstate(all="ignore"):
        curve = np.where(np.isnan(curve), np.inf, curve)
        best = np.argmin(curve, axis=-1)
        out = lx[best].astype(np.float64)
        inner = (best > 0) & (best < len(x) - 1)
        if np.any(inner):
            i = np.clip(best, 1, len(x) - 2)
            take = np.take_along_axis
            y0 = take(curve, (i - 1)[..., None], -1)[..., 0]
            y1 = take(curve, i[..., None], -1)[..., 0]
            y2 = take(curve, (i + 1)[..., None], -1)[..., 0]
            x0, x1, x2 = lx[i - 1], lx[i], lx[i + 1]
            # vertex of the parabola through the three points
            num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
            den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
            vertex = x1 - 0.5 * num / den
            ok = inner & np.isfinite(vertex) & (den != 0) & (vertex >= x0) & (vertex <= x2)
            out = np.where(ok, vertex, out)
    return out[..., None]


def derive_values(x: np.ndarray, y: np.ndarray, derive: Derive) -> np.ndarray:
    """The derived value of a group from its per-point statistics ``y`` (``(..., P, C)``)."""
    if derive.kind == "slope":
        return slope(x, y, derive)
    return argmin_log2(x, y)


def regret(predicted_log2: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``ln(ȳ(x̂)/min ȳ)`` on the measured curve ``y`` (``(..., P)``), interpolating ``ln ȳ`` in ``log2 x``.

    ``predicted_log2`` broadcasts against the leading axes of ``y``; a forecast outside the grid is
    clamped to its nearest end. ``inf`` if the curve is not positive there.
    """
    lx = np.log2(x)
    with np.errstate(all="ignore"):
        logs = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), np.inf)
        logs = np.where(np.isnan(y), np.inf, logs)
        target = np.clip(np.asarray(predicted_log2, dtype=np.float64), lx[0], lx[-1])
        j = np.clip(np.searchsorted(lx, target, side="right") - 1, 0, len(lx) - 2)
        t = (target - lx[j]) / (lx[j + 1] - lx[j])
        take = np.take_along_axis
        left = take(logs, np.broadcast_to(j, logs.shape[:-1])[..., None], -1)[..., 0]
        right = take(logs, np.broadcast_to(j + 1, logs.shape[:-1])[..., None], -1)[..., 0]
        at = np.where(t == 0, left, np.where(t == 1, right, (1 - t) * left + t * right))
        out = at - np.min(logs, axis=-1)
    return np.where(np.isnan(out), np.inf, out)
