"""Train every (sweep point, seed) of the selected benchmarks that is not stored yet.

Each seed is stored as soon as its job finishes, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys

from ..progress import Progress
from .common import add_execution, add_json, add_selection, print_json, session_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_execution(parser)
    add_json(parser)


def report_measuring(report, stream=sys.stderr) -> int:
    if report is None:
        return 0
    print(
        f"measured {report.measured} seed(s), reused {report.reused}, in {report.seconds:.1f} s",
        file=stream,
    )
    for failure in report.failed:
        print(f"measurement failed: {failure}", file=stream)
    if report.interrupted:
        raise KeyboardInterrupt
    return 1 if report.failed else 0


def main(args: argparse.Namespace) -> int:
    session = session_from(args)
    progress = Progress(f"measure [{session.tier}]")
    results = session.measure(on_progress=progress)
    progress.close()
    report = results.measure_report
    if args.json:
        print_json(
            {
                "measured": report.measured,
                "reused": report.reused,
                "failed": report.failed,
                "seconds": report.seconds,
            }
        )
    return report_measuring(report)
