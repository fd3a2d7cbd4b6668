"""Predict, measure what is missing, and score: the whole pipeline, computing only what is missing.

A second run with nothing new to compute only reads the store and scores.
"""

from __future__ import annotations

import argparse
import sys

from tabulate import tabulate

from ..progress import Progress
from .common import (
    SCORE_HEADERS,
    add_execution,
    add_json,
    add_selection,
    print_json,
    score_rows,
    score_to_json,
    session_from,
)
from .measure_cmd import report_measuring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_execution(parser)
    add_json(parser)


def main(args: argparse.Namespace) -> int:
    session = session_from(args)
    progress = Progress(f"measure [{session.tier}]")
    results = session.run(on_progress=progress)
    progress.close()
    status = (
        report_measuring(results.measure_report)
        if results.measure_report
        and results.measure_report.measured + len(results.measure_report.failed)
        else 0
    )
    scores = results.all_scores()
    if args.json:
        print_json([score_to_json(s) for s in scores])
    else:
        print(tabulate(score_rows(scores), headers=SCORE_HEADERS))
        errors = [s for s in scores if s.verdict == "error"]
        for s in errors:
            print(f"predictor error: {s.predictor} on {s.benchmark}: {s.message}", file=sys.stderr)
    return status
