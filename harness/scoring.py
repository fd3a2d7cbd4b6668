"""Scoring forecasts against measurements: errors, verdicts, skill and the noise ceiling.

Every formula here is written out in ``docs/statistics.md``; in brief, for one benchmark tier:

- the target is flattened into *cells* (sweep point × grid step / event); ``ȳ_c`` is the
  across-seed statistic of cell ``c`` and ``ŷ_c`` the forecast;
- per cell an error ``e_c`` (``log_ratio`` = ``|ln((ŷ+f)/(ȳ+f))|``, ``rel_error``, ``abs_error``),
  with event times clipped at the training horizon first (censoring);
- the **headline error** ``E = aggregate_c e_c`` (mean by default);
- a 95% interval ``[E_lo, E_hi]`` from the joint seed bootstrap, widened for small seed counts;
- the **verdict**: ``pass`` if ``E_hi <= tol``, ``fail`` if ``E_lo > tol``, else ``inconclusive``
  (also with fewer than :data:`~harness.stats.MIN_SEEDS` seeds);
- the **noise ceiling**: the expected ``E`` of an oracle that forecasts the true statistic exactly,
  given this many seeds (what a perfect theory would score);
- **skill** against the benchmark's baseline: ``1 − E / E_baseline`` on the same cells;
- per-cell z-scores ``z_c = δ_c / √(σ_c² + τ²)`` in the metric's own scale, their
  ``χ²/dof`` (without the floor ``τ``) and the fraction with ``|z| ≤ 2``.

Scores are recomputed from stored forecasts and measurements, never stored as truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .measure import Measurements
from .predict import PredictionRecord
from .spec import Benchmark, Tolerance
from .stats import MIN_SEEDS, bootstrap_rng, reduce, resample, small_sample_factor

__all__ = ["VERDICTS", "PointScore", "Score", "aggregate", "cell_errors", "score_benchmark"]

VERDICTS = ("pass", "fail", "inconclusive", "abstain", "error", "missing")


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
        else:
            raise ValueError(f"unknown metric {metric!r}")
        out = np.where(p == m, 0.0, out)
    return np.where(np.isnan(out), np.inf, out)


def aggregate(errors: np.ndarray, how: str, axis: int = -1) -> np.ndarray:
    """Combine per-cell errors: ``mean``, ``median``, ``max`` or ``rms``."""
    with np.errstate(all="ignore"):
        if how == "mean":
            return np.mean(errors, axis=axis)
        if how == "median":
            return np.median(errors, axis=axis)
        if how == "max":
            return np.max(errors, axis=axis)
        if how == "rms":
            return np.sqrt(np.mean(errors**2, axis=axis))
    raise ValueError(f"unknown aggregate {how!r}")


def _signed(
    predicted: np.ndarray, measured: np.ndarray, sem: np.ndarray, tol: Tolerance, tau: float
) -> np.ndarray:
    """z-scores in the metric's scale (see module docstring)."""
    with np.errstate(all="ignore"):
        if tol.metric == "log_ratio":
            delta = np.log((predicted + tol.floor) / (measured + tol.floor))
            sigma = sem / np.abs(measured + tol.floor)
            z = delta / np.sqrt(sigma**2 + tau**2)
        else:
            z = (predicted - measured) / np.sqrt(sem**2 + (tau * measured) ** 2)
        z = np.where(predicted == measured, 0.0, z)
    return z


@dataclass(frozen=True)
class PointScore:
    """One sweep point of a score: the measured statistic (± its standard error) and the forecast."""

    index: int
    label: str
    status: str
    measured: np.ndarray
    sem: np.ndarray
    predicted: np.ndarray | None = None
    error: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Score:
    """The score of one predictor on one benchmark tier (see module docstring)."""

    benchmark: str
    tier: str
    predictor: str
    verdict: str
    tolerance: float
    metric: str
    aggregate: str
    seeds: int
    error: float | None = None
    error_low: float | None = None
    error_high: float | None = None
    noise_ceiling: float | None = None
    skill: float | None = None
    coverage: float = 0.0
    chi2_dof: float | None = None
    z_within_2: float | None = None
    message: str = ""
    points: tuple[PointScore, ...] = field(default_factory=tuple)

    @property
    def at_noise_ceiling(self) -> bool | None:
        """Whether the error is within the seed noise: ``E <= ceiling`` or the interval reaches it."""
        if self.error is None or self.noise_ceiling is None or self.error_low is None:
            return None
        return bool(self.error <= self.noise_ceiling or self.error_low <= self.noise_ceiling)


@dataclass
class _Cells:
    """The measured target flattened into cells, with the bootstrap replicates."""

    values: np.ndarray  # (S, C) per-seed values, horizon-clipped
    center: np.ndarray  # (C,) statistic
    replicates: np.ndarray  # (B, C)
    sem: np.ndarray  # (C,)
    point_of: np.ndarray  # (C,) point index of each cell
    horizon: np.ndarray  # (C,) censoring horizon (+inf for non-event quantities)
    seeds: int
    dropped: int


def _cells(benchmark: Benchmark, measurements: Measurements) -> _Cells | None:
    points = benchmark.points
    blocks = [measurements.values[p.index].reshape(benchmark.seeds, -1) for p in points]
    if any(np.all(np.isnan(block)) for block in blocks):
        return None
    values = np.concatenate(blocks, axis=1)
    complete = ~np.any(np.isnan(values), axis=1)
    values = values[complete]
    events = benchmark.target.quantity_class.shape_kind == "events"
    horizon = np.concatenate(
        [
            np.full(block.shape[1], float(p.setting["steps"]) if events else np.inf)
            for p, block in zip(points, blocks)
        ]
    )
    point_of = np.concatenate(
        [np.full(block.shape[1], p.index) for p, block in zip(points, blocks)]
    )
    values = np.minimum(values, horizon)
    statistic = benchmark.target.statistic
    center = reduce(values, statistic)
    n = values.shape[0]
    replicates = (
        resample(values, statistic, bootstrap_rng(benchmark.id, benchmark.tier))
        if n > 0
        else np.empty((0, values.shape[1]))
    )
    with np.errstate(invalid="ignore"):
        sem = (
            np.std(replicates, axis=0) * np.sqrt(n / (n - 1))
            if n > 1
            else np.full(values.shape[1], np.nan)
        )
    sem = np.where(np.isnan(sem), np.inf, sem)
    return _Cells(values, center, replicates, sem, point_of, horizon, n, int((~complete).sum()))


def _interval(error: float, replicates: np.ndarray, n: int) -> tuple[float, float]:
    if not np.isfinite(error):
        return error, error
    factor = small_sample_factor(n)
    with np.errstate(invalid="ignore"):
        q_lo, q_mid, q_hi = np.quantile(replicates, [0.025, 0.5, 0.975])
        low = error - factor * (q_mid - q_lo)
        high = error + factor * (q_hi - q_mid)
    low = 0.0 if not np.isfinite(low) else max(0.0, float(low))
    high = np.inf if not np.isfinite(high) else float(high)
    return low, high


def _verdict(error: float, low: float, high: float, tol: float, n: int) -> tuple[str, str]:
    if n < MIN_SEEDS:
        return "inconclusive", f"only {n} complete seed(s); at least {MIN_SEEDS} are needed to tell"
    if high <= tol:
        return "pass", f"error {error:.4g} ≤ tolerance {tol:.4g} (95% interval up to {high:.4g})"
    if low > tol:
        return (
            "fail",
            f"error {error:.4g} > tolerance {tol:.4g} by {error - tol:.4g} (95% interval from {low:.4g})",
        )
    half = max(high - error, error - low)
    gap = abs(error - tol)
    need = (
        f"; about {int(np.ceil(n * (half / gap) ** 2))} seeds would decide it"
        if gap > 0 and np.isfinite(half)
        else ""
    )
    return (
        "inconclusive",
        f"error {error:.4g}, 95% interval [{low:.4g}, {high:.4g}] straddles tolerance {tol:.4g}{need}",
    )


def score_benchmark(
    benchmark: Benchmark,
    measurements: Measurements,
    predictions: Mapping[str, Sequence[PredictionRecord]],
) -> dict[str, Score]:
    """Score every predictor's forecasts of a benchmark tier (keyed by predictor name)."""
    tol = benchmark.tolerance
    common = {
        "benchmark": benchmark.id,
        "tier": benchmark.tier,
        "tolerance": tol.value,
        "metric": tol.metric,
        "aggregate": tol.aggregate,
    }
    cells = _cells(benchmark, measurements)
    if cells is None:
        missing = [
            p.label for p in benchmark.points if measurements.missing[p.index] == benchmark.seeds
        ]
        message = f"not measured: {len(missing)} of {len(benchmark.points)} points ({', '.join(missing[:3])}{'…' if len(missing) > 3 else ''})"
        return {
            name: Score(predictor=name, verdict="missing", seeds=0, message=message, **common)
            for name in predictions
        }

    forecasts: dict[str, np.ndarray] = {}
    scores: dict[str, Score] = {}
    for name, records in predictions.items():
        scores[name], forecast = _score_one(benchmark, cells, name, records, common)
        if forecast is not None:
            forecasts[name] = forecast
    baseline = forecasts.get(benchmark.baseline)
    if baseline is not None:
        for name, forecast in forecasts.items():
            covered = ~np.isnan(forecast) & ~np.isnan(baseline)
            if not covered.any():
                continue
            mine = float(
                aggregate(
                    cell_errors(forecast[covered], cells.center[covered], tol.metric, tol.floor),
                    tol.aggregate,
                )
            )
            base = float(
                aggregate(
                    cell_errors(baseline[covered], cells.center[covered], tol.metric, tol.floor),
                    tol.aggregate,
                )
            )
            if base > 0 and np.isfinite(base):
                skill = 1.0 - mine / base if np.isfinite(mine) else -np.inf
                scores[name] = _with(scores[name], skill=float(skill))
    return scores


def _with(score: Score, **changes: object) -> Score:
    from dataclasses import replace

    return replace(score, **changes)


def _score_one(
    benchmark: Benchmark,
    cells: _Cells,
    name: str,
    records: Sequence[PredictionRecord],
    common: Mapping[str, object],
) -> tuple[Score, np.ndarray | None]:
    tol = benchmark.tolerance
    by_point = {r.point: r for r in records}
    forecast = np.full(cells.center.shape, np.nan)
    points: list[PointScore] = []
    errors, abstained = [], []
    for point in benchmark.points:
        mask = cells.point_of == point.index
        record = by_point.get(point.index)
        measured, sem = cells.center[mask], cells.sem[mask]
        if record is None or record.status != "ok" or record.mean is None:
            status = "missing" if record is None else record.status
            (errors if status == "error" else abstained).append(
                f"[{point.label}] {record.message if record else 'no forecast'}"
            )
            points.append(
                PointScore(
                    point.index,
                    point.label,
                    status,
                    measured,
                    sem,
                    message=record.message if record else "",
                )
            )
            continue
        predicted = np.minimum(
            np.asarray(record.mean, dtype=np.float64).reshape(-1), cells.horizon[mask]
        )
        forecast[mask] = predicted
        point_error = float(
            aggregate(cell_errors(predicted, measured, tol.metric, tol.floor), tol.aggregate)
        )
        points.append(
            PointScore(
                point.index,
                point.label,
                "ok",
                measured,
                sem,
                predicted,
                point_error,
                record.message,
            )
        )
    covered = ~np.isnan(forecast)
    coverage = sum(p.status == "ok" for p in points) / len(points)
    base = dict(common, predictor=name, seeds=cells.seeds, coverage=coverage, points=tuple(points))
    if errors:
        return Score(
            verdict="error",
            message="; ".join(errors[:3]) + (" …" if len(errors) > 3 else ""),
            **base,
        ), None
    if not covered.any():
        return Score(
            verdict="abstain", message=abstained[0] if abstained else "no forecasts", **base
        ), None

    predicted, center = forecast[covered], cells.center[covered]
    error = float(aggregate(cell_errors(predicted, center, tol.metric, tol.floor), tol.aggregate))
    boot = aggregate(
        cell_errors(predicted[None, :], cells.replicates[:, covered], tol.metric, tol.floor),
        tol.aggregate,
    )
    ceiling = float(
        np.mean(
            aggregate(
                cell_errors(center[None, :], cells.replicates[:, covered], tol.metric, tol.floor),
                tol.aggregate,
            )
        )
    )
    low, high = _interval(error, boot, cells.seeds)
    verdict, message = _verdict(error, low, high, tol.value, cells.seeds)
    if abstained:
        message += f"; abstained at {len(abstained)} point(s)"
    if cells.dropped:
        message += f"; {cells.dropped} incomplete seed(s) left out"
    sem = cells.sem[covered]
    z = _signed(predicted, center, sem, tol, tol.z_floor)
    z0 = _signed(predicted, center, sem, tol, 0.0)
    finite0 = np.isfinite(z0) & (sem > 0) & np.isfinite(sem)
    chi2 = float(np.mean(z0[finite0] ** 2)) if finite0.any() else None
    within = float(np.mean(np.abs(z) <= 2)) if z.size else None
    score = Score(
        verdict=verdict,
        error=error,
        error_low=low,
        error_high=high,
        noise_ceiling=ceiling,
        chi2_dof=chi2,
        z_within_2=within,
        message=message,
        **base,
    )
    return score, forecast
