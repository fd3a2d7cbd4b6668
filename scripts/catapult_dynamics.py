"""The loss spike and the final curvature of the catapult-phases runs (supplementary numbers).

``catapult-phases`` scores the phase label of each run. This script re-runs the same runs (the
benchmark's setting, sweep points and seeds, hence the same data, initializations and bits) with the
``catapult_dynamics`` observable instead, and prints per point the median over seeds of the
peak-loss ratio ``max_t L_t/L_0`` and of the final curvature ``η λ_T`` (``λ_T`` the top eigenvalue
of the empirical NTK at the end over ``n``). Lewkowycz et al. 2020 predict ``η λ_T ≈ η λ_0`` and no
spike in the lazy phase, a spike and ``η λ_T < 2`` after a catapult; these are inequalities, not
forecasts a benchmark could score, so they are reported in the card rather than scored.

    python scripts/catapult_dynamics.py [--tier default|smoke]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from harness.engines import ENGINES, Job
from harness.spec import load_benchmark

SPEC = Path(__file__).resolve().parents[1] / "benchmarks" / "limits" / "catapult-phases.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="default", choices=("smoke", "default", "full"))
    args = parser.parse_args()
    benchmark = load_benchmark(SPEC, args.tier)
    engine = ENGINES.get("torch")()
    print(f"{'point':32s} {'peak L/L0 (median)':>20s} {'eta*lambda_T (median)':>22s}")
    for point in benchmark.points:
        results = engine.run(
            Job(
                benchmark.id,
                point.key,
                point.setting,
                "catapult_dynamics",
                {},
                None,
                tuple(benchmark.seed_indices),
            )
        )
        values = np.stack([r.value for r in results if r.status == "ok"])
        peak, sharp = np.median(values, axis=0)
        print(f"{point.label:32s} {peak:20.4g} {sharp:22.4g}")


if __name__ == "__main__":
    main()
