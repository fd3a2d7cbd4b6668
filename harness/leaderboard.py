"""Rendering the leaderboard: ``leaderboard/leaderboard.json`` (the source of truth for the tables)
and the tables of ``leaderboard/README.md`` between ``<!-- BEGIN LEADERBOARD -->`` and
``<!-- END LEADERBOARD -->``.

Both are rendered from the committed results (``leaderboard/results``) only, never from a local
store, and contain no dates, so rendering the same results always gives the same bytes and
``theorybench leaderboard --check`` can tell when the committed board is stale.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from .paths import Paths
from .pipeline import Results, Session
from .scoring import Score
from .spec import PILLAR_TITLES, PILLARS
from .store import SCHEMA_VERSION

__all__ = ["BEGIN", "END", "Board", "render_board", "stale_reasons"]

BEGIN = "<!-- BEGIN LEADERBOARD -->"
END = "<!-- END LEADERBOARD -->"
BOARD_TIERS = ("default", "smoke")
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
    """The rendered board: the JSON payload and the markdown between the markers."""

    payload: dict[str, Any]
    markdown: str
    sessions: dict[str, Session]
    results: dict[str, Results]


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


def _tier_payload(session: Session, results: Results) -> dict[str, Any]:
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


def _markdown(payload: dict[str, Any]) -> str:
    tier = payload["tiers"]["default"]
    lines = [
        BEGIN,
        "",
        "_Rendered by `theorybench leaderboard` from `leaderboard/results` (default tier). Do not edit by hand._",
        "",
        "### Predictors",
        "",
    ]
    rows = []
    for p in sorted(
        tier["predictors"], key=lambda p: (p["kind"] != "theory", -p["pass"], p["name"])
    ):
        rows.append(
            [
                f"`{p['name']}`",
                p["kind"],
                "yes" if p["zero_shot"] else f"no ({', '.join(p['fitted_on'])})",
                f"{p['covered']}/{p['benchmarks']}",
                p["pass"],
                p["fail"],
                p["inconclusive"],
                p["error"],
                _fmt(p["median_skill"], 2) if p["median_skill"] is not None else "—",
            ]
        )
    lines.append(
        tabulate(
            rows,
            headers=[
                "predictor",
                "kind",
                "zero-shot",
                "coverage",
                "pass",
                "fail",
                "inconclusive",
                "error",
                "median skill",
            ],
            tablefmt="github",
        )
    )
    for pillar in PILLARS:
        benchmarks = [b for b in tier["benchmarks"] if b["pillar"] == pillar]
        lines += ["", f"### {PILLAR_TITLES[pillar]}", ""]
        if not benchmarks:
            lines.append("_No benchmarks yet._")
            continue
        rows = []
        for b in benchmarks:
            tol = b["tolerance"]
            for s in sorted(
                b["scores"], key=lambda s: (s["predictor"] == b["baseline"], s["predictor"])
            ):
                interval = (
                    f" [{_fmt(_num(s['error_low']))}, {_fmt(_num(s['error_high']))}]"
                    if s["error"] is not None
                    else ""
                )
                rows.append(
                    [
                        f"`{b['id']}`",
                        f"`{s['predictor']}`"
                        + (" (baseline)" if s["predictor"] == b["baseline"] else ""),
                        f"{SYMBOL.get(s['verdict'], '')} {s['verdict']}",
                        f"{_fmt(_num(s['error']))}{interval}",
                        f"{tol['aggregate']} {tol['metric']} ≤ {tol['value']:g}",
                        _fmt(_num(s["noise_ceiling"])),
                        _fmt(_num(s["skill"]), 2),
                        f"{b['seeds']} × {b['points']}",
                    ]
                )
        lines.append(
            tabulate(
                rows,
                headers=[
                    "benchmark",
                    "predictor",
                    "verdict",
                    "error [95% CI]",
                    "pass if",
                    "noise ceiling",
                    "skill",
                    "seeds × points",
                ],
                tablefmt="github",
            )
        )
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


def _num(x: Any) -> float | None:
    if x is None:
        return None
    return float(x)


def render_board(root: str | Path, predictor_refs: Sequence[str] | None = None) -> Board:
    """Score the committed results of the board's tiers and render JSON and markdown (in memory)."""
    payload: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "theorybench leaderboard",
        "tiers": {},
    }
    sessions, results = {}, {}
    for tier in BOARD_TIERS:
        session = Session(
            root, tier, predictor_refs=predictor_refs, use_published=True, use_local=False
        )
        result = session.score(session.load())
        payload["tiers"][tier] = _tier_payload(session, result)
        sessions[tier], results[tier] = session, result
    return Board(payload, _markdown(payload), sessions, results)


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
                if len(records) < len(b.units):  # points, or the groups of a derived target
                    reasons.append(
                        f"{b.id} [{tier}]: forecasts of {loaded.name} are missing or outdated (its code or version changed)"
                    )
    return reasons


def write_board(root: str | Path, board: Board) -> list[Path]:
    paths = Paths(root)
    paths.leaderboard.mkdir(parents=True, exist_ok=True)
    readme = paths.leaderboard / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else "# Leaderboard\n"
    readme.write_text(splice(current, board.markdown), encoding="utf-8")
    target = paths.leaderboard / "leaderboard.json"
    target.write_text(json_text(board.payload), encoding="utf-8")
    return [readme, target]


def check_board(root: str | Path, board: Board) -> list[str]:
    """Differences between the committed board and a fresh rendering (empty if up to date)."""
    paths = Paths(root)
    problems = list(stale_reasons(board))
    target = paths.leaderboard / "leaderboard.json"
    if not target.exists() or target.read_text(encoding="utf-8") != json_text(board.payload):
        problems.append("leaderboard/leaderboard.json differs from a fresh rendering")
    readme = paths.leaderboard / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if splice(current, board.markdown) != current:
        problems.append("leaderboard/README.md tables differ from a fresh rendering")
    return problems
