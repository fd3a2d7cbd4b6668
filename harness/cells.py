"""The measured target as *cells*, with their seed-bootstrap replicates and error functions.

A cell is one number a forecast is compared with: one grid step of one sweep point's curve, one
event, one quantile level, or one derived value (a slope, an optimum) of one group of points. This
module turns per-seed measurements into cells (``statistic`` over seeds, horizon clipping,
derivation across the sweep) and computes, for a forecast, the per-cell errors on the observed
cells and on every bootstrap replicate. :mod:`harness.scoring` aggregates them into verdicts.
Formulas: ``docs/statistics.md``.

The ``discordance`` metric scores an *order* rather than values: cells are ranked within blocks
(the cells of one forecast unit, or with ``tolerance.rank_over`` the same cell of units that differ
only in that swept value), only pairs whose measured order is significant under the seed
bootstrap count, and each cell carries the fraction of its block's significant pairs that the
forecast orders the other way (a predicted tie counts ½).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .derive import argmin_log2, derive_values, point_values, regret
from .hashing import canonical_json
from .measure import Measurements
from .spec import Benchmark, Tolerance
from .stats import bootstrap_index, bootstrap_rng, reduce, replicate

__all__ = ["Cells", "Ranking", "build_cells", "cell_errors"]

SIGNIFICANCE = 0.975  # a measured order counts if at least this share of replicates agree with it


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
class Ranking:
    """The significant measured orders of a ``discordance`` target.

    Attributes:
        first / second: ``(K,)`` the cells of each significant pair.
        sign: ``(K,)`` the observed sign of ``ȳ_first − ȳ_second`` (±1).
        replicated: ``(B, K)`` the same sign on every bootstrap replicate (0 for a tie).
        block_of_pair: ``(K,)`` and block_of_cell: ``(C,)`` the ranking block of each.
        blocks: the number of blocks.
    """

    first: np.ndarray
    second: np.ndarray
    sign: np.ndarray
    replicated: np.ndarray
    block_of_pair: np.ndarray
    block_of_cell: np.ndarray
    blocks: int

    @classmethod
    def build(
        cls, center: np.ndarray, replicates: np.ndarray, block_of_cell: np.ndarray
    ) -> Ranking:
        first, second = [], []
        for block in range(int(block_of_cell.max()) + 1 if block_of_cell.size else 0):
            cells = np.flatnonzero(block_of_cell == block)
            for a_i, a in enumerate(cells):
                for b in cells[a_i + 1 :]:
                    first.append(a)
                    second.append(b)
        first_a = np.asarray(first, dtype=np.int64)
        second_a = np.asarray(second, dtype=np.int64)
        observed = _sign(center[first_a] - center[second_a])
        replicated = _sign(replicates[:, first_a] - replicates[:, second_a])
        agree = np.mean(replicated == observed[None, :], axis=0) if first_a.size else observed
        keep = (observed != 0) & (agree >= SIGNIFICANCE)
        return cls(
            first_a[keep],
            second_a[keep],
            observed[keep],
            replicated[:, keep],
            block_of_cell[first_a[keep]],
            block_of_cell,
            int(block_of_cell.max()) + 1 if block_of_cell.size else 0,
        )

    def errors(
        self, predicted: np.ndarray, measured_sign: np.ndarray, covered: np.ndarray | None
    ) -> np.ndarray:
        """Per-cell discordance ``(..., C)`` for measured pair signs ``(..., K)``."""
        guess = _sign(predicted[self.first] - predicted[self.second])
        wrong = np.where(
            (guess == 0) | (measured_sign == 0), 0.5, (guess != measured_sign).astype(np.float64)
        )
        use = np.ones(self.first.shape, dtype=bool)
        if covered is not None:
            use = covered[self.first] & covered[self.second]
        weight = np.broadcast_to(use.astype(np.float64), wrong.shape)
        totals = np.zeros((*wrong.shape[:-1], self.blocks))
        counts = np.zeros(self.blocks)
        np.add.at(totals, (..., self.block_of_pair), wrong * weight)
        np.add.at(counts, self.block_of_pair, use.astype(np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            per_block = np.where(counts > 0, totals / np.where(counts > 0, counts, 1.0), 0.0)
        return per_block[..., self.block_of_cell]


def _sign(diff: np.ndarray) -> np.ndarray:
    """``sign`` with NaN (``inf − inf``) as a tie."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(diff), 0.0, np.sign(diff))


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
        curves: per group, ``(x, observed curve, replicated curves, offset, replicated offsets)``
            with the offset the anchor's ``log2 x*`` (0 without an anchor) (``regret`` only).
        ranking: the significant measured orders (``discordance`` only).
    """

    center: np.ndarray
    replicates: np.ndarray
    sem: np.ndarray
    unit_of: np.ndarray
    horizon: np.ndarray
    seeds: int
    dropped: int
    tolerance: Tolerance
    curves: list[tuple[np.ndarray, ...]] | None = None
    ranking: Ranking | None = None

    def clip(self, predicted: np.ndarray) -> np.ndarray:
        """Forecasts of events later than the horizon count as "at the horizon"."""
        return np.minimum(predicted, self.horizon)

    def errors(
        self, predicted: np.ndarray, covered: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-cell errors of a forecast ``(C,)`` against the observed cells and every replicate.

        ``covered`` marks the cells with a forecast (the others hold placeholders); only
        ``discordance`` needs it, to leave out pairs with an uncovered side.
        """
        tol = self.tolerance
        if tol.metric == "regret":
            assert self.curves is not None
            observed = np.array(
                [
                    regret(predicted[g] + offset, x, curve)
                    for g, (x, curve, _, offset, _) in enumerate(self.curves)
                ]
            )
            replicated = np.stack(
                [
                    regret(predicted[g] + offsets, x, reps)
                    for g, (x, _, reps, _, offsets) in enumerate(self.curves)
                ],
                axis=-1,
            )
            return observed, replicated
        if tol.metric == "discordance":
            assert self.ranking is not None
            r = self.ranking
            return r.errors(predicted, r.sign, covered), r.errors(predicted, r.replicated, covered)
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
                    regret(self.center[g] + offsets, x, reps)
                    for g, (x, _, reps, _, offsets) in enumerate(self.curves)
                ],
                axis=-1,
            )
        if self.tolerance.metric == "discordance":
            return self.errors(self.center)[1]
        return cell_errors(
            self.center[None, :], self.replicates, self.tolerance.metric, self.tolerance.floor
        )

    def z_scores(self, predicted: np.ndarray, tau: float) -> np.ndarray | None:
        """Signed errors in units of their uncertainty (``docs/statistics.md`` §7); ``None`` for
        metrics without a scale (mismatch, regret, discordance)."""
        tol = self.tolerance
        if tol.metric in ("mismatch", "regret", "discordance"):
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
        replicate(values, index, target.statistic, quantiles=target.quantiles)
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
            derive, grid_of = target.derive, lambda i: points[i].grid
            own = np.stack(
                [point_values(center[point_of == i], derive, grid_of(i)) for i in group.members]
            )  # (P, Cp)
            reps = np.stack(
                [
                    point_values(replicates[:, point_of == i], derive, grid_of(i))
                    for i in group.members
                ],
                axis=1,
            )  # (B, P, Cp)
            value, value_reps = (
                derive_values(x, own, target.derive),
                derive_values(x, reps, target.derive),
            )
            offset, offsets = 0.0, np.zeros(reps.shape[0])
            if group.anchor:  # an anchored argmin: the shift from the anchor's optimum
                ax = np.asarray(group.anchor_x)
                a_own = np.stack([center[point_of == i] for i in group.anchor])
                a_reps = np.stack([replicates[:, point_of == i] for i in group.anchor], axis=1)
                offset, offsets = argmin_log2(ax, a_own)[0], argmin_log2(ax, a_reps)[:, 0]
                value, value_reps = value - offset, value_reps - offsets[:, None]
            derived_center.append(value)
            derived_reps.append(value_reps)
            unit_of.append(np.full(derived_center[-1].shape[-1], group.index))
            curves.append((x, own[:, 0], reps[:, :, 0], offset, offsets))
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
    ranking = None
    if benchmark.tolerance.metric == "discordance":
        ranking = Ranking.build(center, replicates, _blocks(benchmark, point_of))
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
        ranking=ranking,
    )


def _blocks(benchmark: Benchmark, unit_of: np.ndarray) -> np.ndarray:
    """The ranking block of each cell: its unit, or with ``rank_over`` (the unit's swept values
    without that one, the cell's position in its unit)."""
    over = benchmark.tolerance.rank_over
    if over is None:
        return unit_of.astype(np.int64)
    units = benchmark.units
    position = np.zeros(unit_of.shape, dtype=np.int64)
    for u in np.unique(unit_of):
        mask = unit_of == u
        position[mask] = np.arange(int(mask.sum()))
    keys: dict[str, int] = {}
    out = np.empty(unit_of.shape, dtype=np.int64)
    for c, (u, pos) in enumerate(zip(unit_of, position)):
        coords = {k: v for k, v in units[int(u)].coords.items() if k != over}
        out[c] = keys.setdefault(canonical_json([coords, int(pos)]), len(keys))
    return out
