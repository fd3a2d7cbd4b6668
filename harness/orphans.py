"""Committed results that nothing on the board uses any more.

``leaderboard/results`` is content-addressed (see :mod:`harness.store`): editing a sweep, retiring a
predictor or renaming a benchmark leaves the old files behind, unread. A file is **orphaned** when no
board tier of a current benchmark and no current predictor can ever read it:

- ``measurements/<benchmark>/<point key>/…`` — the benchmark is gone, or no point of its board tiers
  has that key;
- ``predictions/<benchmark>/<predictor>/<problem key>.json`` — the benchmark or the predictor is gone,
  or no forecast unit (point, or derived group) of its board tiers has that key.

``theorybench leaderboard --check`` reports them and ``theorybench leaderboard --prune`` removes them.
Only the board's tiers (smoke and default) are committed, so only their keys count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .paths import Paths
from .predict import problems_of
from .spec import Benchmark

__all__ = ["orphaned_results", "prune"]


def _used_keys(benchmarks: Iterable[Benchmark]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per benchmark id, the store's (16-character) point keys and problem keys of the given tiers."""
    points: dict[str, set[str]] = {}
    problems: dict[str, set[str]] = {}
    for b in benchmarks:
        points.setdefault(b.id, set()).update(p.key[:16] for p in b.points)
        problems.setdefault(b.id, set()).update(pr.key[:16] for pr in problems_of(b))
    return points, problems


def orphaned_results(
    root: str | Path, tiers: Mapping[str, Sequence[Benchmark]], predictors: Iterable[str]
) -> list[Path]:
    """Files under ``leaderboard/results`` that no benchmark of ``tiers`` and no predictor reads.

    Args:
        root: the project root.
        tiers: the board's tiers, each with its loaded benchmarks.
        predictors: the names of every current predictor.
    """
    results = Paths(root).published
    points, problems = _used_keys(b for benchmarks in tiers.values() for b in benchmarks)
    names = set(predictors)
    found: list[Path] = []
    measurements = results / "measurements"
    if measurements.is_dir():
        for bench in sorted(measurements.iterdir()):
            used = points.get(bench.name, set())
            found += [d for d in sorted(bench.iterdir()) if d.name not in used]
    forecasts = results / "predictions"
    if forecasts.is_dir():
        for bench in sorted(forecasts.iterdir()):
            used = problems.get(bench.name, set())
            for folder in sorted(bench.iterdir()):
                if bench.name not in problems or folder.name not in names:
                    found.append(folder)
                    continue
                found += [f for f in sorted(folder.glob("*.json")) if f.stem not in used]
    return found


def prune(paths: Sequence[Path]) -> int:
    """Delete orphaned files and folders (then any folder left empty); returns the files removed."""
    import shutil

    removed = 0
    for path in paths:
        if path.is_dir():
            removed += sum(1 for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
            removed += 1
    for path in paths:
        parent = path.parent
        while parent.name not in ("measurements", "predictions") and parent.is_dir():
            if any(parent.iterdir()):
                break
            parent.rmdir()
            parent = parent.parent
    return removed
