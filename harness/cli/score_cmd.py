"""Score stored forecasts against stored measurements (computes nothing; see ``run``)."""

from __future__ import annotations

import argparse

from tabulate import tabulate

from .common import (
    SCORE_HEADERS,
    add_json,
    add_selection,
    print_json,
    score_rows,
    score_to_json,
    session_from,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    parser.add_argument("--store", help="local store folder")
    parser.add_argument(
        "--ignore-published", action="store_true", help="do not read leaderboard/results"
    )
    add_json(parser)


def main(args: argparse.Namespace) -> int:
    session = session_from(args)
    results = session.score(session.load())
    scores = results.all_scores()
    if args.json:
        print_json([score_to_json(s) for s in scores])
    else:
        print(tabulate(score_rows(scores), headers=SCORE_HEADERS))
    return 0
