"""Across-seed statistics and the seed bootstrap (formulas in ``docs/statistics.md``).

Seeds are resampled *jointly* across sweep points: all points share a seed's random streams
(common random numbers, :mod:`harness.seeds`), so their errors are correlated and must be
resampled together. The bootstrap is deterministic (its generator is seeded by the benchmark id and
tier), so scores and the committed leaderboard are reproducible to the bit.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy import special as _special

__all__ = [
    "MIN_SEEDS",
    "RESAMPLES",
    "bootstrap_index",
    "bootstrap_rng",
    "reduce",
    "replicate",
    "resample",
    "small_sample_factor",
]

MIN_SEEDS = 3
"""Fewer seeds than this cannot tell a pass from a fail: the verdict is ``inconclusive``."""

RESAMPLES = 2000
"""Bootstrap resamples per score."""


def reduce(
    values: np.ndarray, statistic: str, axis: int = 0, quantiles: tuple[float, ...] | None = None
) -> np.ndarray:
    """The across-seed statistic along ``axis``.

    ``mean``; ``median``; ``logmean`` (``exp(mean(ln y))``, the geometric mean; NaN where a value is
    not positive); ``mode`` (the most frequent label, the smallest on ties; labels are small
    non-negative integers); ``quantiles`` (the linear-interpolation quantiles at the levels
    ``quantiles``, on a new trailing axis). ``+inf`` values (diverged runs, censored events)
    propagate through ``mean`` and count as the largest values for the order statistics.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if statistic == "mean":
            return np.mean(values, axis=axis)
        if statistic == "median":
            return np.median(values, axis=axis)
        if statistic == "logmean":
            logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
            return np.exp(np.mean(logs, axis=axis))
        if statistic == "mode":
            top = np.nanmax(values) if values.size else 0
            labels = range(int(top) + 1 if np.isfinite(top) else 1)
            counts = np.stack([np.sum(values == k, axis=axis) for k in labels], axis=-1)
            return np.argmax(counts, axis=-1).astype(np.float64)
        if statistic == "quantiles":
            if not quantiles:
                raise ValueError("statistic quantiles needs quantile levels")
            return _quantiles(values, quantiles, axis)
    raise ValueError(f"unknown statistic {statistic!r}")


def _quantiles(values: np.ndarray, levels: tuple[float, ...], axis: int) -> np.ndarray:
    """Linear-interpolation quantiles (numpy's default method) on a new trailing axis, with ``+inf``
    treated as the largest value: a quantile that falls on or past an infinite order statistic is
    ``+inf`` (``np.quantile`` returns NaN there, computing ``inf − inf``). NaN if a value is NaN."""
    x = np.sort(np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1), axis=-1)
    n = x.shape[-1]
    position = np.asarray(levels, dtype=np.float64) * (n - 1)
    lo = np.floor(position).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = position - lo
    below, above = x[..., lo], x[..., hi]
    with np.errstate(invalid="ignore"):
        inner = below + (above - below) * frac
    out = np.where(frac == 0, below, np.where(np.isinf(above), above, inner))
    return np.where(np.any(np.isnan(x), axis=-1, keepdims=True), np.nan, out)


def bootstrap_rng(*labels: str) -> np.random.Generator:
    """A generator seeded by text labels (e.g. benchmark id and tier)."""
    digest = hashlib.sha256("\x00".join(("bootstrap", *labels)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def bootstrap_index(n: int, rng: np.random.Generator, resamples: int = RESAMPLES) -> np.ndarray:
    """``(resamples, n)`` seed indices drawn with replacement; one row per replicate."""
    return rng.integers(0, n, size=(resamples, n))


#: Bootstrap gathers are done a block of columns at a time, at most this many values each (~32 MB),
#: so a curve target with thousands of cells never materializes ``resamples × seeds × cells``.
GATHER_BLOCK = 1 << 22


def replicate(
    values: np.ndarray,
    index: np.ndarray,
    statistic: str,
    quantiles: tuple[float, ...] | None = None,
) -> np.ndarray:
    """The statistic of each bootstrap replicate: ``values`` ``(S, C)``, ``index`` ``(R, S)`` →
    ``(R, C[, Q])``, computed over blocks of columns (each column's numbers are those of one gather
    of the whole array: the statistic reduces along seeds, column by column)."""
    rows, seeds = index.shape
    width = max(1, GATHER_BLOCK // max(rows * seeds, 1))
    blocks = [
        reduce(values[:, start : start + width][index], statistic, axis=1, quantiles=quantiles)
        for start in range(0, values.shape[1], width)
    ]
    return np.concatenate(blocks, axis=1)


def resample(
    values: np.ndarray,
    statistic: str,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    quantiles: tuple[float, ...] | None = None,
) -> np.ndarray:
    """Bootstrap replicates of the statistic: ``values`` is ``(S, C)``; returns ``(resamples, C[, Q])``.

    Each replicate draws ``S`` seed indices with replacement and applies them to every column.
    """
    index = bootstrap_index(values.shape[0], rng, resamples)
    return replicate(values, index, statistic, quantiles)


def small_sample_factor(n: int) -> float:
    """Widening of percentile-bootstrap intervals for ``n`` seeds.

    The percentile bootstrap of a mean behaves like a normal interval with the biased variance
    ``σ̂²(n−1)/n``; the factor ``√(n/(n−1)) · t_{0.975, n−1} / z_{0.975}`` turns it into Student's
    interval, which keeps the nominal 95% coverage for the few seeds a CPU affords.
    """
    if n < 2:
        return float("inf")
    return float(np.sqrt(n / (n - 1)) * _special.stdtrit(n - 1, 0.975) / _special.ndtri(0.975))
