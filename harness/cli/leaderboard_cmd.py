"""Render the board from the committed results in ``leaderboard/results``: ``leaderboard/README.md``
(tables and thumbnails between markers), ``leaderboard/leaderboard.json``, ``leaderboard/index.html``
and the figures in ``leaderboard/figures/``. Nothing is trained.

``--check`` renders in memory and exits 1 if the committed text files differ from a fresh
rendering, if a figure they name is missing (figures are named by a digest of the numbers they
plot), or if the committed results are missing or outdated.

``--prune`` also deletes the committed results that no current benchmark tier or predictor reads
(:mod:`harness.orphans`; ``--check`` reports them).

``--predictor FILE.py:Class`` renders a *preview* with that predictor added (its forecasts are
computed locally, no training) into ``--out`` (default ``.theorybench/board/``), never over
``leaderboard/``: how a new predictor's row looks on the board before it is submitted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..leaderboard import board_orphans, check_board, render_board, write_board
from ..paths import find_root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="fail (exit 1) if the committed board is stale"
    )
    parser.add_argument(
        "-p",
        "--predictor",
        action="append",
        metavar="NAME|FILE.py:CLASS",
        help="preview: add this predictor to the board (repeatable); written to --out",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="write the board here (default: leaderboard/, or .theorybench/board/ for a preview)",
    )
    parser.add_argument(
        "--redraw", action="store_true", help="draw every figure again, even if its file exists"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="also delete committed results no current benchmark tier or predictor reads",
    )


def main(args: argparse.Namespace) -> int:
    root = find_root(args.root) if args.root else find_root()
    extra = args.predictor or []
    out = Path(args.out) if args.out else (root / ".theorybench" / "board" if extra else None)
    if extra and (args.check or args.prune):
        print(
            "error: --check and --prune work on the committed board; they take no --predictor",
            file=sys.stderr,
        )
        return 2
    if extra and out is not None and out.resolve() == (root / "leaderboard").resolve():
        print(
            "error: a preview is never written over leaderboard/; choose another --out",
            file=sys.stderr,
        )
        return 2
    board = render_board(root, extra=extra, out=out)
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
    if args.prune:
        from ..orphans import prune

        orphans = board_orphans(root, board)
        print(f"pruned {prune(orphans)} result file(s) in {len(orphans)} orphaned path(s)")
    written = write_board(root, board, out, redraw=args.redraw)
    for path in written:
        try:
            shown = path.resolve().relative_to(Path(root).resolve())
        except ValueError:
            shown = path
        print(f"wrote {shown}")
    if extra:
        folder = out.resolve() if out is not None else root / "leaderboard"
        print(f"preview: open {folder / 'index.html'}")
        for s in board.results["default"].all_scores():
            if s.predictor in {loaded.name for loaded in _extra_loaded(board)}:
                print(f"  {s.benchmark}: {s.predictor} {s.verdict}")
    return 0


def _extra_loaded(board):
    session = board.sessions["default"]
    refs = set(board.extra)
    return [
        loaded
        for loaded in session.predictors
        if loaded.name in refs or loaded.info.source.startswith("file ")
    ]
