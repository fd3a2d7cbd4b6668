"""Check benchmark specs: schema, types, ranges, names, tiers, sweeps.

Every problem is printed as ``file: field: message``; the exit status is 1 if there is any.
With ``--predictor`` the predictor is also checked against every benchmark it claims to cover, at
the smoke and default tiers: it must return a forecast of the right shape without NaN (or
abstain), give the same forecast twice, and stay within the benchmark's time budget.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ..errors import SpecError, TheorybenchError
from ..paths import Paths, find_root
from ..plugins import available_predictors, load_predictor
from ..predict import PredictionRecord, predict_benchmark
from ..spec import find_spec_files, load_benchmark_tiers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="spec files or folders (default: benchmarks/)")
    parser.add_argument(
        "-p",
        "--predictor",
        action="append",
        metavar="NAME|FILE.py:CLASS",
        help="also check this predictor",
    )


def _check_predictor(reference: str, specs: dict) -> list[str]:
    problems = []
    try:
        loaded = load_predictor(reference)
    except TheorybenchError as exc:
        return [str(exc)]
    covered = 0
    for path, tiers in specs.items():
        for tier in ("smoke", "default"):
            benchmark = tiers[tier]
            first = predict_benchmark(loaded, benchmark, None)
            if not first:
                continue
            covered += 1
            second = predict_benchmark(loaded, benchmark, None)
            for a, b in zip(first, second):
                where = f"{path} [{tier}, {benchmark.points[a.point].label}]"
                if a.status == "error":
                    problems.append(f"{where}: {a.message}")
                elif a.status != b.status or not _same(a, b):
                    problems.append(
                        f"{where}: not deterministic (two calls gave different forecasts)"
                    )
    if covered == 0:
        problems.append(
            f"{loaded.name} forecasts {', '.join(loaded.info.quantities)}, which no benchmark asks for"
        )
    else:
        print(f"predictor {loaded.name}: checked on {covered} benchmark tier(s)")
    return problems


def _same(a: PredictionRecord, b: PredictionRecord) -> bool:
    if a.mean is None or b.mean is None:
        return a.mean is None and b.mean is None
    return bool(np.array_equal(a.mean, b.mean, equal_nan=True))


def main(args: argparse.Namespace) -> int:
    root = find_root(args.root) if args.root else find_root()
    paths = find_spec_files(args.paths or [Paths(root).benchmarks])
    known = set(available_predictors())
    count, specs, ids = 0, {}, {}
    for path in paths:
        try:
            tiers = load_benchmark_tiers(path, known_predictors=known)
        except SpecError as exc:
            for issue in exc.issues:
                print(f"{issue}", file=sys.stderr)
            count += len(exc.issues)
            continue
        benchmark = tiers["default"]
        if benchmark.id in ids:
            print(
                f"{path}: id: {benchmark.id!r} is also the id of {ids[benchmark.id]}",
                file=sys.stderr,
            )
            count += 1
        ids[benchmark.id] = path
        specs[path] = tiers
        summary = ", ".join(
            f"{t} {len(b.points)} points × {b.seeds} seeds" for t, b in tiers.items()
        )
        print(f"ok  {path}  ({summary})")
    for reference in args.predictor or []:
        for problem in _check_predictor(reference, specs):
            print(problem, file=sys.stderr)
            count += 1
    if count:
        print(f"{count} problem(s)", file=sys.stderr)
        return 1
    return 0
