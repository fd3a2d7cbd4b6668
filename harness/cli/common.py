"""Arguments and formatting shared by the CLI verbs."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from typing import Any

from ..paths import find_root
from ..pipeline import Session
from ..scoring import Score
from ..spec import TIERS

__all__ = [
    "add_execution",
    "add_json",
    "add_selection",
    "fmt",
    "print_json",
    "score_rows",
    "score_to_json",
    "session_from",
]

SYMBOL = {
    "pass": "✓ pass",
    "fail": "✗ fail",
    "inconclusive": "? inconclusive",
    "abstain": "– abstain",
    "error": "! error",
    "missing": "· missing",
}


def add_selection(parser: argparse.ArgumentParser, *, tier_default: str = "default") -> None:
    parser.add_argument(
        "--tier", choices=TIERS, default=tier_default, help=f"tier to use (default: {tier_default})"
    )
    parser.add_argument(
        "-b", "--benchmark", action="append", metavar="ID", help="only this benchmark (repeatable)"
    )
    parser.add_argument(
        "-p",
        "--predictor",
        action="append",
        metavar="NAME|FILE.py:CLASS",
        help="only this predictor, by name or file (repeatable); the baselines are always included",
    )


def add_execution(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument(
        "-j", "--jobs", type=int, default=None, help="worker processes (default: one per core)"
    )
    parser.add_argument(
        "--store", help="local store folder (default: .theorybench/store or $THEORYBENCH_STORE)"
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="write results into leaderboard/results (the committed tiers)",
    )
    parser.add_argument(
        "--ignore-published",
        action="store_true",
        help="do not read leaderboard/results; measure into the local store",
    )
    parser.add_argument(
        "--strict-env",
        action="store_true",
        help="reuse only results made with this exact engine version",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def session_from(args: argparse.Namespace, **overrides: Any) -> Session:
    root = find_root(args.root) if getattr(args, "root", None) else find_root()
    options: dict[str, Any] = {
        "tier": getattr(args, "tier", "default"),
        "benchmark_ids": getattr(args, "benchmark", None),
        "predictor_refs": getattr(args, "predictor", None),
        "device": getattr(args, "device", "cpu"),
        "publish": getattr(args, "publish", False),
        "use_published": not getattr(args, "ignore_published", False),
        "store": getattr(args, "store", None),
        "workers": getattr(args, "jobs", None),
        "strict_env": getattr(args, "strict_env", False),
    }
    options.update(overrides)
    return Session(root, **options)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.{digits}g}"


def score_to_json(score: Score) -> dict[str, Any]:
    def number(x: float | None) -> float | str | None:
        if x is None:
            return None
        if math.isinf(x) or math.isnan(x):
            return str(x)
        return x

    return {
        "benchmark": score.benchmark,
        "tier": score.tier,
        "predictor": score.predictor,
        "verdict": score.verdict,
        "error": number(score.error),
        "error_low": number(score.error_low),
        "error_high": number(score.error_high),
        "tolerance": score.tolerance,
        "metric": score.metric,
        "aggregate": score.aggregate,
        "noise_ceiling": number(score.noise_ceiling),
        "skill": number(score.skill),
        "coverage": score.coverage,
        "seeds": score.seeds,
        "chi2_dof": number(score.chi2_dof),
        "z_within_2": number(score.z_within_2),
        "message": score.message,
    }


def score_rows(scores: Iterable[Score]) -> list[list[str]]:
    rows = []
    for s in scores:
        interval = f"[{fmt(s.error_low)}, {fmt(s.error_high)}]" if s.error is not None else ""
        rows.append(
            [
                s.benchmark,
                s.predictor,
                SYMBOL.get(s.verdict, s.verdict),
                f"{fmt(s.error)} {interval}".strip(),
                fmt(s.tolerance),
                fmt(s.noise_ceiling),
                fmt(s.skill, 2),
                f"{s.coverage:.0%}",
            ]
        )
    return rows


SCORE_HEADERS = [
    "benchmark",
    "predictor",
    "verdict",
    "error [95% CI]",
    "tolerance",
    "noise ceiling",
    "skill",
    "coverage",
]


def print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
