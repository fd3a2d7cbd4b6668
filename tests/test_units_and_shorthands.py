"""Per-unit verdicts (and claims about one point), quantiles with censored values, the MLP's
``width`` shorthand and per-seed learning rates."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.claims import Claim, check_claims
from harness.errors import SpecError
from harness.measure import Measurements
from harness.predict import PredictionRecord
from harness.scoring import score_benchmark
from harness.spec import load_benchmark, without_defaults
from harness.stats import reduce

SPEC = """
id: units
version: 1
pillar: solvable
title: t
claim: c
references: [r]
setting:
  data: {kind: sphere_relu_teacher, d: 4, pool_size: 50}
  model: {kind: kernel_machine, kernel: relu_ntk}
  optimizer: {kind: ridge_solve, ridge: 0.01}
  train_size: 8
sweep:
  train_size: [8, 16, 32]
seeds: 12
target: {quantity: test_mse}
tolerance: {metric: log_ratio, value: 0.1}
baseline: no-learning
"""


def _write(tmp_path: Path, text: str, name: str = "units"):
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return load_benchmark(path)


def test_each_point_gets_its_own_interval_and_verdict(tmp_path: Path) -> None:
    benchmark = _write(tmp_path, SPEC)
    rng = np.random.default_rng(0)
    values = {p.index: 1.0 + 0.01 * rng.standard_normal(12) for p in benchmark.points}
    measured = Measurements(benchmark, values, {i: 0 for i in values})
    records = [
        PredictionRecord("mixed", 0, "ok", np.asarray(1.0)),  # right
        PredictionRecord("mixed", 1, "ok", np.asarray(1.5)),  # 40% off
        PredictionRecord("mixed", 2, "ok", np.asarray(1.08)),  # 7.7% off: within 0.1
    ]
    score = score_benchmark(benchmark, measured, {"mixed": records})["mixed"]
    verdicts = [p.verdict for p in score.points]
    assert verdicts == ["pass", "fail", "pass"]
    for unit in score.points:
        assert unit.error_low <= unit.error <= unit.error_high
    assert score.points[1].error == pytest.approx(np.log(1.5), abs=0.01)
    assert score.verdict == "fail"  # mean error (0 + 0.405 + 0.077)/3 = 0.16 > 0.1
    claims = [
        Claim(0, "mixed", "units", "default", "pass", point="train_size=8"),
        Claim(1, "mixed", "units", "default", "fail", point="train_size=16"),
        Claim(2, "mixed", "units", "default", "pass", point="train_size=16"),
        Claim(3, "mixed", "units", "default", "pass", point="train_size=99"),
    ]
    outcome = check_claims(claims, {("default", "units", "mixed"): score})
    assert [r.holds for r in outcome] == [True, True, False, False]
    assert "did you mean" in outcome[3].message


def test_quantiles_treat_infinity_as_the_largest_value() -> None:
    """np.quantile returns NaN between two infinite order statistics; the statistic must not."""
    values = np.array([[1.0, 5.0], [2.0, np.inf], [np.inf, np.inf], [4.0, 6.0]])
    got = reduce(values, "quantiles", quantiles=(0.0, 0.25, 0.5, 0.75, 1.0))
    np.testing.assert_allclose(got[0], [1.0, 1.75, 3.0, np.inf, np.inf])
    np.testing.assert_allclose(got[1], [5.0, 5.75, np.inf, np.inf, np.inf])
    finite = np.random.default_rng(1).standard_normal((9, 4))
    np.testing.assert_allclose(
        reduce(finite, "quantiles", quantiles=(0.1, 0.5, 0.9)),
        np.moveaxis(np.quantile(finite, [0.1, 0.5, 0.9], axis=0), 0, -1),
        rtol=1e-14,
    )
    assert np.isnan(reduce(np.array([1.0, np.nan, 2.0]), "quantiles", quantiles=(0.5,))[0])


MLP_SPEC = """
id: mlp
version: 1
pillar: solvable
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_tanh_teacher, d: 4}
  model: MODEL
  optimizer: {kind: gd, lr: 0.1}
  train_size: 8
  steps: 2
seeds: 2
target: {quantity: train_loss, grid: [0, 2]}
tolerance: {value: 0.1}
baseline: no-learning
"""


def test_mlp_width_shorthand(tmp_path: Path) -> None:
    listed = _write(tmp_path, MLP_SPEC.replace("MODEL", "{kind: mlp, widths: [16, 16]}"), "mlp")
    short = _write(
        tmp_path, MLP_SPEC.replace("MODEL", "{kind: mlp, width: 16, hidden_layers: 2}"), "mlp"
    )
    assert short.points[0].setting["model"]["widths"] == [16, 16]
    assert listed.points[0].setting["model"]["width"] is None
    # a spec that lists widths hashes as before the new fields existed (defaults are not hashed)
    hashed = without_defaults(listed.points[0].setting)["model"]
    assert not {"width", "hidden_layers", "center"} & set(hashed)
    for model, words in (
        ("{kind: mlp}", "give the hidden widths"),
        ("{kind: mlp, width: 16, widths: [8]}", "contradicts"),
    ):
        with pytest.raises(SpecError, match=words):
            _write(tmp_path, MLP_SPEC.replace("MODEL", model), "mlp")


def test_per_seed_learning_rates_equal_separate_runs() -> None:
    from harness.engines.torch.optim import make_optimizer

    rng = np.random.default_rng(2)
    start = [
        torch.tensor(rng.standard_normal((2, 3, 4))),
        torch.tensor(rng.standard_normal((2, 5))),
    ]
    grads = [torch.tensor(rng.standard_normal(p.shape)) for p in start]
    spec = {"kind": "gd", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.01}
    stacked = [p.clone() for p in start]
    optimizer = make_optimizer(
        spec, stacked, [1.0, 2.0], torch.tensor([1.0, 0.3], dtype=torch.float64)
    )
    for _ in range(3):
        optimizer.step(grads)
    for s, scale in enumerate((1.0, 0.3)):
        alone = [p[s : s + 1].clone() for p in start]
        single = make_optimizer(dict(spec, lr=0.5 * scale), alone, [1.0, 2.0])
        for _ in range(3):
            single.step([g[s : s + 1] for g in grads])
        for a, b in zip(stacked, alone):
            torch.testing.assert_close(a[s : s + 1], b, rtol=1e-14, atol=0)


def test_planning_sizes_an_mlp_given_by_widths(tmp_path: Path) -> None:
    """An mlp written with `widths` has `width: None` in its normalized setting; the engine's stacking
    rule and the job cost estimate must read the widths (regression: max() over None)."""
    from harness.engines.torch import TorchEngine
    from harness.measure import job_cost, plan_jobs
    from harness.store import Store, StoreChain

    benchmark = _write(tmp_path, MLP_SPEC.replace("MODEL", "{kind: mlp, widths: [16, 16]}"), "mlp")
    setting = benchmark.points[0].setting
    assert TorchEngine().group_size(setting, 2) == 2
    store = Store(tmp_path / "store", writable=True)
    jobs, _ = plan_jobs(benchmark, StoreChain([store], store))
    assert jobs and job_cost(jobs[0]) > 0
