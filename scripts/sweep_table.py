"""Per-group tables of a learning-rate (or any ``x``) sweep, from stored measurements.

For a benchmark whose target is derived across the sweep (``target.derive``), prints for every
group — anchors included — the measured statistic at each ``x`` (± its seed-bootstrap standard
error), the optimum ``log2 x*`` (the benchmark's own estimator), the statistic at the optimum, and
the **stability edge**: the largest ``x`` whose statistic is below ``edge_factor`` times the minimum
(log2, linearly interpolated in ``log2 x`` between grid points). Reads the local store, then the
committed results, like ``theorybench show``. This is a report, not a score: nothing is forecast.

    python scripts/sweep_table.py mup-lr-transfer [--tier smoke] [--edge-factor 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from harness.derive import argmin_log2
from harness.measure import load_measurements
from harness.pipeline import Session
from harness.stats import bootstrap_index, bootstrap_rng, reduce


def stability_edge(lx: np.ndarray, curve: np.ndarray, factor: float) -> float:
    """Largest ``log2 x`` with ``curve < factor · min`` (interpolated where it crosses)."""
    limit = factor * np.nanmin(curve)
    best = int(np.nanargmin(curve))
    edge = lx[best]
    for j in range(best, len(lx) - 1):
        if not curve[j + 1] < limit:
            lo, hi = np.log(curve[j]), np.log(curve[j + 1]) if np.isfinite(curve[j + 1]) else np.inf
            if np.isfinite(hi) and hi > lo:
                return float(lx[j] + (np.log(limit) - lo) / (hi - lo) * (lx[j + 1] - lx[j]))
            return float(lx[j])
        edge = lx[j + 1]
    return float(edge)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark")
    parser.add_argument("--tier", default="default")
    parser.add_argument("--edge-factor", type=float, default=2.0)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args(argv)
    session = Session(args.root, args.tier, benchmark_ids=[args.benchmark])
    benchmark = session.benchmarks[0]
    derive = benchmark.target.derive
    if derive is None:
        print(f"{benchmark.id} has no derived target", file=sys.stderr)
        return 2
    measurements = load_measurements(benchmark, session.stores)
    statistic = benchmark.target.statistic
    # every bucket of points that differ only in x, anchors included
    buckets: dict[str, list] = {}
    for point in benchmark.points:
        rest = {k: v for k, v in point.coords.items() if k != derive.x}
        buckets.setdefault(repr(sorted(rest.items(), key=lambda kv: kv[0])), []).append(point)
    rng = bootstrap_rng(benchmark.id, benchmark.tier, "sweep-table")
    print(
        f"{benchmark.id} [{benchmark.tier}]: {statistic} of {benchmark.target.quantity} over {benchmark.seeds} seeds"
    )
    for members in buckets.values():
        members.sort(key=lambda p: float(p.coords[derive.x]))
        x = np.array([float(p.coords[derive.x]) for p in members])
        values = np.stack(
            [measurements.values[p.index].reshape(benchmark.seeds, -1)[:, 0] for p in members],
            axis=1,
        )
        values = values[~np.any(np.isnan(values), axis=1)]
        if not len(values):
            print(f"\n{members[0].label}: not measured")
            continue
        curve = reduce(values, statistic)
        index = bootstrap_index(len(values), rng)
        reps = reduce(values[index], statistic, axis=1)
        sem = np.std(reps, axis=0) * np.sqrt(len(values) / max(len(values) - 1, 1))
        lx = np.log2(x)
        best = float(argmin_log2(x, curve[:, None])[0])
        best_reps = argmin_log2(x, reps[..., None])[:, 0]
        edge = stability_edge(lx, curve, args.edge_factor)
        edges = np.array([stability_edge(lx, r, args.edge_factor) for r in reps])
        label = ", ".join(
            f"{k.rsplit('.', 1)[-1]}={v}" for k, v in members[0].coords.items() if k != derive.x
        )
        print(f"\n{label}")
        print("  " + "  ".join(f"log2 {derive.x.rsplit('.', 1)[-1]}={v:+.2f}" for v in lx))
        print("  " + "  ".join(f"{c:.4g}±{s:.2g}" for c, s in zip(curve, sem)))
        print(
            f"  optimum log2 x* = {best:+.2f} ± {np.std(best_reps):.2f};  min {statistic} = "
            f"{np.nanmin(curve):.4g} ± {np.std(np.nanmin(reps, axis=1)):.2g};  edge (< {args.edge_factor:g}× min) "
            f"log2 x = {edge:+.2f} ± {np.std(edges):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
