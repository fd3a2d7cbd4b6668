"""The ``theorybench`` command line (also ``python -m harness``).

One module per verb; each defines ``add_arguments(parser)`` and ``main(args) -> int``. Errors that
a user can fix (bad specs, unknown names) are printed without a traceback and exit with status 2
(usage) or 1 (a check failed); Ctrl-C exits with 130 after saying what was kept.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import SpecError, TheorybenchError

__all__ = ["main"]

VERBS = {
    "list": "list benchmarks, predictors and quantities",
    "validate": "check benchmark specs (and predictors); non-zero exit on any problem",
    "predict": "compute forecasts (no training)",
    "measure": "train what is missing and store per-seed measurements",
    "score": "score stored forecasts against stored measurements",
    "run": "predict, measure what is missing, score",
    "show": "one benchmark: spec, measurements, forecasts, verdicts; --plot FILE for its figure",
    "leaderboard": "render leaderboard/ (tables, index.html, figures) from the committed results; --check fails if stale",
    "check": "CI gate over leaderboard/claims.yaml; exit 1 on a broken claim",
}

EPILOG = """examples:
  theorybench list
  theorybench validate benchmarks
  theorybench run --tier smoke
  theorybench run --predictor my_theory.py:MyPredictor --benchmark krr-learning-curves
  theorybench show dln-modes --plot dln-modes.png
  theorybench validate --predictor my_theory.py:MyPredictor
  theorybench leaderboard --predictor my_theory.py:MyPredictor --out my-board
  theorybench check --tier smoke
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="theorybench",
        description="Benchmarks that hold deep learning theory to account.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root", help="the theorybench checkout (default: found from the working directory)"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, help_text in VERBS.items():
        module = importlib.import_module(f"{__name__}.{verb}_cmd")
        verb_parser = sub.add_parser(
            verb,
            help=help_text,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(verb_parser)
        verb_parser.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "verb", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except SpecError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return 2
    except TheorybenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: finished results are saved; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # e.g. `theorybench list | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
