"""Benchmark specs: YAML in, validated and resolved :class:`Benchmark` objects out.

A spec file ``benchmarks/<pillar>/<id>.yaml`` declares a training ``setting``, a ``sweep`` of
control variables, a ``target`` quantity, a ``tolerance``, a ``baseline`` predictor and ``tiers``
(``smoke``, ``default``, ``full``) that override parts of the spec. See ``docs/specs.md`` for the
field reference.

Loading is strict: every problem in the file is reported at once, each naming the file and the
dotted field, with "did you mean" for unknown names and a fix for YAML 1.1 traps. Resolving a tier
deep-merges its overrides into the spec (mappings merge key by key; lists and scalars replace),
expands the sweep into :class:`Point` objects and validates each point's complete setting.

Every point carries a content hash (:attr:`Point.key`) of everything that changes a measured
number: the benchmark id, the normalized setting, the target quantity, its parameters and grid.
Prose (title, claim, references), the seed count, the statistic and the tolerance are not part of
it, so tiers that share a setting share measurements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .errors import Issue, SpecError
from .registry import did_you_mean
from .schema import Checker
from .spec_fields import (
    AGGREGATES,
    ID_PATTERN,
    METRICS,
    OVERRIDABLE,
    STATISTICS,
    TOP_LEVEL,
    deep_merge,
    point_label,
    resolve_grid,
    without_defaults,
)
from .spec_types import PILLAR_TITLES, PILLARS, TIERS, Benchmark, Group, Point, Target, Tolerance
from .spec_validate import _validate_tier
from .yamlio import load_yaml

__all__ = [
    "AGGREGATES",
    "ID_PATTERN",
    "METRICS",
    "PILLARS",
    "PILLAR_TITLES",
    "STATISTICS",
    "TIERS",
    "Benchmark",
    "Group",
    "Point",
    "Target",
    "Tolerance",
    "deep_merge",
    "find_spec_files",
    "load_benchmark",
    "load_benchmark_tiers",
    "load_benchmarks",
    "point_label",
    "resolve_grid",
    "without_defaults",
]


def load_benchmark(
    path: str | Path,
    tier: str = "default",
    *,
    known_predictors: Iterable[str] | None = None,
) -> Benchmark:
    """Load, validate and resolve one spec file at ``tier``.

    All tiers are validated, so an error in any tier's overrides is reported whichever tier is
    asked for.

    Args:
        path: the YAML file.
        tier: ``smoke``, ``default`` or ``full``.
        known_predictors: if given, ``baseline`` must be one of them.

    Raises:
        SpecError: with every problem found, each naming the file and the field.
    """
    return load_benchmark_tiers(path, known_predictors=known_predictors)[tier]


def load_benchmark_tiers(
    path: str | Path, *, known_predictors: Iterable[str] | None = None
) -> dict[str, Benchmark]:
    """Load one spec file and resolve every tier; see :func:`load_benchmark`."""
    file = str(path)
    raw = load_yaml(path)
    checker = Checker(file)
    if not isinstance(raw, Mapping):
        raise SpecError([Issue(file, "", "a benchmark spec is a YAML mapping (key: value lines)")])
    for key in raw:
        if key not in TOP_LEVEL:
            checker.issue(
                str(key),
                f"unknown field{did_you_mean(str(key), TOP_LEVEL)}; known fields: {', '.join(TOP_LEVEL)}",
            )
    tiers_raw = raw.get("tiers") or {}
    if not isinstance(tiers_raw, Mapping):
        checker.issue("tiers", "expected a mapping {smoke: {...}, default: {...}, full: {...}}")
        tiers_raw = {}
    for tier, override in tiers_raw.items():
        if tier not in TIERS:
            checker.issue(
                f"tiers.{tier}",
                f"unknown tier{did_you_mean(str(tier), TIERS)}; tiers are {', '.join(TIERS)}",
            )
        elif override is not None and not isinstance(override, Mapping):
            checker.issue(f"tiers.{tier}", "expected a mapping of overrides")
        else:
            for key in override or {}:
                if key not in OVERRIDABLE:
                    checker.issue(
                        f"tiers.{tier}.{key}",
                        f"a tier may override only {', '.join(OVERRIDABLE)}{did_you_mean(str(key), OVERRIDABLE)}",
                    )
    stem = Path(file).stem
    if isinstance(raw.get("id"), str) and raw["id"] != stem:
        checker.issue(
            "id",
            f"{raw['id']!r} must match the file name {stem!r} (ids are immutable; rename the file)",
        )
    parent = Path(file).parent.name
    if raw.get("pillar") in PILLARS and parent in PILLARS and raw["pillar"] != parent:
        checker.issue("pillar", f"{raw['pillar']!r} but the file is in benchmarks/{parent}/")
    if known_predictors is not None and isinstance(raw.get("baseline"), str):
        names = list(known_predictors)
        if raw["baseline"] not in names:
            checker.issue(
                "baseline",
                f"unknown predictor {raw['baseline']!r}{did_you_mean(raw['baseline'], names)}",
            )
    resolved: dict[str, Benchmark] = {}
    base_messages: set[tuple[str, str]] = set()
    issues: list[Issue] = list(checker.issues)
    for tier in ("default", *[t for t in TIERS if t != "default"]):
        merged = {k: v for k, v in raw.items() if k != "tiers" and k in TOP_LEVEL}
        override = tiers_raw.get(tier) if isinstance(tiers_raw.get(tier), Mapping) else {}
        override = {k: v for k, v in override.items() if k in OVERRIDABLE}
        merged = deep_merge(merged, override)
        tier_checker = Checker(file)
        benchmark = _validate_tier(merged, tier, file, tier_checker)
        for issue in tier_checker.issues:
            signature = (issue.field, issue.message)
            if tier == "default":
                base_messages.add(signature)
                issues.append(issue)
            elif signature not in base_messages:
                issues.append(Issue(file, f"tiers.{tier}: {issue.field}", issue.message))
        if benchmark is not None:
            resolved[tier] = benchmark
    if issues:
        raise SpecError(_dedupe(issues))
    return resolved


def _dedupe(issues: Sequence[Issue]) -> list[Issue]:
    out, seen = [], set()
    for issue in issues:
        if (issue.field, issue.message) not in seen:
            seen.add((issue.field, issue.message))
            out.append(issue)
    return out


def find_spec_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into spec files (``*.yaml``/``*.yml``, sorted, cards excluded)."""
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        else:
            out.append(path)
    return out


def load_benchmarks(
    root: str | Path, tier: str = "default", *, known_predictors: Iterable[str] | None = None
) -> list[Benchmark]:
    """Load every spec under ``root`` (``benchmarks/``) at ``tier``, reporting all problems at once."""
    benchmarks, issues = [], []
    ids: dict[str, str] = {}
    for path in find_spec_files([root]):
        try:
            benchmark = load_benchmark(path, tier, known_predictors=known_predictors)
        except SpecError as exc:
            issues.extend(exc.issues)
            continue
        if benchmark.id in ids:
            issues.append(
                Issue(str(path), "id", f"{benchmark.id!r} is also the id of {ids[benchmark.id]}")
            )
        ids[benchmark.id] = str(path)
        benchmarks.append(benchmark)
    if issues:
        raise SpecError(issues)
    return sorted(benchmarks, key=lambda b: (PILLARS.index(b.pillar), b.id))
