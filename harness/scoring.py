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
from dataclasses import dataclass, field, replace

import numpy as np

from .cells import Cells, build_cells, cell_errors
from .measure import Measurements
from .predict import PredictionRecord
from .spec import Benchmark, Tolerance
from .stats import MIN_SEEDS, small_sample_factor

__all__ = ["VERDICTS", "PointScore", "Score", "aggregate", "cell_errors", "score_benchmark"]

VERDICTS = ("pass", "fail", "inconclusive", "abstain", "error", "missing")


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


@dataclass(frozen=True)
class PointScore:
    """One forecast unit of a score (a sweep point, or a group of a derived target): the measured
    statistic (± its standard error), the forecast, and the unit's own error with its 95% interval
    and verdict (the rules of the benchmark's verdict, applied to this unit's cells alone)."""

    index: int
    label: str
    status: str
    measured: np.ndarray
    sem: np.ndarray
    predicted: np.ndarray | None = None
    error: float | None = None
    message: str = ""
    error_low: float | None = None
    error_high: float | None = None
    verdict: str | None = None


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


def _unit_verdict(
    unit: PointScore, cells: Cells, observed: np.ndarray, replicated: np.ndarray, tol: Tolerance
) -> PointScore:
    """A unit's own error, interval and verdict, from its cells' observed and bootstrap errors."""
    mask = cells.unit_of == unit.index
    error = float(aggregate(observed[mask], tol.aggregate))
    low, high = _interval(error, aggregate(replicated[:, mask], tol.aggregate), cells.seeds)
    verdict, _ = _verdict(error, low, high, tol.value, cells.seeds)
    return replace(unit, error=error, error_low=low, error_high=high, verdict=verdict)


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
    cells = build_cells(benchmark, measurements)
    if cells is None:
        missing = [
            p.label for p in benchmark.points if measurements.missing[p.index] == benchmark.seeds
        ]
        message = (
            f"not measured: {len(missing)} of {len(benchmark.points)} points "
            f"({', '.join(missing[:3])}{'…' if len(missing) > 3 else ''})"
        )
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
                    cells.errors(np.where(covered, forecast, baseline), covered)[0][covered],
                    tol.aggregate,
                )
            )
            base = float(aggregate(cells.errors(baseline, covered)[0][covered], tol.aggregate))
            if base > 0 and np.isfinite(base):
                skill = 1.0 - mine / base if np.isfinite(mine) else -np.inf
                scores[name] = replace(scores[name], skill=float(skill))
    return scores


def _score_one(
    benchmark: Benchmark,
    cells: Cells,
    name: str,
    records: Sequence[PredictionRecord],
    common: Mapping[str, object],
) -> tuple[Score, np.ndarray | None]:
    tol = benchmark.tolerance
    by_unit = {r.point: r for r in records}
    forecast = np.full(cells.center.shape, np.nan)
    units: list[PointScore] = []
    errors, abstained = [], []
    for unit in benchmark.units:
        mask = cells.unit_of == unit.index
        record = by_unit.get(unit.index)
        measured, sem = cells.center[mask], cells.sem[mask]
        if record is None or record.status != "ok" or record.mean is None:
            status = "missing" if record is None else record.status
            message = record.message if record else "no forecast"
            (errors if status == "error" else abstained).append(f"[{unit.label}] {message}")
            units.append(PointScore(unit.index, unit.label, status, measured, sem, message=message))
            continue
        forecast[mask] = np.asarray(record.mean, dtype=np.float64).reshape(-1)
        forecast[mask] = cells.clip(forecast)[mask]
        units.append(
            PointScore(
                unit.index, unit.label, "ok", measured, sem, forecast[mask], None, record.message
            )
        )
    covered = ~np.isnan(forecast)
    coverage = sum(u.status == "ok" for u in units) / len(units)
    base = dict(common, predictor=name, seeds=cells.seeds, coverage=coverage)
    if errors:
        message = "; ".join(errors[:3]) + (" …" if len(errors) > 3 else "")
        return Score(verdict="error", message=message, points=tuple(units), **base), None
    if not covered.any():
        message = abstained[0] if abstained else "no forecasts"
        return Score(verdict="abstain", message=message, points=tuple(units), **base), None

    filled = np.where(covered, forecast, cells.center)  # uncovered cells are dropped below
    observed, replicated = cells.errors(filled, covered)
    error = float(aggregate(observed[covered], tol.aggregate))
    boot = aggregate(replicated[:, covered], tol.aggregate)
    ceiling = float(np.mean(aggregate(cells.oracle()[:, covered], tol.aggregate)))
    units = [
        _unit_verdict(u, cells, observed, replicated, tol) if u.status == "ok" else u for u in units
    ]
    low, high = _interval(error, boot, cells.seeds)
    verdict, message = _verdict(error, low, high, tol.value, cells.seeds)
    if abstained:
        message += f"; abstained at {len(abstained)} {'group' if benchmark.groups else 'point'}(s)"
    if cells.dropped:
        message += f"; {cells.dropped} incomplete seed(s) left out"
    chi2 = within = None
    z = cells.z_scores(filled, tol.z_floor)
    if z is not None:
        z0 = cells.z_scores(filled, 0.0)
        z, z0, sem = z[covered], z0[covered], cells.sem[covered]
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
        points=tuple(units),
        **base,
    )
    return score, forecast
