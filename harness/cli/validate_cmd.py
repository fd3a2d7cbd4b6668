"""Check benchmark specs: schema, types, ranges, names, tiers, sweeps.

Every problem is printed as ``file: field: message``; the exit status is 1 if there is any.

With ``--predictor NAME|FILE.py:Class`` the predictor is also checked, before anything is trained,
against every benchmark whose quantity it declares, at every tier (points shared by tiers are
checked once): its fields (name, kind, known quantities, known ``fitted_on`` ids, a free name, a
description); and at every point a forecast of the right shape without NaN (``+inf`` is allowed)
or an abstention, the same forecast from a second call, each within the benchmark's
``budget.predict_seconds``. A summary line per benchmark says how many forecasts and abstentions
(with the reasons) and the slowest forecast against the budget.
"""

from __future__ import annotations

import argparse
import re
import sys

import numpy as np

from ..components import QUANTITIES
from ..errors import SpecError, TheorybenchError
from ..paths import Paths, find_root
from ..plugins import available_predictors, load_predictor
from ..predict import PredictionRecord, predict_benchmark, problems_of
from ..registry import did_you_mean
from ..spec import ID_PATTERN, find_spec_files, load_benchmark_tiers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="spec files or folders (default: benchmarks/)")
    parser.add_argument(
        "-p",
        "--predictor",
        action="append",
        metavar="NAME|FILE.py:CLASS",
        help="also check this predictor on every benchmark it covers (repeatable)",
    )


def _metadata_problems(loaded, ids: set[str]) -> list[str]:
    """Problems with a predictor's declared fields (before any forecast is computed)."""
    info, predictor = loaded.info, loaded.predictor
    problems = []
    if not re.fullmatch(ID_PATTERN, info.name):
        problems.append(f"name {info.name!r}: use lowercase letters, digits and hyphens")
    if info.kind not in ("theory", "baseline"):
        problems.append(f"kind {info.kind!r}: must be 'theory' or 'baseline'")
    if isinstance(getattr(predictor, "quantities", None), str):
        problems.append(
            f"quantities is the string {predictor.quantities!r}: write a tuple, ({predictor.quantities!r},)"
        )
    else:
        for quantity in info.quantities:
            if quantity not in QUANTITIES:
                problems.append(
                    f"quantities: unknown quantity {quantity!r}{did_you_mean(quantity, QUANTITIES.names())}"
                )
    if isinstance(getattr(predictor, "fitted_on", None), str):
        problems.append(f"fitted_on is a string: write a tuple, ({predictor.fitted_on!r},)")
    else:
        for benchmark in info.fitted_on:
            if benchmark not in ids:
                problems.append(
                    f"fitted_on: unknown benchmark {benchmark!r}{did_you_mean(benchmark, ids)}"
                )
    if info.source.startswith("file "):
        taken = available_predictors()
        if info.name in taken:
            problems.append(
                f"name {info.name!r} is taken by a {taken[info.name]} predictor; choose another"
            )
    return problems


def _same(a: PredictionRecord, b: PredictionRecord) -> bool:
    if a.status != b.status:
        return False
    if a.mean is None or b.mean is None:
        return a.mean is None and b.mean is None
    return bool(np.array_equal(a.mean, b.mean, equal_nan=True))


def _check_benchmark(loaded, tiers: dict) -> tuple[list[str], str, list[str]]:
    """Forecast every distinct point of every tier twice; returns (problems, summary line)."""
    problems: list[str] = []
    seen: set[str] = set()
    checked_tiers, ok, abstained, failed, slowest, budget = [], 0, [], 0, 0.0, 0.0
    for tier, benchmark in tiers.items():
        keys = [p.key for p in problems_of(benchmark)]
        if set(keys) <= seen:
            continue  # the same points as a tier already checked
        checked_tiers.append(tier)
        budget = max(budget, benchmark.budget_seconds)
        first = predict_benchmark(loaded, benchmark, None)
        second = predict_benchmark(loaded, benchmark, None)
        for a, b, key in zip(first, second, keys):
            if key in seen:
                continue
            seen.add(key)
            where = f"[{tier}, {benchmark.points[a.point].label}]"
            slowest = max(slowest, a.seconds, b.seconds)
            if a.status == "error" or b.status == "error":
                failed += 1
                problems.append(f"{where} {a.message if a.status == 'error' else b.message}")
            elif not _same(a, b):
                failed += 1
                problems.append(
                    f"{where} not deterministic: two calls gave different forecasts "
                    "(seed any randomness, e.g. with problem.rng())"
                )
            elif a.status == "abstain":
                abstained.append(f"{where} {a.message}")
            else:
                ok += 1
    total = len(seen)
    line = (
        f"{total} point(s) [{', '.join(checked_tiers)}]: {ok} forecast(s), "
        f"{len(abstained)} abstention(s), {failed} problem(s); slowest forecast "
        f"{slowest:.2g} s of the {budget:g} s budget"
    )
    if ok + len(abstained) == total and not failed:
        line += "; same forecast twice"
    details = [f"abstains {a}" for a in abstained]
    return problems, line, details


def _check_predictor(reference: str, specs: dict) -> list[str]:
    """Check a predictor on every benchmark it claims to cover, at every tier; print a summary."""
    try:
        loaded = load_predictor(reference)
    except TheorybenchError as exc:
        print(f"✗ {exc}")
        return [str(exc)]
    info = loaded.info
    ids = {tiers["default"].id for tiers in specs.values()}
    print(
        f"predictor {info.name} (version {info.version}, {info.kind}, "
        f"{'zero-shot' if info.zero_shot else 'fitted on ' + ', '.join(info.fitted_on)}; "
        f"{info.source}) forecasts {', '.join(info.quantities) or 'nothing'}"
    )
    found = _metadata_problems(loaded, ids)
    for problem in found:
        print(f"  ✗ {problem}")
    problems = [f"{reference}: {p}" for p in found]
    if not info.description:
        print("  note: no description; the board shows the first line of the class docstring")
    if isinstance(getattr(loaded.predictor, "quantities", None), str):
        print(f"predictor {info.name}: fix its fields first: {len(problems)} problem(s)")
        return problems
    covered, skipped = 0, []
    for _path, tiers in specs.items():
        benchmark = tiers["default"]
        if benchmark.target.quantity not in info.quantities:
            skipped.append(f"{benchmark.id} ({benchmark.target.quantity})")
            continue
        covered += 1
        found, line, details = _check_benchmark(loaded, tiers)
        print(f"  {'✗' if found else '✓'} {benchmark.id}: {line}")
        for detail in found:
            print(f"      ✗ {detail}")
            problems.append(f"{reference}: {benchmark.id} {detail}")
        for detail in details:
            print(f"      – {detail}")
    if skipped:
        print(f"  not covered (other quantities): {', '.join(skipped)}")
    if covered == 0:
        problem = f"{info.name} forecasts {', '.join(info.quantities) or 'nothing'}, which no benchmark asks for"
        print(f"  ✗ {problem}")
        problems.append(f"{reference}: {problem}")
    verdict = "ok" if not problems else f"{len(problems)} problem(s)"
    print(f"predictor {info.name}: {covered} benchmark(s) checked: {verdict}")
    return problems


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
        count += len(_check_predictor(reference, specs))
    if count:
        print(f"{count} problem(s)", file=sys.stderr)
        return 1
    return 0
