"""The measured target as *cells*, with their seed-bootstrap replicates and error functions.

A cell is one number a forecast is compared with: one grid step of one sweep point's curve, one
event, one quantile level, or one derived value (a slope, an optimum) of one group of points. This
module turns per-seed measurements into cells (``statistic`` over seeds, horizon clipping,
derivation across the sweep) and computes, for a forecast, the per-cell errors on the observed
cells and on every bootstrap replicate. :mod:`harness.scoring` aggregates them into verdicts.
Formulas: ``docs/statistics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .derive import argmin_log2, derive_values, regret
from .measure import Measurements
from .spec import Benchmark, Tolerance
from .stats import bootstrap_index, bootstrap_rng, reduce

__all__ = ["Cells", "build_cells", "cell_errors"]


def cell_errors(
    predicted: np.ndarray, measured: np.ndarray, metric: str, floor: float = 0.0
) -> np.ndarray:
    """Per-cell error (broadcasting). Equal values (``+inf`` included) have error 0."""
    p = np.asarray(predicted, dtype=np.float64)
    m = np.asarray(measured, dtype=np.float64)
    with np.errstate(all="ignore"):
        if metric == "log_ratio":
            a, b = p + floor, m + floor
            out = np.abs(np.log(a / b))
            out = np.where((a <= 0) | (b <= 0), np.inf, out)
        elif metric == "rel_error":
            out = np.abs(p - m) / np.abs(m)
        elif metric == "abs_error":
            out = np.abs(p - m)
        elif metric == "mismatch":
            out = (p != m).astype(np.float64)
        else:
            raise ValueError(f"unknown metric {metric!r}")
        out = np.where(p == m, 0.0, out)
    return np.where(np.isnan(out), np.inf, out)


@dataclass
class Cells:
    """Cells of one benchmark tier.

    Attributes:
        center: ``(C,)`` the observed statistic (or derived value) of each cell.
        replicates: ``(B, C)`` the same on every bootstrap replicate of the seeds.
        sem: ``(C,)`` bootstrap standard error of each cell.
        unit_of: ``(C,)`` the forecast unit (point or group) each cell belongs to.
        horizon: ``(C,)`` censoring horizon of event cells (``+inf`` otherwise).
        seeds: complete seeds used; dropped: incomplete seeds left out.
        curves / xs: per group, the observed and replicated curves and the x grid (``regret`` only).
    """

    center: np.ndarray
    replicates: np.ndarray
    sem: np.ndarray
    unit_of: np.ndarray
    horizon: np.ndarray
    seeds: int
    dropped: int
    tolerance: Tolerance
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def clip(self, predicted: np.ndarray) -> np.ndarray:
        """Forecasts of events later than the horizon count as "at the horizon"."""
        return np.minimum(predicted, self.horizon)

    def errors(self, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-cell errors of a forecast ``(C,)`` against the observed cells and every replicate."""
        tol = self.tolerance
        if tol.metric == "regret":
            assert self.curves is not None
            observed = np.array(
                [regret(predicted[g], x, curve) for g, (x, curve, _) in enumerate(self.curves)]
            )
            replicated = np.stack(
                [regret(predicted[g], x, reps) for g, (x, _, reps) in enumerate(self.curves)],
                axis=-1,
            )
            return observed, replicated
        return (
            cell_errors(predicted, self.center, tol.metric, tol.floor),
            cell_errors(predicted[None, :], self.replicates, tol.metric, tol.floor),
        )

    def oracle(self) -> np.ndarray:
        """``(B, C)`` errors of a forecast equal to the observed cells, on every replicate."""
        if self.tolerance.metric == "regret":
            assert self.curves is not None
            return np.stack(
                [
                    regret(argmin_log2(x, curve[:, None])[0], x, reps)
                    for x, curve, reps in self.curves
                ],
                axis=-1,
            )
        return cell_errors(
            self.center[None, :], self.replicates, self.tolerance.metric, self.tolerance.floor
        )

    def z_scores(self, predicted: np.ndarray, tau: float) -> np.ndarray | None:
        """Signed errors in units of their uncertainty (``docs/statistics.md`` §7); ``None`` for
        metrics without a scale (mismatch, regret)."""
        tol = self.tolerance
        if tol.metric in ("mismatch", "regret"):
            return None
        with np.errstate(all="ignore"):
            if tol.metric == "log_ratio":
                delta = np.log((predicted + tol.floor) / (self.center + tol.floor))
                sigma = self.sem / np.abs(self.center + tol.floor)
                z = delta / np.sqrt(sigma**2 + tau**2)
            elif tol.metric == "abs_error":
                z = (predicted - self.center) / np.sqrt(self.sem**2 + tau**2)
            else:
                z = (predicted - self.center) / np.sqrt(self.sem**2 + (tau * self.center) ** 2)
            return np.where(predicted == self.center, 0.0, z)


def build_cells(benchmark: Benchmark, measurements: Measurements) -> Cells | None:
    """Cells of a benchmark tier from its measurements; ``None`` if a point has no measurement."""
    target = benchmark.target
    points = benchmark.points
    blocks = [measurements.values[p.index].reshape(benchmark.seeds, -1) for p in points]
    if any(np.all(np.isnan(block)) for block in blocks):
        return None
    values = np.concatenate(blocks, axis=1)
    complete = ~np.any(np.isnan(values), axis=1)
    values = values[complete]
    events = target.quantity_class.shape_kind == "events"
    widths = [block.shape[1] for block in blocks]
    horizon = np.concatenate(
        [
            np.full(w, float(p.setting["steps"]) if events else np.inf)
            for p, w in zip(points, widths)
        ]
    )
    values = np.minimum(values, horizon)
    n = values.shape[0]
    index = bootstrap_index(max(n, 1), bootstrap_rng(benchmark.id, benchmark.tier))
    center = reduce(values, target.statistic, quantiles=target.quantiles)
    replicates = (
        reduce(values[index], target.statistic, axis=1, quantiles=target.quantiles)
        if n
        else center[None]
    )
    point_of = np.concatenate([np.full(w, p.index) for p, w in zip(points, widths)])
    if target.quantiles:  # a trailing axis of quantile levels becomes more cells
        q = len(target.quantiles)
        center, replicates = center.reshape(-1), replicates.reshape(replicates.shape[0], -1)
        point_of, horizon = np.repeat(point_of, q), np.repeat(horizon, q)
    curves = None
    if target.derive is not None:
        derived_center, derived_reps, unit_of, curves = [], [], [], []
        for group in benchmark.groups:
            x = np.asarray(group.x)
            own = np.stack([center[point_of == i] for i in group.members])  # (P, Cp)
            reps = np.stack(
                [replicates[:, point_of == i] for i in group.members], axis=1
            )  # (B, P, Cp)
            derived_center.append(derive_values(x, own, target.derive))
            derived_reps.append(derive_values(x, reps, target.derive))
            unit_of.append(np.full(derived_center[-1].shape[-1], group.index))
            curves.append((x, own[:, 0], reps[:, :, 0]))
        center = np.concatenate(derived_center)
        replicates = np.concatenate(derived_reps, axis=-1)
        point_of = np.concatenate(unit_of)
        horizon = np.full(center.shape, np.inf)
    with np.errstate(invalid="ignore"):
        sem = (
            np.std(replicates, axis=0) * np.sqrt(n / (n - 1))
            if n > 1
            else np.full(center.shape, np.nan)
        )
    sem = np.where(np.isnan(sem), np.inf, sem)
    return Cells(
        center=center,
        replicates=replicates,
        sem=sem,
        unit_of=point_of,
        horizon=horizon,
        seeds=n,
        dropped=int((~complete).sum()),
        tolerance=benchmark.tolerance,
        curves=curves if benchmark.tolerance.metric == "regret" else None,
    )
