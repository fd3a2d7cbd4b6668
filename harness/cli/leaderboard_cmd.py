"""Render ``leaderboard/README.md`` (tables between markers) and ``leaderboard/leaderboard.json``
from the committed results in ``leaderboard/results``; ``--check`` renders in memory and exits 1
if the committed files differ or the committed results are missing or outdated."""

from __future__ import annotations

import argparse
import sys

from ..leaderboard import check_board, render_board, write_board
from ..paths import find_root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="fail (exit 1) if the committed board is stale"
    )


def main(args: argparse.Namespace) -> int:
    root = find_root(args.root) if args.root else find_root()
    board = render_board(root)
    if args.check:
        problems = check_board(root, board)
        for problem in problems:
            print(f"stale: {problem}", file=sys.stderr)
        if problems:
            print(
                "refresh with: tox -e bench (or theorybench run --tier smoke --publish; theorybench run --publish; theorybench leaderboard)",
                file=sys.stderr,
            )
            return 1
        print("leaderboard is up to date")
        return 0
    for path in write_board(root, board):
        print(f"wrote {path.relative_to(root)}")
    return 0
