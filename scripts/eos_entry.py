"""When do the edge-of-stability benchmarks enter the edge of stability?

For every sweep point of ``benchmarks/laws/edge-of-stability.yaml`` and
``adaptive-edge-of-stability.yaml`` (at a tier), this trains the tier's seeds with the torch engine
and measures the ``sharpness`` curve (the benchmark's own sharpness parameters) every ``--every``
steps, then prints, per point: the optimizer's stability threshold, the sharpness at the first
measured step, its lowest value, the first step after that at which the sharpness reaches 90% of
the threshold (median over seeds, and the range), and the median sharpness over the benchmark's plateau window. This is the
evidence behind "the learning rates enter the edge of stability within the step budget" in the
cards; it is not a scored target (no theory here predicts the entry time).

    python scripts/eos_entry.py                     # default tier, both benchmarks (a few minutes)
    python scripts/eos_entry.py --tier smoke --every 50
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _entry(steps: np.ndarray, curve: np.ndarray, level: float) -> float:
    """The first step at which ``curve`` reaches ``level`` after its lowest point in the first half
    of training (Adam's preconditioned sharpness starts high, from a preconditioner made of one
    gradient, falls, and then rises to the threshold); ``inf`` if it never does."""
    lowest = int(np.argmin(curve[: max(1, len(curve) // 2)]))
    after = np.flatnonzero(curve[lowest:] >= level)
    return float(steps[lowest + after[0]]) if after.size else np.inf


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tier", default="default", choices=("smoke", "default", "full"))
    parser.add_argument("--every", type=int, default=25, help="steps between measurements")
    parser.add_argument(
        "--fraction", type=float, default=0.9, help="level, as a fraction of the threshold"
    )
    args = parser.parse_args(argv)

    from tabulate import tabulate

    from harness.engines import ENGINES, Job
    from harness.spec import load_benchmark
    from predictors.edge_of_stability import stability_threshold

    engine = ENGINES.get("torch")()
    rows = []
    for name in ("edge-of-stability", "adaptive-edge-of-stability"):
        bench = load_benchmark(ROOT / "benchmarks" / "laws" / f"{name}.yaml", args.tier)
        params = {k: v for k, v in bench.target.params.items() if k != "start"}
        for point in bench.points:
            steps = point.setting["steps"]
            first = 1 if params["preconditioned"] else 0
            grid = tuple(sorted({first, *range(args.every, steps + 1, args.every)}))
            threshold = stability_threshold(
                dict(point.setting["optimizer"]), params["preconditioned"]
            )
            print(f"{name} [{point.label}]: {bench.seeds} seeds ...", flush=True)
            results = engine.run(
                Job(
                    bench.id,
                    point.key,
                    point.setting,
                    "sharpness",
                    params,
                    grid,
                    tuple(bench.seed_indices),
                )
            )
            curves = np.stack([r.value for r in results if r.status == "ok"])
            steps_arr = np.asarray(grid)
            reached = [_entry(steps_arr, c, args.fraction * threshold) for c in curves]
            half = curves[:, : max(1, curves.shape[1] // 2)]
            window = steps_arr >= bench.target.params["start"] * steps
            plateau = np.median(curves[:, window], axis=1)
            rows.append(
                [
                    name,
                    point.label,
                    f"{threshold:.4g}",
                    f"{np.mean(curves[:, 0]):.3g}",
                    f"{np.mean(half.min(axis=1)):.3g} ({np.median(steps_arr[half.argmin(axis=1)]):.0f})",
                    f"{np.median(reached):.0f} ({min(reached):.0f}-{max(reached):.0f})",
                    f"{int(bench.target.params['start'] * steps)}-{steps}",
                    f"{plateau.mean():.4g} ({plateau.min():.4g}-{plateau.max():.4g})",
                ]
            )
    print()
    print(
        tabulate(
            rows,
            headers=[
                "benchmark",
                "point",
                "threshold",
                "sharpness at step 0 (Adam: 1)",
                "lowest in the first half (step)",
                f"first step ≥ {args.fraction:g}·threshold: median (range)",
                "window",
                "plateau: mean (range) over seeds",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
