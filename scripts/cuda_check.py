"""The torch engine on CUDA against the same seeds on CPU, for one point of several benchmarks.

Run on a machine with a GPU (not a test: CI has none)::

    python scripts/cuda_check.py [--seeds 4] [--device cuda]

For each case it trains the same seeds on ``cpu`` and on ``--device`` and prints the largest
relative difference of the measured target, with both wall times. The random streams are drawn on
the CPU (numpy), so the two runs see the same data and initializations; what may differ is only the
floating-point arithmetic of the kernels (cuBLAS sums in another order, TF32 is off by default for
float32 matmuls in torch). Differences far above the dtype's rounding (about 1e-12 in float64,
1e-4 in float32 after hundreds of steps) point to a device bug, not to rounding — except where the
dynamics are chaotic and amplify rounding into a different trajectory: at the edge of stability
(measured on an H200: the plateau of one seed differs by 1.1% between CPU and CUDA, the size of the
seed-to-seed spread, 0.4–1%) and for float32 LayerNorm networks under weight decay (0.1–0.3%).
Everything else agreed to 6e-16 (float64 SGD, deep linear, NTK), 3e-14 (committee machine),
6e-11 (Adam edge of stability) and 3e-8 (float32 Adam MLP).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: (spec path under benchmarks/, tier, point index): one point per kind of model and optimizer
CASES = (
    ("solvable/sgd-linreg-curves", "smoke", 0),
    ("solvable/dln-modes", "smoke", 0),
    ("solvable/committee-machine", "smoke", 0),
    ("limits/ntk-wide-net", "smoke", 1),
    ("laws/edge-of-stability", "smoke", 0),
    ("laws/adaptive-edge-of-stability", "smoke", 0),
    ("hyperparameters/rotational-equilibrium", "smoke", 0),
    ("hyperparameters/batch-size-rules-adam", "smoke", 0),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()

    from harness.engines import ENGINES, Job
    from harness.spec import load_benchmark

    engine = ENGINES.get("torch")()
    print(f"{'benchmark':40s} {'dtype':8s} {'max rel diff':>12s} {'cpu s':>7s} {'gpu s':>7s}")
    worst = 0.0
    for path, tier, index in CASES:
        benchmark = load_benchmark(ROOT / "benchmarks" / f"{path}.yaml", tier=tier)
        point = benchmark.points[index]
        seeds = tuple(range(min(args.seeds, benchmark.seeds)))
        values, seconds = {}, {}
        for device in ("cpu", args.device):
            job = Job(
                benchmark.id,
                point.key,
                point.setting,
                benchmark.target.quantity,
                dict(benchmark.target.params),
                point.grid,
                seeds,
                device=device,
            )
            start = time.perf_counter()
            results = engine.run(job)
            seconds[device] = time.perf_counter() - start
            failed = [r for r in results if r.status != "ok"]
            if failed:
                print(f"{benchmark.id}: {device} failed: {failed[0].message}")
                return 1
            values[device] = np.stack([np.asarray(r.value, dtype=np.float64) for r in results])
        cpu, gpu = values["cpu"], values[args.device]
        finite = np.isfinite(cpu) & np.isfinite(gpu)
        same_inf = np.array_equal(np.isfinite(cpu), np.isfinite(gpu))
        with np.errstate(all="ignore"):
            rel = np.abs(gpu - cpu)[finite] / np.maximum(np.abs(cpu[finite]), 1e-300)
        diff = float(rel.max()) if rel.size else 0.0
        worst = max(worst, diff)
        note = "" if same_inf else "  (diverged on one device only)"
        print(
            f"{benchmark.id:40s} {point.setting['dtype']:8s} {diff:12.2e} "
            f"{seconds['cpu']:7.2f} {seconds[args.device]:7.2f}{note}"
        )
    print(f"worst relative difference: {worst:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
