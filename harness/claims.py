"""Claims: statements such as "eigenlearning passes krr-learning-curves at the smoke tier".

``leaderboard/claims.yaml`` lists them; ``theorybench check`` recomputes each verdict (measuring
only what is missing) and exits 1 if any claim broke, saying which and by how much::

    claims:
      - {predictor: eigenlearning, benchmark: krr-learning-curves, tier: smoke, expect: pass}
      - {predictor: no-learning, benchmark: krr-learning-curves, tier: smoke, expect: fail}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import Issue, SpecError
from .registry import did_you_mean
from .schema import Checker, Enum, ListOf, Param, Record, Str
from .scoring import Score
from .spec import TIERS
from .yamlio import load_yaml

__all__ = ["Claim", "ClaimResult", "check_claims", "load_claims"]

CLAIM = Record(
    {
        "predictor": Param(Str(), doc="predictor name"),
        "benchmark": Param(Str(), doc="benchmark id"),
        "tier": Param(Enum(TIERS), "smoke"),
        "expect": Param(
            Enum(("pass", "fail", "inconclusive", "abstain")), doc="the verdict the claim asserts"
        ),
        "note": Param(Str(), "", doc="why this claim matters"),
        "point": Param(
            Str(), "", doc="a sweep point's (or group's) label: the claim is about its own verdict"
        ),
    },
    what="a claim",
)


@dataclass(frozen=True)
class Claim:
    index: int
    predictor: str
    benchmark: str
    tier: str
    expect: str
    note: str = ""
    point: str = ""

    def describe(self) -> str:
        where = f" at {self.point}" if self.point else ""
        return f"{self.predictor} on {self.benchmark}{where} [{self.tier}]"


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    verdict: str
    holds: bool
    message: str
    score: Score | None = None


def load_claims(
    path: str | Path,
    *,
    benchmarks: Iterable[str] | None = None,
    predictors: Iterable[str] | None = None,
) -> list[Claim]:
    """Read and validate a claims file; unknown benchmarks or predictors are errors with "did you mean"."""
    raw = load_yaml(path)
    checker = Checker(str(path))
    if not isinstance(raw, Mapping) or set(raw) != {"claims"}:
        raise SpecError(
            [
                Issue(
                    str(path),
                    "",
                    "a claims file is a mapping with one key, 'claims', holding a list",
                )
            ]
        )
    items = ListOf(CLAIM).check(raw["claims"], "claims", checker)
    checker.raise_if_any()
    known_b = list(benchmarks) if benchmarks is not None else None
    known_p = list(predictors) if predictors is not None else None
    claims, seen = [], set()
    for i, item in enumerate(items):
        if known_b is not None and item["benchmark"] not in known_b:
            checker.issue(
                f"claims[{i}].benchmark",
                f"unknown benchmark {item['benchmark']!r}{did_you_mean(item['benchmark'], known_b)}",
            )
        if known_p is not None and item["predictor"] not in known_p:
            checker.issue(
                f"claims[{i}].predictor",
                f"unknown predictor {item['predictor']!r}{did_you_mean(item['predictor'], known_p)}",
            )
        signature = (item["predictor"], item["benchmark"], item["tier"], item["point"])
        if signature in seen:
            checker.issue(f"claims[{i}]", "repeats an earlier claim")
        seen.add(signature)
        claims.append(Claim(i, **item))
    checker.raise_if_any()
    return claims


def check_claims(
    claims: Iterable[Claim], scores: Mapping[tuple[str, str, str], Score]
) -> list[ClaimResult]:
    """Compare each claim with its score (keyed by ``(tier, benchmark, predictor)``)."""
    results = []
    for claim in claims:
        score = scores.get((claim.tier, claim.benchmark, claim.predictor))
        if score is None:
            results.append(ClaimResult(claim, "missing", False, "no score was computed"))
            continue
        if claim.point:
            results.append(_check_point(claim, score))
            continue
        holds = score.verdict == claim.expect
        if holds:
            message = score.message
        elif score.error is not None and claim.expect == "pass":
            message = f"expected pass, got {score.verdict}: {score.message}"
        elif score.error is not None and claim.expect == "fail":
            message = (
                f"expected fail, got {score.verdict}: error {score.error:.4g} is within tolerance {score.tolerance:.4g}"
                f" (by {score.tolerance - score.error:.4g}); the baseline no longer fails: {score.message}"
            )
        else:
            message = f"expected {claim.expect}, got {score.verdict}: {score.message}"
        results.append(ClaimResult(claim, score.verdict, holds, message, score))
    return results


def _check_point(claim: Claim, score: Score) -> ClaimResult:
    """A claim about one forecast unit: its own verdict (``docs/statistics.md`` §4)."""
    unit = next((p for p in score.points if p.label == claim.point), None)
    if unit is None:
        labels = [p.label for p in score.points]
        message = f"no point {claim.point!r}{did_you_mean(claim.point, labels)}"
        return ClaimResult(claim, "missing", False, message, score)
    verdict = unit.verdict or unit.status
    interval = (
        f"error {unit.error:.4g}, 95% interval [{unit.error_low:.4g}, {unit.error_high:.4g}], tolerance {score.tolerance:.4g}"
        if unit.error is not None and unit.error_low is not None and unit.error_high is not None
        else unit.message
    )
    holds = verdict == claim.expect
    message = interval if holds else f"expected {claim.expect}, got {verdict}: {interval}"
    return ClaimResult(claim, verdict, holds, message, score)
