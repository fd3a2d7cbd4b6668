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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .plot_data import (
    DPI,
    PLOT_VERSION,
    SYMBOL,
    Entry,
    FigureData,
    Panel,
    figure_data,
    residual,
    residual_sem,
)

__all__ = ["PLOT_VERSION", "FigureData", "Panel", "draw", "figure_data", "size_px"]

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C510A", "#332288")
BASELINE_COLOR = "#7f7f7f"
MEASURED_COLOR = "#111111"
BAND_COLOR = "#b8b8b8"
# How each quantity is labelled (a display schema: the renderer hard-codes no benchmark).
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
    close = [
        e
        for e in theories
        if e.error is not None and (e.error <= 4 * data.tolerance or not _tolerance_drawn(data))
    ]
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
    return max(2.0 * data.tolerance if _tolerance_drawn(data) else 0.0, 1.15 * largest, 1e-12)


def _tolerance_drawn(data: FigureData) -> bool:
    """The residual is the scored error's signed form only for these metrics; for regret,
    discordance and mismatch the tolerance is not in the residual's units and is not drawn."""
    return data.metric in ("log_ratio", "rel_error", "abs_error")


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
    ticks_h: float


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
    tick_lines = max((t.count("\n") + 1 for p in data.panels for t in p.ticks), default=1)
    ticks_h = TICKS_H + 0.13 * (tick_lines - 1)
    block = TITLE_H + VALUE_H + GAP_H + RESID_H + ticks_h
    height = header + rows * block + XLABEL_H + 0.1
    return _Layout(rows, cols, panel_w, width, height, header, title, legend_cols, ticks_h)


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
            y0 = header + row * (TITLE_H + VALUE_H + GAP_H + RESID_H + layout.ticks_h) + TITLE_H
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
            if _tolerance_drawn(data)
            else f"residual panels: {data.residual_label} (the tolerance {data.tolerance:g} applies to the {data.metric})"
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
    if _tolerance_drawn(data):
        for sign in (-1, 1):
            bottom.axhline(sign * data.tolerance, color="#444444", lw=1.0, linestyle=":", zorder=2)
    bottom.set_ylim(-limit, limit)
    if data.horizon is not None and np.nanmax(np.where(np.isfinite(m), m, 0)) >= data.horizon:
        top.axhline(data.horizon, color="#999999", lw=0.8, linestyle="--")
        top.text(x[0], data.horizon, " censored", va="bottom", fontsize=7, color="#666666")
    if data.ylog:
        top.set_yscale("log")
    if data.ylabels:
        top.set_yticks(range(len(data.ylabels)), data.ylabels)
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
        bottom.set_xticks(x, panel.ticks, fontsize=7.5 if len(panel.ticks) > 4 else 8)
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
