"""Compute forecasts of every predictor for the selected benchmarks (no training).

Cached forecasts are reused when the predictor's name, version and code and the benchmark point
are unchanged.
"""

from __future__ import annotations

import argparse
from collections import Counter

from tabulate import tabulate

from .common import add_execution, add_json, add_selection, print_json, session_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_execution(parser)
    add_json(parser)


def main(args: argparse.Namespace) -> int:
    session = session_from(args)
    results = session.predict()
    rows, payload = [], []
    for benchmark in session.benchmarks:
        for name, records in results.predictions.get(benchmark.id, {}).items():
            counts = Counter(r.status for r in records)
            seconds = sum(r.seconds for r in records)
            errors = [
                f"[{benchmark.points[r.point].label}] {r.message}"
                for r in records
                if r.status == "error"
            ]
            rows.append(
                [
                    benchmark.id,
                    name,
                    counts["ok"],
                    counts["abstain"],
                    counts["error"],
                    f"{seconds:.2f}",
                    errors[0] if errors else "",
                ]
            )
            payload.append(
                {
                    "benchmark": benchmark.id,
                    "tier": session.tier,
                    "predictor": name,
                    **{k: counts[k] for k in ("ok", "abstain", "error")},
                    "seconds": seconds,
                    "errors": errors,
                }
            )
    if args.json:
        print_json(payload)
    else:
        print(
            tabulate(
                rows,
                headers=[
                    "benchmark",
                    "predictor",
                    "forecasts",
                    "abstained",
                    "errors",
                    "seconds",
                    "first error",
                ],
            )
        )
    return 0
