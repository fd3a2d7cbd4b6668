"""Show one benchmark: its claim and setting, the measured statistic ± its standard error at every
sweep point, every forecast with its error, and the verdicts."""

from __future__ import annotations

import argparse
import textwrap

import numpy as np
import yaml
from tabulate import tabulate

from ..hashing import jsonable
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
    if args.json:
        points = []
        for point in benchmark.units:  # sweep points, or the groups of a derived target
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
        return 0
    print(
        f"{benchmark.id}  ({benchmark.pillar}, version {benchmark.version}, tier {benchmark.tier})  {benchmark.path}"
    )
    print(benchmark.title)
    print(textwrap.fill(f"Claim: {benchmark.claim}", 100))
    for reference in benchmark.references:
        print(f"  - {reference}")
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
    names = list(scores)
    rows = []
    for point in benchmark.units:
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
    what = (
        f"{benchmark.target.derive.kind} of the {benchmark.target.statistic}"
        if benchmark.target.derive is not None
        else benchmark.target.statistic
    )
    print(tabulate(rows, headers=["point", f"measured {what} ± se", *names]))
    print()
    print(tabulate(score_rows(scores.values()), headers=SCORE_HEADERS))
    for score in scores.values():
        if score.message:
            print(f"  {score.predictor}: {score.message}")
    return 0
