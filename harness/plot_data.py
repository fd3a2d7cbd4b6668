"""The numbers of a benchmark's figure (numpy only): :func:`figure_data` turns a benchmark and its
scores into a :class:`FigureData`, whose :meth:`~FigureData.digest` names the figure file, so that
``theorybench leaderboard --check`` detects a stale figure without drawing anything. Drawing is
:mod:`harness.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hashing import content_hash
from .scoring import Score
from .spec import Benchmark

__all__ = [
    "PLOT_VERSION",
    "Entry",
    "FigureData",
    "Panel",
    "figure_data",
    "residual",
    "residual_sem",
]

#: Bump when the drawing changes in a way the plotted numbers do not show (new elements, layout),
#: so that every figure's digest, hence its file name, changes and the board is redrawn.
PLOT_VERSION = 5
DPI = 100
SYMBOL = {
    "pass": "✓",
    "fail": "✗",
    "inconclusive": "?",
    "abstain": "–",
    "error": "!",
    "missing": "·",
}
# Colour-blind-safe qualitative palette (Okabe & Ito 2008), in a fixed order; baselines are grey.

#: Axis labels of the quantities that have a better name than their registry key.
DISPLAY: dict[str, dict[str, str]] = {
    "population_loss": {"y": "population loss", "x": "training step"},
    "test_mse": {"y": "test MSE"},
    "mode_half_times": {"y": "half-learning time (steps)", "x": "teacher mode (singular value)"},
}


@dataclass(frozen=True)
class Panel:
    """One panel: the measured statistic and the forecasts over a shared x-axis.

    Attributes:
        title: what the panel holds (a sweep point's label, or the fixed coordinates of a group).
        x: positions on the x-axis.
        ticks: tick labels for categorical x (event names, unordered sweep points), else empty.
        measured / sem: the across-seed statistic and its standard error at each x (NaN: missing).
        forecasts: ``{predictor: values at each x}`` (NaN where it abstained or failed).
        notes: one line per predictor that did not forecast in this panel (``abstain: reason``).
        connect: draw forecasts as lines (ordered x) rather than markers only (unordered groups).
    """

    title: str
    x: np.ndarray
    measured: np.ndarray
    sem: np.ndarray
    forecasts: Mapping[str, np.ndarray]
    ticks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    connect: bool = True


@dataclass(frozen=True)
class Entry:
    """A predictor in the legend."""

    name: str
    verdict: str
    error: float | None
    error_low: float | None
    error_high: float | None
    baseline: bool


@dataclass(frozen=True)
class FigureData:
    """Everything a figure shows, as plain numbers (see :meth:`digest`)."""

    benchmark: str
    tier: str
    title: str
    subtitle: str
    xlabel: str
    ylabel: str
    residual_label: str
    xlog: bool
    ylog: bool
    metric: str
    floor: float
    tolerance: float
    horizon: float | None
    xticks_at_points: bool
    panels: tuple[Panel, ...]
    entries: tuple[Entry, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)
    ylabels: tuple[str, ...] = ()

    def digest(self, length: int = 12) -> str:
        """Hash of the plotted numbers (4 significant digits) and :data:`PLOT_VERSION`."""

        def r(values: Any) -> Any:
            array = np.asarray(values, dtype=np.float64).reshape(-1)
            return [_sig(float(v)) for v in array]

        payload = {
            "plot_version": PLOT_VERSION,
            "text": [self.benchmark, self.tier, self.title, self.subtitle, self.xlabel],
            "axes": [self.ylabel, self.residual_label, self.metric],
            "flags": [self.xlog, self.ylog, self.xticks_at_points],
            "ylabels": list(self.ylabels),
            "numbers": r([self.floor, self.tolerance, self.horizon or 0.0]),
            "panels": [
                {
                    "title": p.title,
                    "ticks": list(p.ticks),
                    "notes": list(p.notes),
                    "x": r(p.x),
                    "measured": r(p.measured),
                    "sem": r(_significant_sem(p.sem, p.measured)),
                    "forecasts": {k: r(v) for k, v in sorted(p.forecasts.items())},
                }
                for p in self.panels
            ],
            "entries": [
                [
                    e.name,
                    e.verdict,
                    e.baseline,
                    *r([_nan(e.error), _nan(e.error_low), _nan(e.error_high)]),
                ]
                for e in self.entries
            ],
        }
        return content_hash(payload, length)

    def file_name(self, suffix: str = ".png") -> str:
        """``<benchmark>-<digest>.png``: content-addressed, so new numbers give a new file."""
        return f"{self.benchmark}-{self.digest()}{suffix}"


def _significant_sem(sem: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Standard errors below 1e-9 of the value (seeds that agree to rounding) as 0: their digits
    are floating-point noise, which must not decide a figure's name."""
    sem = np.asarray(sem, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        tiny = np.abs(sem) <= 1e-9 * np.abs(np.asarray(measured, dtype=np.float64))
    return np.where(tiny, 0.0, sem)


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _sig(x: float) -> float | str:
    if not math.isfinite(x):
        return str(x)
    return float(f"{x:.4g}")


# --------------------------------------------------------------------------------------------
# numbers


def _short(path: str, value: Any) -> str:
    from .spec import point_label

    return point_label({path: value})


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _event_ticks(benchmark: Benchmark, count: int) -> tuple[str, ...]:
    setting = benchmark.points[0].setting
    singular = setting.get("data", {}).get("singular_values")
    if benchmark.target.quantity == "mode_half_times" and singular:
        values = [s for s in singular if s > 0]
        if len(values) == count:
            return tuple(f"s={s:g}" for s in values)
    return tuple(f"event {i + 1}" for i in range(count))


def figure_data(benchmark: Benchmark, scores: Mapping[str, Score]) -> FigureData | None:
    """The numbers of a benchmark tier's figure, or ``None`` if nothing is measured yet."""
    scored = [s for s in scores.values() if s.points]
    if not scored:
        return None
    first = scored[0]
    measured = {p.index: np.asarray(p.measured, dtype=np.float64).reshape(-1) for p in first.points}
    sem = {p.index: np.asarray(p.sem, dtype=np.float64).reshape(-1) for p in first.points}
    # predictors that abstain everywhere do not apply to this benchmark: leave them out of the figure
    names = sorted(
        (n for n in scores if scores[n].verdict != "abstain"),
        key=lambda n: (n == benchmark.baseline, n),
    )

    def forecast(name: str, index: int, size: int) -> tuple[np.ndarray, str | None]:
        score = scores[name]
        if not score.points:
            return np.full(size, np.nan), None
        point = score.points[index]
        if point.status == "ok" and point.predicted is not None:
            return np.asarray(point.predicted, dtype=np.float64).reshape(-1), None
        reason = point.message.splitlines()[0] if point.message else point.status
        return np.full(size, np.nan), f"{name}: {point.status}" + (
            f" ({reason})" if point.status != reason else ""
        )

    if benchmark.target.quantity_class.shape_kind == "label":  # a mode has no standard error
        sem = {k: np.full(v.shape, np.nan) for k, v in sem.items()}
    kind = benchmark.target.quantity_class.shape_kind
    display = DISPLAY.get(benchmark.target.quantity, {})
    quantity = benchmark.target.quantity_class
    ylabel = display.get("y") or benchmark.target.quantity.replace("_", " ") + (
        f" ({quantity.unit})" if quantity.unit else ""
    )
    panels: list[Panel] = []
    xlabel, xlog = "", False
    horizon = None
    if benchmark.groups:
        panels, xlabel = _derived_panels(benchmark, names, measured, sem, forecast)
        ylabel = _derived_label(benchmark)
    elif kind in ("curve", "events"):
        for point in benchmark.points:
            m, s = measured[point.index], sem[point.index]
            values, notes = {}, []
            for name in names:
                values[name], note = forecast(name, point.index, m.size)
                if note:
                    notes.append(note)
            if kind == "curve":
                x = np.asarray(point.grid, dtype=np.float64)
                ticks: tuple[str, ...] = ()
            else:
                x = np.arange(1, m.size + 1, dtype=np.float64)
                ticks = _event_ticks(benchmark, m.size)
            panels.append(Panel(point.label, x, m, s, values, ticks, tuple(notes)))
        if kind == "curve":
            xlabel = display.get("x", "step")
            positive = np.concatenate([p.x[p.x > 0] for p in panels])
            xlog = bool(positive.size and positive.max() / positive.min() >= 10)
        else:
            xlabel = display.get("x", "event")
            horizon = float(benchmark.points[0].setting.get("steps", 0)) or None
    else:
        panels, xlabel, xlog = _scalar_panels(benchmark, names, measured, sem, forecast)

    everything = np.concatenate(
        [p.measured for p in panels] + [v for p in panels for v in p.forecasts.values()]
    )
    positive = everything[np.isfinite(everything) & (everything > 0)]
    ylog = bool(
        quantity.scale == "log"
        and positive.size
        and (everything[np.isfinite(everything)] > 0).all()
        and positive.max() / positive.min() >= 10
    )
    tol = benchmark.tolerance
    residual_label = {
        "log_ratio": "ln(forecast / measured)"
        if not tol.floor
        else f"ln((forecast+{tol.floor:g}) / (measured+{tol.floor:g}))",
        "rel_error": "(forecast − measured) / measured",
    }.get(tol.metric, "forecast − measured")
    entries = tuple(
        Entry(
            name,
            scores[name].verdict,
            scores[name].error,
            scores[name].error_low,
            scores[name].error_high,
            name == benchmark.baseline,
        )
        for name in names
    )
    subtitle = (
        f"{benchmark.tier} tier · measured: {benchmark.target.statistic} of {first.seeds} seeds "
        f"± 1 s.e. (band) · lines: forecasts · pass if the {tol.aggregate} {tol.metric} error "
        f"≤ {tol.value:g}"
    )
    return FigureData(
        benchmark=benchmark.id,
        tier=benchmark.tier,
        title=f"{benchmark.id}: {benchmark.title}",
        subtitle=subtitle,
        xlabel=xlabel,
        ylabel=ylabel,
        residual_label=residual_label,
        xlog=xlog,
        ylog=ylog,
        metric=tol.metric,
        floor=tol.floor,
        tolerance=tol.value,
        horizon=horizon,
        xticks_at_points=kind == "scalar" and not benchmark.groups,
        panels=tuple(panels),
        entries=entries,
        ylabels=tuple(getattr(quantity, "labels", ())) if kind == "label" else (),
    )


def _derived_label(benchmark: Benchmark) -> str:
    derive = benchmark.target.derive
    parts = derive.x.split(".")
    x = parts[-1]
    if x.isdigit() and len(parts) > 1:  # model.widths.0 -> width
        x = parts[-2][:-1] if parts[-2].endswith("s") else parts[-2]
    x = x.replace("_", " ")
    quantity = benchmark.target.quantity.replace("_", " ")
    if derive.kind == "slope":
        logs = "log-log " if derive.log_x and derive.log_y else ""
        return f"{logs}slope of {quantity} in {x}"
    if derive.kind == "min":
        return f"minimum of {quantity} over {x}"
    if derive.kind == "steps_to":
        return f"steps to {derive.level:g} (fewest over {x})"
    if getattr(derive, "anchor", None) is not None:
        return f"shift of log2 optimal {x} from the anchor"
    return f"log2 of the optimal {x}"


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return out
    return {path: value}


def _distinct_labels(coords: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Short tick labels: only the innermost fields whose values differ between the groups."""
    leaves = [_leaves(c) for c in coords]
    keys = sorted({k for leaf in leaves for k in leaf})
    varying = [k for k in keys if len({repr(leaf.get(k)) for leaf in leaves}) > 1]

    def field(key: str, value: Any) -> str:
        text = _short(key, value).split("=", 1)[-1]
        return text if isinstance(value, str) else f"{key.rsplit('.', 1)[-1]}={text}"

    return tuple("\n".join(field(k, leaf.get(k)) for k in varying) or "all" for leaf in leaves)


def _derived_panels(benchmark, names, measured, sem, forecast):
    """Targets derived across the sweep: one value per group (one panel, a tick per group), or one
    panel per group with a tick per cell when each group has several."""
    groups = [g for g in benchmark.groups if g.index in measured]
    cells = max((measured[g.index].size for g in groups), default=1)
    panels = []
    if cells == 1:
        x = np.arange(1, len(groups) + 1, dtype=np.float64)
        m = np.asarray([measured[g.index][0] for g in groups])
        s = np.asarray([sem[g.index][0] for g in groups])
        values, notes = {}, []
        for name in names:
            column = []
            for g in groups:
                value, note = forecast(name, g.index, 1)
                column.append(value[0])
                if note:
                    notes.append(f"{note} at {g.label}")
            values[name] = np.asarray(column)
        ticks = _distinct_labels([g.coords for g in groups])
        panels.append(Panel("", x, m, s, values, ticks, tuple(notes), connect=False))
        return panels, "group"
    for g in groups:
        m, s = measured[g.index], sem[g.index]
        values, notes = {}, []
        for name in names:
            values[name], note = forecast(name, g.index, m.size)
            if note:
                notes.append(note)
        x = np.arange(1, m.size + 1, dtype=np.float64)
        panels.append(
            Panel(
                g.label,
                x,
                m,
                s,
                values,
                tuple(f"cell {i}" for i in range(1, m.size + 1)),
                tuple(notes),
            )
        )
    return panels, "cell"


def _scalar_panels(benchmark, names, measured, sem, forecast):
    """Scalar targets: the swept number with the most values on x, one panel per other coordinate."""
    points = benchmark.points
    paths = list(points[0].coords) if points else []
    numeric = [
        p
        for p in paths
        if _numeric([pt.coords.get(p) for pt in points])
        and len({pt.coords.get(p) for pt in points}) > 1
    ]
    axis = max(numeric, key=lambda p: len({pt.coords[p] for pt in points}), default=None)
    groups: dict[str, list] = {}
    for point in points:
        rest = {k: v for k, v in point.coords.items() if k != axis}
        key = ", ".join(_short(k, v) for k, v in rest.items()) if axis else ""
        groups.setdefault(key, []).append(point)
    panels = []
    for key, members in groups.items():
        if axis:
            members = sorted(members, key=lambda pt: pt.coords[axis])
            x = np.asarray([float(pt.coords[axis]) for pt in members])
            ticks: tuple[str, ...] = ()
        else:
            x = np.arange(1, len(members) + 1, dtype=np.float64)
            ticks = tuple(pt.label for pt in members)
        m = np.asarray([measured[pt.index][0] for pt in members])
        s = np.asarray([sem[pt.index][0] for pt in members])
        values, notes = {}, []
        for name in names:
            column = []
            for pt in members:
                value, note = forecast(name, pt.index, 1)
                column.append(value[0])
                if note:
                    notes.append(f"{note} at {pt.label}" if len(members) > 1 else note)
            values[name] = np.asarray(column)
        title = key or (benchmark.points[0].label if len(points) == 1 else "")
        panels.append(Panel(title, x, m, s, values, ticks, tuple(notes)))
    xlabel = axis.rsplit(".", 1)[-1].replace("_", " ") if axis else "sweep point"
    xs = np.concatenate([p.x for p in panels])
    xlog = bool(axis and (xs > 0).all() and xs.max() / xs.min() >= 10)
    return panels, xlabel, xlog


def residual(
    forecast: np.ndarray, measured: np.ndarray, metric: str, floor: float = 0.0
) -> np.ndarray:
    """The signed per-cell error in the benchmark's metric (0 where both are equal, NaN if undefined)."""
    with np.errstate(all="ignore"):
        if metric == "log_ratio":
            out = np.log((forecast + floor) / (measured + floor))
        elif metric == "rel_error":
            out = (forecast - measured) / np.abs(measured)
        else:
            out = forecast - measured
        out = np.where(forecast == measured, 0.0, out)
    return np.where(np.isfinite(out), out, np.nan)


def residual_sem(sem: np.ndarray, measured: np.ndarray, metric: str, floor: float = 0.0):
    with np.errstate(all="ignore"):
        if metric == "log_ratio":
            out = sem / np.abs(measured + floor)
        elif metric == "rel_error":
            out = sem / np.abs(measured)
        else:
            out = np.asarray(sem, dtype=np.float64)
    return np.where(np.isfinite(out), out, np.nan)
