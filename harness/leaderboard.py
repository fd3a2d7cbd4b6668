"""Rendering the leaderboard from the committed results (``leaderboard/results``):

- ``leaderboard/leaderboard.json``, the source of truth for the tables;
- the tables of ``leaderboard/README.md`` between ``<!-- BEGIN LEADERBOARD -->`` and
  ``<!-- END LEADERBOARD -->``, with a thumbnail of each benchmark's figure;
- ``leaderboard/index.html``, a static page (no script, no network) with one card per benchmark;
- ``leaderboard/figures/<benchmark>-<digest>.png``, forecast against measurement
  (:mod:`harness.plots`).

The text files contain no dates, so the same results always render to the same bytes and
``theorybench leaderboard --check`` compares them exactly. Figures are named by a digest of the
numbers they plot, so a stale figure shows up as a changed name in the text files; ``--check``
then only verifies that every figure the text names exists (pixels depend on the matplotlib and
freetype versions, the plotted numbers do not).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from .paths import Paths
from .pipeline import Results, Session
from .plots import FigureData, figure_data
from .scoring import Score
from .spec import PILLAR_TITLES, PILLARS, Benchmark
from .store import SCHEMA_VERSION

__all__ = [
    "BEGIN",
    "END",
    "Board",
    "check_board",
    "overall_rows",
    "render_board",
    "stale_reasons",
    "write_board",
]

BEGIN = "<!-- BEGIN LEADERBOARD -->"
END = "<!-- END LEADERBOARD -->"
BOARD_TIERS = ("default", "smoke")
FIGURE_TIER = "default"
FIGURES = "figures"
FIGURE_NAME = re.compile(r"^[a-z0-9-]+-[0-9a-f]{12}\.png$")
THUMBNAIL_WIDTH = 220
THUMBNAILS_PER_ROW = 4
SYMBOL = {
    "pass": "✓",
    "fail": "✗",
    "inconclusive": "?",
    "abstain": "–",
    "error": "!",
    "missing": "·",
}


def _round(x: float | None, digits: int = 4) -> float | str | None:
    if x is None:
        return None
    if not math.isfinite(x):
        return str(x)
    return float(f"{x:.{digits}g}")


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if not math.isfinite(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}g}"


@dataclass
class Board:
    """The rendered board, in memory.

    Attributes:
        payload: ``leaderboard.json``.
        markdown: the text between the markers of ``README.md``.
        html: ``index.html``.
        figures: ``{path relative to the board folder: the figure's numbers}`` (drawn on writing).
        preview: a board with predictors outside the committed results (never written over
            ``leaderboard/``).
    """

    payload: dict[str, Any]
    markdown: str
    html: str
    figures: dict[str, FigureData]
    sessions: dict[str, Session]
    results: dict[str, Results]
    preview: bool = False
    extra: list[str] = field(default_factory=list)


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def card_link(root: str | Path, benchmark: Benchmark) -> str:
    """Path (from the project root) of the benchmark's card: its pillar README and heading anchor."""
    readme = Path(root) / "benchmarks" / benchmark.pillar / "README.md"
    relative = f"benchmarks/{benchmark.pillar}/README.md"
    if not readme.exists():
        return relative
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("## ") and f"`{benchmark.id}`" in line:
            return f"{relative}#{_slug(line[3:])}"
    return relative


def _score_json(score: Score) -> dict[str, Any]:
    return {
        "predictor": score.predictor,
        "verdict": score.verdict,
        "error": _round(score.error),
        "error_low": _round(score.error_low),
        "error_high": _round(score.error_high),
        "noise_ceiling": _round(score.noise_ceiling),
        "skill": _round(score.skill, 3),
        "coverage": _round(score.coverage, 3),
        "chi2_dof": _round(score.chi2_dof, 3),
        "z_within_2": _round(score.z_within_2, 3),
        "seeds": score.seeds,
        "points": [
            {
                "label": p.label,
                "status": p.status,
                "error": _round(p.error),
                "error_low": _round(p.error_low),
                "error_high": _round(p.error_high),
                "verdict": p.verdict,
            }
            for p in score.points
        ],
    }


def _tier_payload(
    session: Session, results: Results, figures: dict[str, str | None]
) -> dict[str, Any]:
    benchmarks = []
    for b in session.benchmarks:
        scores = results.scores.get(b.id, {})
        measured = results.measurements.get(b.id)
        benchmarks.append(
            {
                "id": b.id,
                "version": b.version,
                "pillar": b.pillar,
                "title": b.title,
                "claim": b.claim,
                "references": list(b.references),
                "open_directions": list(b.open_directions),
                "quantity": b.target.quantity,
                "statistic": b.target.statistic,
                "seeds": b.seeds,
                "points": len(b.points),
                "tolerance": {
                    "metric": b.tolerance.metric,
                    "value": b.tolerance.value,
                    "aggregate": b.tolerance.aggregate,
                },
                "baseline": b.baseline,
                "spec_hash": b.spec_hash,
                "card": card_link(session.paths.root, b),
                "figure": figures.get(b.id),
                "engine_versions": sorted(measured.environments) if measured else [],
                "scores": [_score_json(scores[name]) for name in sorted(scores)],
            }
        )
    predictors = []
    for loaded in session.predictors:
        info = loaded.info
        verdicts = [results.scores.get(b.id, {}).get(info.name) for b in session.benchmarks]
        present = [s for s in verdicts if s is not None]
        counts = {
            v: sum(s.verdict == v for s in present)
            for v in ("pass", "fail", "inconclusive", "abstain", "error", "missing")
        }
        skills = [
            s.skill
            for s in present
            if s.skill is not None
            and math.isfinite(s.skill)
            and info.name != _baseline_of(session, s.benchmark)
        ]
        covered = sum(s.verdict in ("pass", "fail", "inconclusive") for s in present)
        predictors.append(
            {
                "name": info.name,
                "version": info.version,
                "kind": info.kind,
                "zero_shot": info.zero_shot,
                "fitted_on": list(info.fitted_on),
                "references": list(info.references),
                "description": info.description,
                "covered": covered,
                "benchmarks": len(session.benchmarks),
                **counts,
                "median_skill": _round(float(np.median(skills)), 3) if skills else None,
            }
        )
    return {"benchmarks": benchmarks, "predictors": predictors}


def _baseline_of(session: Session, benchmark_id: str) -> str:
    return next(b.baseline for b in session.benchmarks if b.id == benchmark_id)


def overall_rows(tier: dict[str, Any]) -> list[dict[str, Any]]:
    """The overall table (one row per predictor, theories first), shared by README.md and index.html."""
    rows = []
    for p in sorted(
        tier["predictors"], key=lambda p: (p["kind"] != "theory", -p["pass"], p["name"])
    ):
        rows.append(
            {
                "predictor": p["name"],
                "kind": p["kind"],
                "zero-shot": "yes"
                if p["zero_shot"]
                else f"no (fitted on {', '.join(p['fitted_on'])})",
                "coverage": f"{p['covered']}/{p['benchmarks']}",
                "pass": p["pass"],
                "fail": p["fail"],
                "inconclusive": p["inconclusive"],
                "error": p["error"],
                "median skill": _fmt(p["median_skill"], 2),
                "description": p["description"],
                "references": p["references"],
            }
        )
    return rows


OVERALL_COLUMNS = (
    "predictor",
    "kind",
    "zero-shot",
    "coverage",
    "pass",
    "fail",
    "inconclusive",
    "error",
    "median skill",
)
SCORE_COLUMNS = (
    "predictor",
    "verdict",
    "error [95% CI]",
    "pass if",
    "noise ceiling",
    "skill",
    "coverage",
)


def score_cells(b: dict[str, Any], s: dict[str, Any]) -> dict[str, str]:
    """One (benchmark, predictor) row of the per-pillar tables, as display strings."""
    tol = b["tolerance"]
    interval = (
        f" [{_fmt(_num(s['error_low']))}, {_fmt(_num(s['error_high']))}]"
        if s["error"] is not None
        else ""
    )
    return {
        "predictor": s["predictor"],
        "baseline": s["predictor"] == b["baseline"],
        "verdict": f"{SYMBOL.get(s['verdict'], '')} {s['verdict']}",
        "error [95% CI]": f"{_fmt(_num(s['error']))}{interval}",
        "pass if": f"{tol['aggregate']} {tol['metric']} ≤ {tol['value']:g}",
        "noise ceiling": _fmt(_num(s["noise_ceiling"])),
        "skill": _fmt(_num(s["skill"]), 2),
        "coverage": f"{_num(s['coverage']):.0%}" if s["coverage"] is not None else "—",
        "chi2/dof": _fmt(_num(s["chi2_dof"])),
        "|z| ≤ 2": f"{_num(s['z_within_2']):.0%}" if s["z_within_2"] is not None else "—",
    }


def sorted_scores(b: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(b["scores"], key=lambda s: (s["predictor"] == b["baseline"], s["predictor"]))


def _markdown(payload: dict[str, Any], link_root: str) -> str:
    tier = payload["tiers"]["default"]
    lines = [
        BEGIN,
        "",
        "_Rendered by `theorybench leaderboard` from `leaderboard/results` (default tier). Do not "
        "edit by hand. Every benchmark's card, figure and numbers: [index.html](index.html)._",
        "",
        "### Predictors",
        "",
    ]
    rows = [
        [f"`{r['predictor']}`", *[r[c] for c in OVERALL_COLUMNS[1:]]] for r in overall_rows(tier)
    ]
    lines.append(tabulate(rows, headers=list(OVERALL_COLUMNS), tablefmt="github"))
    for pillar in PILLARS:
        benchmarks = [b for b in tier["benchmarks"] if b["pillar"] == pillar]
        lines += ["", f"### {PILLAR_TITLES[pillar]}", ""]
        if not benchmarks:
            lines.append("_No benchmarks yet._")
            continue
        rows = []
        for b in benchmarks:
            for i, s in enumerate(sorted_scores(b)):
                cells = score_cells(b, s)
                rows.append(
                    [
                        f"[`{b['id']}`]({link_root}/{b['card']})" if i == 0 else f"`{b['id']}`",
                        f"`{cells['predictor']}`" + (" (baseline)" if cells["baseline"] else ""),
                        *[cells[c] for c in SCORE_COLUMNS[1:]],
                        f"{b['seeds']} × {b['points']}",
                    ]
                )
        lines.append(
            tabulate(
                rows,
                headers=["benchmark", *SCORE_COLUMNS, "seeds × points"],
                tablefmt="github",
                disable_numparse=True,
            )
        )
        lines += _thumbnails(benchmarks)
    names = sorted({s["predictor"] for b in tier["benchmarks"] for s in b["scores"]})
    matrix = []
    for b in tier["benchmarks"]:
        verdicts = {s["predictor"]: s["verdict"] for s in b["scores"]}
        matrix.append([f"`{b['id']}`", *[SYMBOL.get(verdicts.get(n, ""), "") for n in names]])
    lines += [
        "",
        "### Verdict matrix",
        "",
        "✓ pass · ✗ fail · ? inconclusive · – abstain · ! error · blank: not applicable",
        "",
    ]
    lines.append(
        tabulate(matrix, headers=["benchmark", *[f"`{n}`" for n in names]], tablefmt="github")
    )
    lines += ["", END]
    return "\n".join(lines)


def _thumbnails(benchmarks: list[dict[str, Any]]) -> list[str]:
    """A table of figure thumbnails (each links to the full-size figure)."""
    drawn = [b for b in benchmarks if b.get("figure")]
    if not drawn:
        return []
    lines = [
        "",
        "Forecast (lines) against measurement (dots, ± 1 s.e. band) over each sweep; below each "
        "panel the residual and the tolerance. Click for the full figure.",
    ]
    for start in range(0, len(drawn), THUMBNAILS_PER_ROW):
        chunk = drawn[start : start + THUMBNAILS_PER_ROW]
        lines += [
            "",
            "| " + " | ".join(f"`{b['id']}`" for b in chunk) + " |",
            "|" + "---|" * len(chunk),
            "| "
            + " | ".join(
                f'<a href="{b["figure"]}"><img src="{b["figure"]}" width="{THUMBNAIL_WIDTH}" '
                f'alt="{b["id"]}: forecast against measurement"></a>'
                for b in chunk
            )
            + " |",
        ]
    return lines


def _num(x: Any) -> float | None:
    if x is None:
        return None
    return float(x)


def render_board(
    root: str | Path,
    predictor_refs: Sequence[str] | None = None,
    *,
    extra: Sequence[str] = (),
    out: str | Path | None = None,
) -> Board:
    """Score the committed results of the board's tiers and render JSON, markdown and HTML (in memory).

    Args:
        root: the project root.
        predictor_refs: the predictors on the board (default: every built-in and installed one).
        extra: predictors to add for a *preview* (``file.py:Class`` or names): their forecasts are
            computed (no training) into the local store, and the board reads the local store too.
        out: the folder the board will be written to (default ``leaderboard/``); links to the
            project's files are made relative to it.
    """
    from .board_html import render_html

    paths = Paths(root)
    target = Path(out) if out is not None else paths.leaderboard
    link_root = Path(os.path.relpath(paths.root.resolve(), target.resolve())).as_posix()
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "theorybench leaderboard",
        "tiers": {},
    }
    preview = bool(extra)
    refs = list(predictor_refs or [])
    if preview:
        from .plugins import available_predictors

        refs = (refs or list(available_predictors())) + [r for r in extra if r not in refs]
    sessions, results, figures = {}, {}, {}
    for tier in BOARD_TIERS:
        session = Session(
            root, tier, predictor_refs=refs or None, use_published=True, use_local=preview
        )
        result = session.score(session.predict() if preview else session.load())
        names: dict[str, str | None] = {}
        if tier == FIGURE_TIER:
            for b in session.benchmarks:
                data = figure_data(b, result.scores.get(b.id, {}))
                names[b.id] = None if data is None else f"{FIGURES}/{data.file_name()}"
                if data is not None:
                    figures[f"{FIGURES}/{data.file_name()}"] = data
        payload["tiers"][tier] = _tier_payload(session, result, names)
        sessions[tier], results[tier] = session, result
    markdown = _markdown(payload, link_root)
    html = render_html(payload, results[FIGURE_TIER], figures, link_root, preview=preview)
    return Board(payload, markdown, html, figures, sessions, results, preview, list(extra))


def json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def splice(readme: str, markdown: str) -> str:
    """Replace the text between the markers (inclusive) with ``markdown``; append it if absent."""
    if BEGIN in readme and END in readme:
        head, _, rest = readme.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + markdown + tail
    return readme.rstrip("\n") + "\n\n" + markdown + "\n"


def stale_reasons(board: Board) -> list[str]:
    """Why the committed results do not cover the current specs and predictors (empty if they do)."""
    reasons = []
    for tier, result in board.results.items():
        session = board.sessions[tier]
        for b in session.benchmarks:
            measured = result.measurements.get(b.id)
            if measured is not None and not measured.complete:
                lost = sum(measured.missing.values())
                reasons.append(
                    f"{b.id} [{tier}]: {lost} measurement(s) missing from leaderboard/results"
                )
            for loaded in session.predictors:
                if b.target.quantity not in loaded.info.quantities:
                    continue
                records = result.predictions.get(b.id, {}).get(loaded.name, [])
                if len(records) < len(b.units):  # one forecast per point, or per derived group
                    reasons.append(
                        f"{b.id} [{tier}]: forecasts of {loaded.name} are missing or outdated (its code or version changed)"
                    )
    return reasons


PREVIEW_HEADER = """# theorybench leaderboard (preview)

A preview rendered by `theorybench leaderboard --predictor {refs}` from the committed
measurements, with forecasts computed locally. It is not the committed board: open
`index.html` beside this file to see every benchmark's card and figure.
"""


def write_board(
    root: str | Path, board: Board, out: str | Path | None = None, *, redraw: bool = False
) -> list[Path]:
    """Write the board into ``out`` (default ``leaderboard/``): README.md (only the text between the
    markers changes), leaderboard.json, index.html and the figures.

    Figures are content-addressed: one whose file already exists is not drawn again (unless
    ``redraw``), and figures the board no longer names are removed.
    """
    from .plots import draw

    paths = Paths(root)
    folder = Path(out) if out is not None else paths.leaderboard
    if board.preview and folder.resolve() == paths.leaderboard.resolve():
        raise ValueError("a preview board is never written over leaderboard/")
    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.md"
    if readme.exists():
        current = readme.read_text(encoding="utf-8")
    elif board.preview:
        current = PREVIEW_HEADER.format(refs=" ".join(board.extra))
    else:
        current = "# Leaderboard\n"
    readme.write_text(splice(current, board.markdown), encoding="utf-8")
    written = [readme]
    for name, text in (("leaderboard.json", json_text(board.payload)), ("index.html", board.html)):
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    for relative, data in sorted(board.figures.items()):
        target = folder / relative
        if redraw or not target.exists():
            draw(data, target)
            written.append(target)
    figures = folder / FIGURES
    if figures.is_dir():
        for path in sorted(figures.iterdir()):
            if FIGURE_NAME.match(path.name) and f"{FIGURES}/{path.name}" not in board.figures:
                path.unlink()
    return written


def board_orphans(root: str | Path, board: Board) -> list[Path]:
    """Committed result files that no benchmark tier or predictor of the board reads
    (:mod:`harness.orphans`)."""
    from .orphans import orphaned_results

    tiers = {tier: session.benchmarks for tier, session in board.sessions.items()}
    names = {loaded.name for session in board.sessions.values() for loaded in session.predictors}
    return orphaned_results(root, tiers, names)


def check_board(root: str | Path, board: Board) -> list[str]:
    """Differences between the committed board and a fresh rendering (empty if up to date)."""
    paths = Paths(root)
    folder = paths.leaderboard
    problems = list(stale_reasons(board))
    orphans = board_orphans(root, board)
    if orphans:
        first = orphans[0].relative_to(paths.root).as_posix()
        problems.append(
            f"{len(orphans)} committed result path(s) no current benchmark tier or predictor reads "
            f"(e.g. {first}); remove them with theorybench leaderboard --prune"
        )
    for name, text in (("leaderboard.json", json_text(board.payload)), ("index.html", board.html)):
        target = folder / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            problems.append(f"leaderboard/{name} differs from a fresh rendering")
    readme = folder / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if splice(current, board.markdown) != current:
        problems.append("leaderboard/README.md tables differ from a fresh rendering")
    for relative in sorted(board.figures):
        if not (folder / relative).is_file():
            problems.append(f"leaderboard/{relative} is missing (the plotted numbers changed)")
    figures = folder / FIGURES
    if figures.is_dir():
        for path in sorted(figures.iterdir()):
            if FIGURE_NAME.match(path.name) and f"{FIGURES}/{path.name}" not in board.figures:
                problems.append(f"leaderboard/{FIGURES}/{path.name} is no longer on the board")
    return problems
