"""Figures of forecast against measurement: one figure per benchmark tier.

A figure has one panel per sweep point (curves over training time, event times per event) or one
panel per group of sweep points with the swept variable on the x-axis (scalar targets). Each panel
shows the measured across-seed statistic with its ±1 standard-error band (black, grey band), every
predictor's forecast as a line (the baseline grey and dashed), and, below it, the residual in the
benchmark's own error metric (``ln(forecast/measured)`` for ``log_ratio``) with the seed-noise band
and the tolerance ``±τ`` dotted. The legend gives each predictor's verdict and headline error.

Two halves:

- :func:`figure_data` turns a benchmark and its scores into plain numbers (:class:`FigureData`),
  and :meth:`FigureData.digest` hashes them. This half needs only numpy: the board's text files
  name each figure by that digest, so ``theorybench leaderboard --check`` detects a stale figure
  without drawing anything (and without depending on matplotlib's or freetype's exact pixels).
- :func:`draw` renders a :class:`FigureData` with matplotlib's Agg canvas (headless; imported only
  here), in matplotlib's default style with a fixed font, size and dpi and without dates or
  version strings in the file, so the same numbers give the same bytes on the same software.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .hashing import content_hash
from .scoring import Score
from .spec import Benchmark

__all__ = ["PLOT_VERSION", "FigureData", "Panel", "draw", "figure_data", "size_px"]

#: Bump when the drawing changes in a way the plotted numbers do not show (new elements, layout),
#: so that every figure's digest, hence its file name, changes and the board is redrawn.
PLOT_VERSION = 3
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
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C510A", "#332288")
BASELINE_COLOR = "#7f7f7f"
MEASURED_COLOR = "#111111"
BAND_COLOR = "#b8b8b8"
# How each quantity is labelled (a display schema: the renderer hard-codes no benchmark).
DISPLAY: dict[str, dict[str, str]] = {
    "population_loss": {"y": "population loss", "x": "training step"},
    "test_mse": {"y": "test MSE"},
    "mode_half_times": {"y": "half-learning time (steps)", "x": "teacher mode (singular value)"},
}
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6,
    "svg.hashsalt": "theorybench",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
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
    return tuple(
        ", ".join(
            f"{k.rsplit('.', 1)[-1]}={_short(k, leaf.get(k)).split('=', 1)[-1]}" for k in varying
        )
        or "all"
        for leaf in leaves
    )


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


# --------------------------------------------------------------------------------------------
# drawing


def _legend_label(entry: Entry) -> str:
    text = f"{entry.name}{' (baseline)' if entry.baseline else ''}: {SYMBOL.get(entry.verdict, '')} {entry.verdict}"
    if entry.error is not None:
        text += f", error {_g(entry.error)}"
        if entry.error_low is not None and entry.error_high is not None:
            text += f" [{_g(entry.error_low)}, {_g(entry.error_high)}]"
    return text


def _g(x: float) -> str:
    if not math.isfinite(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.2g}" if abs(x) < 0.1 else f"{x:.3g}"


def _grid_shape(n: int) -> tuple[int, int]:
    if n <= 3:
        return 1, n
    cols = 2 if n == 4 else 3
    return math.ceil(n / cols), cols


def _styles(data: FigureData) -> dict[str, dict[str, Any]]:
    styles, k = {}, 0
    for entry in data.entries:
        if entry.baseline:
            styles[entry.name] = {"color": BASELINE_COLOR, "linestyle": (0, (5, 2.5)), "lw": 1.5}
        else:
            styles[entry.name] = {
                "color": PALETTE[k % len(PALETTE)],
                "linestyle": "-" if k < len(PALETTE) else ":",
                "lw": 1.7,
            }
            k += 1
    return styles


def _residual_limit(data: FigureData) -> float:
    """Symmetric y-limit of the residual panels: the seed-noise band, the tolerance and the
    residuals of the theories near the tolerance (headline error ≤ 4τ; of every theory if none is)
    in view. Lines further off leave the panel: their value panel shows how far."""
    theories = [e for e in data.entries if not e.baseline]
    close = [e for e in theories if e.error is not None and e.error <= 4 * data.tolerance]
    shown = {e.name for e in (close or theories)}
    largest = 0.0
    for panel in data.panels:
        band = residual_sem(panel.sem, panel.measured, data.metric, data.floor)
        if np.isfinite(band).any():
            largest = max(largest, float(np.nanmax(band)))
        for entry in data.entries:
            if entry.name not in shown:
                continue
            r = residual(panel.forecasts[entry.name], panel.measured, data.metric, data.floor)
            if np.isfinite(r).any():
                largest = max(largest, float(np.nanmax(np.abs(r))))
    return max(2.0 * data.tolerance, 1.15 * largest)


# Layout, in inches: fixed, so that the same numbers always give the same picture.
PANEL_W = {1: 6.2, 2: 4.5, 3: 3.9}
VALUE_H, RESID_H, GAP_H = 2.25, 0.95, 0.06
TITLE_H, TICKS_H, XLABEL_H = 0.3, 0.32, 0.2
LEFT, RIGHT, WGAP = 0.8, 0.25, 0.25
LINE_H, LEGEND_ROW_H = 0.19, 0.18


@dataclass(frozen=True)
class _Layout:
    rows: int
    cols: int
    panel_w: float
    width: float
    height: float
    header: float
    title: tuple[str, ...]
    legend_cols: int


def _layout(data: FigureData) -> _Layout:
    rows, cols = _grid_shape(len(data.panels))
    panel_w = PANEL_W[cols]
    width = LEFT + cols * panel_w + (cols - 1) * WGAP + RIGHT
    chars = int(width * 13.5)
    title = tuple(
        textwrap.wrap(data.title, chars) + textwrap.wrap(data.subtitle, int(chars * 1.12))
    )
    legend_cols = 2 if cols > 1 else 1
    legend_rows = math.ceil((len(data.entries) + 2) / legend_cols)
    header = 0.12 + LINE_H * len(title) + 0.06 + LEGEND_ROW_H * legend_rows + 0.04
    block = TITLE_H + VALUE_H + GAP_H + RESID_H + TICKS_H
    height = header + rows * block + XLABEL_H + 0.1
    return _Layout(rows, cols, panel_w, width, height, header, title, legend_cols)


def size_px(data: FigureData) -> tuple[int, int]:
    """The pixel size of the PNG :func:`draw` writes (for ``<img width height>``)."""
    layout = _layout(data)
    return int(round(layout.width * DPI)), int(round(layout.height * DPI))


def draw(data: FigureData, path: str | Path) -> Path:
    """Render ``data`` to ``path`` (``.png``, ``.svg`` or ``.pdf``) deterministically; returns the path."""
    from .errors import TheorybenchError

    try:
        import matplotlib
        import matplotlib.style
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.legend_handler import HandlerTuple
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise TheorybenchError(
            f"drawing figures needs matplotlib ({exc}): pip install matplotlib"
        ) from None
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf"):
        raise TheorybenchError(f"{path}: write a .png, .svg or .pdf file")
    styles = _styles(data)
    limit = _residual_limit(data)
    layout = _layout(data)
    cols, panel_w = layout.cols, layout.panel_w
    width, height, header, title = layout.width, layout.height, layout.header, layout.title
    with matplotlib.style.context("default"), matplotlib.rc_context(RC):
        figure = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(figure)

        def rect(x: float, y_top: float, w: float, h: float) -> list[float]:
            return [x / width, 1 - (y_top + h) / height, w / width, h / height]

        first_value = first_resid = None
        for index, panel in enumerate(data.panels):
            row, col = divmod(index, cols)
            x0 = LEFT + col * (panel_w + WGAP)
            y0 = header + row * (TITLE_H + VALUE_H + GAP_H + RESID_H + TICKS_H) + TITLE_H
            top = figure.add_axes(rect(x0, y0, panel_w, VALUE_H))
            bottom = figure.add_axes(rect(x0, y0 + VALUE_H + GAP_H, panel_w, RESID_H), sharex=top)
            if first_value is None:
                first_value, first_resid = top, bottom
            else:
                top.sharey(first_value)
                bottom.sharey(first_resid)
            _draw_panel(data, panel, top, bottom, styles, limit)
            if col:
                top.tick_params(labelleft=False)
                bottom.tick_params(labelleft=False)
            else:
                top.set_ylabel(data.ylabel)
                bottom.set_ylabel("residual")
                top.yaxis.set_label_coords(-0.6 / panel_w, 0.5)
                bottom.yaxis.set_label_coords(-0.6 / panel_w, 0.5)
            if index >= len(data.panels) - cols:
                bottom.set_xlabel(data.xlabel, labelpad=2)
        figure.text(
            0.5,
            1 - 0.12 / height,
            "\n".join(title),
            ha="center",
            va="top",
            fontsize=9.5,
            linespacing=1.45,
        )
        handles: list[Any] = [
            (
                Patch(color=BAND_COLOR, alpha=0.6),
                Line2D([], [], color=MEASURED_COLOR, marker="o", ms=3.5, lw=0),
            )
        ]
        labels = ["measured (± 1 s.e.)"]
        for entry in data.entries:
            style = styles[entry.name]
            handles.append(
                Line2D([], [], color=style["color"], linestyle=style["linestyle"], lw=style["lw"])
            )
            labels.append(_legend_label(entry))
        handles.append(Line2D([], [], color="#444444", linestyle=":", lw=1.0))
        labels.append(
            f"residual panels: {data.residual_label}; dotted: ±{data.tolerance:g} (tolerance)"
        )
        figure.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 1 - (0.12 + LINE_H * len(title) + 0.06) / height),
            ncols=layout.legend_cols,
            frameon=False,
            handler_map={tuple: HandlerTuple(ndivide=1, pad=0.0)},
            handlelength=2.6,
            columnspacing=1.8,
            borderaxespad=0.0,
            borderpad=0.0,
            labelspacing=0.35,
        )
        metadata: dict[str, Any] = {
            ".png": {"Software": None},
            ".svg": {"Date": None, "Creator": None},
            ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
        }[suffix]
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=DPI, metadata=metadata, facecolor="white")
    return path


def _draw_panel(data, panel: Panel, top, bottom, styles, limit: float) -> None:
    x, m, s = panel.x, panel.measured, panel.sem
    ok = np.isfinite(m) & (m > 0 if data.ylog else True)
    band = np.isfinite(s)
    lo, hi = m - np.where(band, s, 0.0), m + np.where(band, s, 0.0)
    if data.ylog:
        lo = np.where(lo > 0, lo, m * 0.5)
    categorical = bool(panel.ticks)
    if categorical:
        top.errorbar(
            x[ok],
            m[ok],
            yerr=np.vstack([m - lo, hi - m])[:, ok],
            fmt="o",
            color=MEASURED_COLOR,
            ms=4,
            capsize=3,
            lw=1.0,
            zorder=5,
        )
    else:
        top.fill_between(x, lo, hi, where=ok, color=BAND_COLOR, alpha=0.6, lw=0, zorder=1)
        top.plot(x[ok], m[ok], "o", color=MEASURED_COLOR, ms=3.2, lw=0.9, zorder=5)
        if not ok.all() and np.isinf(m).any():
            top.text(0.02, 0.03, "∞ = diverged", transform=top.transAxes, fontsize=7.5)
    rband = residual_sem(s, m, data.metric, data.floor)
    for entry in data.entries:
        values = panel.forecasts[entry.name]
        style = styles[entry.name]
        good = np.isfinite(values) & (values > 0 if data.ylog else True)
        if not good.any():
            continue
        marker = "s" if categorical else None
        top.plot(
            x[good],
            values[good],
            color=style["color"],
            linestyle=style["linestyle"] if panel.connect else "none",
            lw=style["lw"],
            marker=marker,
            ms=3.5,
            zorder=4 if not entry.baseline else 3,
        )
        r = residual(values, m, data.metric, data.floor)
        bottom.plot(
            x,
            r,
            color=style["color"],
            linestyle=style["linestyle"] if panel.connect else "none",
            lw=style["lw"],
            marker=marker,
            ms=3.0,
            zorder=4 if not entry.baseline else 3,
        )
    finite = np.isfinite(rband)
    if categorical:
        bottom.errorbar(
            x[finite],
            np.zeros(finite.sum()),
            yerr=rband[finite],
            fmt="none",
            color=MEASURED_COLOR,
            capsize=3,
            lw=1.0,
        )
    else:
        bottom.fill_between(
            x, -np.nan_to_num(rband), np.nan_to_num(rband), color=BAND_COLOR, alpha=0.6, lw=0
        )
    bottom.axhline(0.0, color=MEASURED_COLOR, lw=0.8, zorder=2)
    for sign in (-1, 1):
        bottom.axhline(sign * data.tolerance, color="#444444", lw=1.0, linestyle=":", zorder=2)
    bottom.set_ylim(-limit, limit)
    if data.horizon is not None and np.nanmax(np.where(np.isfinite(m), m, 0)) >= data.horizon:
        top.axhline(data.horizon, color="#999999", lw=0.8, linestyle="--")
        top.text(x[0], data.horizon, " censored", va="bottom", fontsize=7, color="#666666")
    if data.ylog:
        top.set_yscale("log")
    if data.xlog:
        if (x <= 0).any():
            top.set_xscale("symlog", linthresh=1.0, linscale=0.35)
            top.set_xlim(0, x.max() * 1.15)
        else:
            top.set_xscale("log")
    if data.xticks_at_points and not categorical:
        from matplotlib.ticker import NullLocator

        top.set_xticks(x)
        bottom.set_xticks(x, [f"{v:g}" for v in x])
        bottom.xaxis.set_minor_locator(NullLocator())
    if categorical:
        top.set_xticks(x)
        bottom.set_xticks(x, panel.ticks, rotation=0 if len(panel.ticks) <= 5 else 30)
        top.set_xlim(x[0] - 0.5, x[-1] + 0.5)
    title = textwrap.fill(panel.title, 52) if panel.title else ""
    top.set_title(title, loc="left", fontsize=8.5)
    if panel.notes:
        top.text(
            0.98,
            0.97,
            "\n".join(textwrap.shorten(n, 58, placeholder="…") for n in panel.notes),
            transform=top.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="#555555",
            bbox={"facecolor": "white", "edgecolor": "#dddddd", "alpha": 0.9, "pad": 2},
        )
    top.tick_params(labelbottom=False)
