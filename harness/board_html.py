"""``leaderboard/index.html``: the board as one static page.

No script, no stylesheet or font from the network (the CSS is inline), figures referenced
relatively (``figures/<benchmark>-<digest>.png`` beside the page), every piece of text escaped. The
page holds no date, so the same results render to the same bytes (``theorybench leaderboard
--check`` compares it exactly). Sections: the overall table of predictors, the verdict matrix, and
one section per pillar with one card per benchmark (claim, references, open directions of the
companion site, target and tolerance, the figure, the scores and, folded, the numbers per point).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .pipeline import Results
from .plots import FigureData, size_px
from .spec import PILLAR_TITLES, PILLARS

__all__ = ["OPEN_DIRECTIONS", "OPEN_QUESTIONS_URL", "render_html"]

OPEN_QUESTIONS_URL = "https://learningmechanics.pub/openquestions"
#: The open directions of Simon, Kunin, Atanasov et al. (arXiv:2604.21691, sec. 5; 11 and 12 from
#: the companion site), shortened.
OPEN_DIRECTIONS = {
    1: "simple solvable models of deep, nonlinear learning",
    2: "a theory that captures natural data",
    3: "which functional complexity training implicitly minimizes",
    4: "a formal definition of learned features",
    5: "finite networks as approximations of infinite limits",
    6: "understanding and eliminating hyperparameters",
    7: "predicting scaling-law exponents a priori",
    8: "loss curvature, architecture and generalization",
    9: "what makes a good optimizer",
    10: "universality of learned representations",
    11: "learning as a sequence of units (quanta)",
    12: "saddle-to-saddle, low-rank steps in realistic networks",
}
PILLAR_NUMBER = {pillar: i + 1 for i, pillar in enumerate(PILLARS)}
VERDICT_CLASS = {
    "pass": "pass",
    "fail": "fail",
    "inconclusive": "inc",
    "abstain": "abs",
    "error": "err",
    "missing": "mis",
}

CSS = """
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; --pass: #1a7f37;
        --fail: #cf222e; --inc: #9a6700; --accent: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
       font: 15px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, "DejaVu Sans", sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px; }
a { color: var(--accent); }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 0 0 6px; }
code { font: 13px/1.3 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: var(--soft); white-space: nowrap;
       padding: 1px 4px; border-radius: 4px; }
.lede { color: var(--muted); margin: 4px 0 12px; max-width: 980px; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.c { text-align: center; }
.pass { color: var(--pass); font-weight: 600; }
.fail { color: var(--fail); font-weight: 600; }
.inc { color: var(--inc); font-weight: 600; }
.abs, .mis, .err { color: var(--muted); font-weight: 600; }
.err { color: var(--fail); }
.muted, .small { color: var(--muted); }
.small { font-size: 12.5px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 16px 0 24px; }
.card .meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0;
              font-size: 13.5px; }
.card .meta dt { color: var(--muted); }
.card .meta dd { margin: 0; }
.card ul { margin: 4px 0 8px; padding-left: 20px; font-size: 13.5px; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; max-width: 980px; }
details summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
.legend { font-size: 13.5px; max-width: 980px; }
.legend dt { font-weight: 600; }
.legend dd { margin: 0 0 6px 18px; color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _rich(text: str) -> str:
    """Escaped text whose ``double-backticked`` spans (docstring style) become ``<code>``."""
    return re.sub(r"``(.+?)``", r"<code>\1</code>", _e(text))


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "—"
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}g}"


def _cell_text(values: Any, sem: Any = None) -> str:
    """A point's numbers: a scalar or a few events in full, a curve by its last value."""
    if values is None:
        return "—"
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    errors = None if sem is None else np.asarray(sem, dtype=np.float64).reshape(-1)
    if flat.size > 6:
        text = f"last {_fmt(flat[-1])}"
        if errors is not None:
            text += f" ± {_sem(errors[-1], flat[-1])}"
        return text + f" ({flat.size} steps)"
    parts = [_fmt(v) for v in flat]
    if errors is not None:
        parts = [f"{p} ± {_sem(s, v)}" for p, s, v in zip(parts, errors, flat)]
    return ", ".join(parts)


def _sem(sem: float, value: float) -> str:
    # seeds that agree to rounding: the digits of their spread are floating-point noise
    return "0" if abs(sem) <= 1e-9 * abs(value) else _fmt(sem, 2)


def _error(x: float | None) -> str:
    return "< 1e-12" if x is not None and 0 < x < 1e-12 else _fmt(x, 3)


def _verdict(verdict: str) -> str:
    from .leaderboard import SYMBOL

    return f'<span class="{VERDICT_CLASS.get(verdict, "")}">{_e(SYMBOL.get(verdict, ""))} {_e(verdict)}</span>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """``rows`` hold HTML (already escaped) cells."""
    out = [
        "<table>",
        "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr></thead>",
    ]
    out.append("<tbody>")
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _overall(tier: dict[str, Any]) -> str:
    from .leaderboard import OVERALL_COLUMNS, overall_rows

    rows = []
    for r in overall_rows(tier):
        refs = "; ".join(r["references"])
        rows.append(
            [
                f"<code>{_e(r['predictor'])}</code>",
                *[_e(r[c]) for c in OVERALL_COLUMNS[1:]],
                _rich(r["description"])
                + (f'<br><span class="small">{_e(refs)}</span>' if refs else ""),
            ]
        )
    return _table([*OVERALL_COLUMNS, "what it is"], rows, numeric={3, 4, 5, 6, 7, 8})


def _matrix(tier: dict[str, Any]) -> str:
    from .leaderboard import SYMBOL

    names = sorted({s["predictor"] for b in tier["benchmarks"] for s in b["scores"]})
    rows = []
    for b in tier["benchmarks"]:
        verdicts = {s["predictor"]: s["verdict"] for s in b["scores"]}
        cells = [f'<a href="#{_e(b["id"])}"><code>{_e(b["id"])}</code></a>']
        for n in names:
            v = verdicts.get(n, "")
            cells.append(
                f'<span class="{VERDICT_CLASS.get(v, "")}" title="{_e(v)}">{_e(SYMBOL.get(v, ""))}</span>'
            )
        rows.append(cells)
    return _table(["benchmark", *names], rows).replace("<td><span", '<td class="c"><span')


def _scores_table(b: dict[str, Any]) -> str:
    from .leaderboard import score_cells, sorted_scores

    rows = []
    for s in sorted_scores(b):
        cells = score_cells(b, s)
        rows.append(
            [
                f"<code>{_e(cells['predictor'])}</code>"
                + (' <span class="small">(baseline)</span>' if cells["baseline"] else ""),
                _verdict(s["verdict"]),
                _e(cells["error [95% CI]"]),
                _e(cells["noise ceiling"]),
                _e(cells["skill"]),
                _e(cells["coverage"]),
                _e(cells["chi2/dof"]),
                _e(cells["|z| ≤ 2"]),
            ]
        )
    return _table(
        [
            "predictor",
            "verdict",
            "error [95% CI]",
            "noise ceiling",
            "skill",
            "coverage",
            "χ²/dof",
            "cells with |z| ≤ 2",
        ],
        rows,
        numeric={2, 3, 4, 5, 6, 7},
    )


def _points_table(b: dict[str, Any], results: Results) -> str:
    scores = results.scores.get(b["id"], {})
    names = [n for n in sorted(scores, key=lambda n: (n == b["baseline"], n)) if scores[n].points]
    if not names:
        return ""
    rows = []
    reference = scores[names[0]]
    for point in reference.points:
        row = [_e(point.label), _e(_cell_text(point.measured, point.sem))]
        for name in names:
            ps = scores[name].points[point.index]
            if ps.status == "ok":
                row.append(
                    f"{_e(_cell_text(ps.predicted))}<br>"
                    f'<span class="small">error {_e(_error(ps.error))}</span>'
                )
            else:
                row.append(
                    f'<span class="{VERDICT_CLASS.get(ps.status, "")}">{_e(ps.status)}</span>'
                    + (f'<br><span class="small">{_e(ps.message)}</span>' if ps.message else "")
                )
        rows.append(row)
    headers = ["sweep point", f"measured {b['statistic']} ± s.e.", *names]
    return (
        "<details><summary>Numbers at every sweep point</summary>\n"
        + _table(headers, rows)
        + '\n<p class="small">Curves are summarized by their last value; the full numbers are '
        f"printed by <code>theorybench show {_e(b['id'])}</code> and stored in "
        "<code>leaderboard/results</code>.</p></details>"
    )


def _card(
    b: dict[str, Any], results: Results, figures: Mapping[str, FigureData], link_root: str
) -> str:
    tol = b["tolerance"]
    value = f"{tol['value']:g}"
    spec = f"{link_root}/benchmarks/{b['pillar']}/{b['id']}.yaml"
    parts = [
        f'<article class="card" id="{_e(b["id"])}">',
        f"<h3><code>{_e(b['id'])}</code> — {_e(b['title'])}</h3>",
        f"<p><b>Claim.</b> {_e(b['claim'])}</p>",
        '<dl class="meta">',
        f"<dt>target</dt><dd><code>{_e(b['quantity'])}</code>, {_e(b['statistic'])} over "
        f"{_e(b['seeds'])} seeds at {_e(b['points'])} sweep points</dd>",
        f"<dt>pass if</dt><dd>the {_e(tol['aggregate'])} <code>{_e(tol['metric'])}</code> error "
        f"≤ {_e(value)} (95% interval entirely below)</dd>",
        f"<dt>baseline</dt><dd><code>{_e(b['baseline'])}</code></dd>",
        f'<dt>spec</dt><dd><a href="{_e(spec)}">{_e(b["id"])}.yaml</a> (version {_e(b["version"])}) · '
        f'<a href="{_e(link_root + "/" + b["card"])}">card: formula, regime of validity, '
        "tolerance</a></dd>",
    ]
    if b["open_directions"]:
        links = ", ".join(
            f'<a href="{OPEN_QUESTIONS_URL}#od-{n}">{n}. {_e(OPEN_DIRECTIONS.get(n, ""))}</a>'
            for n in b["open_directions"]
        )
        parts.append(f"<dt>open directions</dt><dd>{links}</dd>")
    parts.append("</dl>")
    parts.append(
        "<b>References</b><ul>" + "".join(f"<li>{_e(r)}</li>" for r in b["references"]) + "</ul>"
    )
    figure = b.get("figure")
    if figure and figure in figures:
        width, height = size_px(figures[figure])
        parts.append(
            f'<figure><a href="{_e(figure)}"><img src="{_e(figure)}" width="{width}" '
            f'height="{height}" alt="{_e(b["id"])}: forecast against measurement"></a>'
            "<figcaption>Dots: the measured statistic at each point, grey band ± 1 standard "
            "error over seeds; lines: forecasts (the baseline dashed); lower panels: the "
            "per-cell error in the benchmark's metric, with the seed-noise band and the "
            "tolerance dotted (the tolerance applies to the aggregate error).</figcaption></figure>"
        )
    else:
        parts.append('<p class="muted">Not measured yet.</p>')
    parts.append(_scores_table(b))
    parts.append(_points_table(b, results))
    parts.append("</article>")
    return "\n".join(p for p in parts if p)


LEGEND = """<dl class="legend">
<dt>verdict</dt><dd>✓ pass: the 95% interval of the error lies within the tolerance · ✗ fail: it
lies above · ? inconclusive: the seeds cannot tell · – abstain: outside the predictor's theory ·
! error: the predictor crashed, returned NaN or the wrong shape, or ran out of time.</dd>
<dt>error [95% CI]</dt><dd>by default the mean over sweep points and cells of
|ln(forecast / measured)| (0.05 ≈ 5% off), with its seed-bootstrap interval.</dd>
<dt>noise ceiling</dt><dd>what an exact forecast would score with these seeds.</dd>
<dt>skill</dt><dd>1 − error / baseline error: 1 is perfect, 0 no better than the trivial
baseline.</dd>
<dt>coverage</dt><dd>benchmarks (per benchmark: sweep points) where the predictor forecast.</dd>
<dt>zero-shot</dt><dd>the predictor fitted nothing to measurements (its <code>fitted_on</code> is
empty).</dd>
</dl>"""


def render_html(
    payload: dict[str, Any],
    results: Results,
    figures: Mapping[str, FigureData],
    link_root: str,
    *,
    preview: bool = False,
) -> str:
    """The page for the default tier of ``payload`` (see module docstring)."""
    tier = payload["tiers"]["default"]
    docs = f"{link_root}/docs"
    title = "theorybench leaderboard" + (" (preview)" if preview else "")
    out = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_e(title)}</h1>",
        '<p class="lede">Who predicts what, and how well. Every row is a theory (or a trivial '
        "baseline) forecasting an aggregate quantity of real training runs before seeing them; "
        "the harness trains the setting over many seeds and scores the forecast with "
        "seed-noise-aware statistics. Default tier, rendered by <code>theorybench "
        "leaderboard</code> from the committed results"
        + (
            ", with forecasts computed locally (a preview, not the committed board)"
            if preview
            else ""
        )
        + ".</p>",
        "<nav>"
        + "".join(
            f'<a href="#pillar-{p}">{PILLAR_NUMBER[p]}. {_e(PILLAR_TITLES[p])}</a>' for p in PILLARS
        )
        + "</nav>",
        '<p class="small"><a href="README.md">Markdown board</a> · '
        '<a href="leaderboard.json">leaderboard.json</a> · '
        f'<a href="{_e(docs)}/statistics.md">how scores are computed</a> · '
        f'<a href="{_e(docs)}/submitting-a-predictor.md">submit a predictor</a></p>',
        '<h2 id="predictors">Predictors</h2>',
        _overall(tier),
        "<details><summary>How to read the board</summary>",
        LEGEND,
        "</details>",
        '<h2 id="verdicts">Verdict matrix</h2>',
        _matrix(tier),
    ]
    for pillar in PILLARS:
        benchmarks = [b for b in tier["benchmarks"] if b["pillar"] == pillar]
        out.append(
            f'<h2 id="pillar-{pillar}">{PILLAR_NUMBER[pillar]}. {_e(PILLAR_TITLES[pillar])}</h2>'
        )
        if not benchmarks:
            out.append('<p class="muted">No benchmarks yet.</p>')
        for b in benchmarks:
            out.append(_card(b, results, figures, link_root))
    out += [
        "<footer>Rendered by <code>theorybench leaderboard</code> from "
        "<code>leaderboard/results</code>; no dates, so the same results give the same page. "
        'Statistics: <a href="' + _e(docs) + '/statistics.md">docs/statistics.md</a>.</footer>',
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)
