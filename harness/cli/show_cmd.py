"""Show one benchmark: its claim and setting, the measured statistic ± its standard error at every
sweep point, every forecast with its error, and the verdicts. Reads stored forecasts and
measurements (``theorybench run`` computes them); trains nothing.

``--plot FILE`` also writes the benchmark's figure, the same as the board's (``.png``, ``.svg`` or
``.pdf``, by the extension): forecast against measurement with the ± 1 s.e. band, and the residual.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

import numpy as np
import yaml
from tabulate import tabulate

from ..board_html import OPEN_DIRECTIONS, OPEN_QUESTIONS_URL
from ..hashing import jsonable
from ..plots import draw, figure_data
from .common import (
    SCORE_HEADERS,
    SYMBOL,
    add_json,
    fmt,
    print_json,
    score_rows,
    score_to_json,
    session_from,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", help="benchmark id")
    parser.add_argument("--tier", choices=("smoke", "default", "full"), default="default")
    parser.add_argument(
        "-p",
        "--predictor",
        action="append",
        metavar="NAME|FILE.py:CLASS",
        help="only this predictor (repeatable)",
    )
    parser.add_argument("--store", help="local store folder")
    parser.add_argument(
        "--ignore-published", action="store_true", help="do not read leaderboard/results"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="write the figure (forecast vs measurement) to FILE (.png, .svg or .pdf)",
    )
    add_json(parser)


def _cells(values: np.ndarray | None, sem: np.ndarray | None = None, limit: int = 4) -> str:
    if values is None:
        return "—"
    flat = np.asarray(values).reshape(-1)
    if flat.size > limit:  # a curve: its last value
        text = f"… {fmt(float(flat[-1]), 4)}"
        return text + (
            f" ± {fmt(float(np.asarray(sem).reshape(-1)[-1]), 2)}" if sem is not None else ""
        )
    parts = [fmt(float(v), 4) for v in flat]
    if sem is not None:
        parts = [f"{p} ± {fmt(float(s), 2)}" for p, s in zip(parts, np.asarray(sem).reshape(-1))]
    return ", ".join(parts)


def main(args: argparse.Namespace) -> int:
    session = session_from(args, benchmark_ids=[args.id])
    benchmark = session.benchmarks[0]
    results = session.score(session.load())
    scores = results.scores[benchmark.id]
    status = 0
    if args.plot:
        data = figure_data(benchmark, scores)
        if data is None:
            print(
                f"error: {benchmark.id} [{benchmark.tier}] is not measured yet: nothing to plot",
                file=sys.stderr,
            )
            status = 1
        else:
            draw(data, args.plot)
            print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        points = []
        for point in benchmark.units:  # the groups of a derived target, else the sweep points
            entry = {"index": point.index, "label": point.label, "forecasts": {}}
            for name, score in scores.items():
                ps = score.points[point.index] if score.points else None
                if ps is not None:
                    entry["measured"], entry["sem"] = jsonable(ps.measured), jsonable(ps.sem)
                    entry["forecasts"][name] = {
                        "status": ps.status,
                        "mean": jsonable(ps.predicted),
                        "error": ps.error,
                        "error_low": ps.error_low,
                        "error_high": ps.error_high,
                        "verdict": ps.verdict,
                        "message": ps.message,
                    }
            points.append(entry)
        print_json(
            {
                "benchmark": benchmark.id,
                "tier": benchmark.tier,
                "title": benchmark.title,
                "claim": benchmark.claim,
                "points": points,
                "scores": [score_to_json(s) for s in scores.values()],
            }
        )
        return status
    print(
        f"{benchmark.id}  ({benchmark.pillar}, version {benchmark.version}, tier {benchmark.tier})  {benchmark.path}"
    )
    print(benchmark.title)
    print(textwrap.fill(f"Claim: {benchmark.claim}", 100))
    for reference in benchmark.references:
        print(f"  - {reference}")
    for n in benchmark.open_directions:
        print(f"  open direction {n}: {OPEN_DIRECTIONS.get(n, '')} ({OPEN_QUESTIONS_URL}#od-{n})")
    tol = benchmark.tolerance
    print(
        f"\ntarget: {benchmark.target.quantity} ({benchmark.target.statistic} over {benchmark.seeds} seeds); "
        f"pass if the {tol.aggregate} {tol.metric} error ≤ {tol.value:g}; baseline: {benchmark.baseline}"
    )
    base = benchmark.points[0].setting
    print(
        "setting at the first sweep point:\n"
        + textwrap.indent(
            yaml.safe_dump(jsonable(base), sort_keys=False, default_flow_style=None).rstrip(), "  "
        )
    )
    names = sorted(scores, key=lambda n: (n == benchmark.baseline, n))
    rows = []
    for point in benchmark.units:  # the groups of a derived target, else the sweep points
        row = [point.label]
        first = next((s.points[point.index] for s in scores.values() if s.points), None)
        row.append(_cells(first.measured, first.sem) if first else "not measured")
        for name in names:
            ps = scores[name].points[point.index] if scores[name].points else None
            if ps is None or ps.status != "ok":
                row.append(ps.status if ps else "—")
            else:
                mark = SYMBOL.get(ps.verdict or "", "").split(" ")[0]
                row.append(f"{_cells(ps.predicted)}  (err {fmt(ps.error)} {mark})".rstrip())
        rows.append(row)
    print()
    headers = [
        f"{name}{' (baseline)' if name == benchmark.baseline else ''}\n{SYMBOL.get(scores[name].verdict, scores[name].verdict)}"
        for name in names
    ]
    measured = f"measured {benchmark.target.statistic} ± se"
    if benchmark.target.derive is not None:
        derive = benchmark.target.derive
        shift = " shift" if derive.anchor is not None else ""
        measured = f"{derive.kind}{shift} over {derive.x} ± se"
        if derive.kind == "steps_to":
            measured = f"steps to {derive.level:g}, fewest over {derive.x} ± se"
    print(tabulate(rows, headers=["group" if benchmark.groups else "point", measured, *headers]))
    if benchmark.target.quantity_class.shape_kind == "curve" and not benchmark.groups:
        print("(curves: the last grid step; `--json` or `--plot FILE` show every step)")
    print()
    print(tabulate(score_rows(scores[n] for n in names), headers=SCORE_HEADERS))
    for name in names:
        score = scores[name]
        if score.message:
            print(f"  {score.predictor}: {score.message}")
        for p in score.points:
            if p.status in ("abstain", "error") and p.message:
                verb = "abstains" if p.status == "abstain" else "failed"
                print(f"    {score.predictor} {verb} at {p.label}: {p.message}")
    return status
