"""CI gate: recompute the verdict of every claim in ``leaderboard/claims.yaml`` (measuring only what
is missing) and exit 1 if any claim broke, saying which and by how much."""

from __future__ import annotations

import argparse
import sys

from ..claims import check_claims, load_claims
from ..paths import Paths, find_root
from ..plugins import available_predictors
from ..progress import Progress
from ..spec import find_spec_files
from .common import add_json, print_json, score_to_json, session_from
from .measure_cmd import report_measuring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tier", choices=("smoke", "default", "full"), help="only the claims of this tier"
    )
    parser.add_argument("--claims", help="claims file (default: leaderboard/claims.yaml)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("-j", "--jobs", type=int, default=None)
    parser.add_argument("--store", help="local store folder")
    parser.add_argument(
        "--ignore-published", action="store_true", help="do not read leaderboard/results"
    )
    add_json(parser)


def main(args: argparse.Namespace) -> int:
    root = find_root(args.root) if args.root else find_root()
    paths = Paths(root)
    ids = [p.stem for p in find_spec_files([paths.benchmarks])]
    claims = load_claims(
        args.claims or paths.claims, benchmarks=ids, predictors=available_predictors()
    )
    if args.tier:
        claims = [c for c in claims if c.tier == args.tier]
    scores, status = {}, 0
    for tier in sorted({c.tier for c in claims}):
        mine = [c for c in claims if c.tier == tier]
        session = session_from(
            args,
            tier=tier,
            benchmark_ids=sorted({c.benchmark for c in mine}),
            predictor_refs=sorted({c.predictor for c in mine}),
        )
        progress = Progress(f"measure [{tier}]")
        results = session.run(on_progress=progress)
        progress.close()
        report = results.measure_report
        if report is not None and (report.measured or report.failed):
            status = max(status, report_measuring(report))
        for score in results.all_scores():
            scores[(tier, score.benchmark, score.predictor)] = score
    outcome = check_claims(claims, scores)
    broken = [r for r in outcome if not r.holds]
    if args.json:
        print_json(
            [
                {
                    "claim": r.claim.index,
                    "benchmark": r.claim.benchmark,
                    "predictor": r.claim.predictor,
                    "tier": r.claim.tier,
                    "point": r.claim.point or None,
                    "expect": r.claim.expect,
                    "verdict": r.verdict,
                    "holds": r.holds,
                    "error": score_to_json(r.score)["error"] if r.score else None,
                    "tolerance": r.score.tolerance if r.score else None,
                    "message": r.message,
                }
                for r in outcome
            ]
        )
    else:
        for r in outcome:
            mark = "✓" if r.holds else "✗ BROKEN"
            print(
                f"{mark} claim {r.claim.index}: {r.claim.describe()} expects {r.claim.expect}: {r.message}"
            )
        print(f"{len(outcome) - len(broken)}/{len(outcome)} claims hold")
    for r in broken:
        print(f"claim {r.claim.index} broke: {r.claim.describe()}: {r.message}", file=sys.stderr)
    return 1 if broken else status
