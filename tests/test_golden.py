"""Golden checks against the committed results (the AlgoPerf lesson: published numbers must be
reproducible from the code that claims them)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.engines import ENGINES, Job
from harness.env import MEASURE_VERSION
from harness.measure import measurement_key
from harness.paths import Paths
from harness.spec import load_benchmarks
from harness.store import Store, decode_array

from .conftest import REPO, run_cli

PATHS = Paths(REPO)


def _smoke_units():
    for benchmark in load_benchmarks(PATHS.benchmarks, "smoke"):
        yield pytest.param(benchmark, id=benchmark.id)


@pytest.mark.parametrize("benchmark", list(_smoke_units()))
def test_committed_smoke_measurements_are_reproduced(benchmark) -> None:
    """Re-measure the first point's first seed and compare with the committed record.

    A mismatch means the harness changed a measured number without bumping
    ``harness.env.MEASURE_VERSION`` (or the committed results are stale). The comparison allows
    rounding-level differences (rtol 1e-9) because numpy's BLAS kernel, which a machine may choose
    differently, takes part in data generation. The seed is trained stacked with as many seeds as
    when it was stored (``seeds_in_job``): in float32, torch's batched kernels round differently
    for different stack sizes (about 1e-8 relative on a final loss), so only float64 results are
    independent of the stacking (``tests/test_engine.py``).
    """
    engine = ENGINES.get("torch")()
    point = benchmark.points[0]
    env = engine.environment("cpu", point.setting["dtype"])
    stored = Store(PATHS.published).read_measurement(measurement_key(benchmark.id, point, 0, env))
    if stored is None:
        pytest.skip(
            f"no committed result for {benchmark.id} with {env['engine_version']} and measure version {MEASURE_VERSION}"
        )
    job = Job(
        benchmark.id,
        point.key,
        point.setting,
        benchmark.target.quantity,
        dict(benchmark.target.params),
        point.grid,
        tuple(stored.get("job_seeds") or range(int(stored.get("seeds_in_job", 1)))),
    )
    result = engine.run(job)[0]
    assert result.status == "ok", result.message
    expected = decode_array(stored["value"]).reshape(result.value.shape)
    np.testing.assert_allclose(result.value, expected, rtol=1e-9, atol=0)


def test_committed_leaderboard_is_current() -> None:
    """The committed board equals a fresh rendering of the committed results, and those results
    cover the current specs and predictor code (else: run `tox -e bench` and commit)."""
    result = run_cli(["leaderboard", "--check"], REPO)
    assert result.returncode == 0, result.stderr


def test_component_reference_is_current() -> None:
    from harness.docs import components_markdown

    assert (REPO / "docs" / "components.md").read_text(encoding="utf-8") == components_markdown(), (
        "docs/components.md is stale: python -m harness.docs > docs/components.md"
    )
