"""The batch-size scaling rules (predictors/scaling_rules.py): the forecast shifts on a small spec,
Malladi et al.'s square-root rule for Adam's β and ε, one anchor serving groups that sweep different
coordinates (SGD groups and Adam groups that also sweep β₁, β₂, ε), and the excess test loss the
batch-size-rules benchmarks measure."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.components.data import GaussianTanhTeacher, Task
from harness.engines import ENGINES, Job
from harness.predict import problems_of
from harness.predictor import Abstain, Forecast
from harness.spec import Benchmark, load_benchmark
from predictors.batch_size import NoRescaling
from predictors.noise_scale import gradient_moments, init_mlp, mcc_shift, simple_noise_scale
from predictors.scaling_rules import ScalingRules, adam_sde_invariants, square_root_rule

ROOT = Path(__file__).resolve().parents[1]

# batch sizes 8 (anchor), 24 (κ = 3) and 40 (κ = 5) at a budget of 240 samples; the Adam groups
# carry β₁, β₂, ε rescaled by hand from (0.9, 0.99, 1e-8): 1 − β → κ(1 − β), ε → ε/√κ
SPEC = """
id: rules
version: 1
pillar: hyperparameters
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_tanh_teacher, d: 4, units: 2}
  model: {kind: mlp, widths: [8]}
  optimizer: {kind: sgd, lr: 0.1, batch_size: 8}
  train_size: online
  steps: 30
sweep:
SWEEP
seeds: 4
target:
  quantity: test_loss
  grid: {kind: last}
  derive:
    kind: argmin
    x: optimizer.lr
    anchor: {optimizer.batch_size: 8, steps: 30, optimizer.beta1: 0.9, optimizer.beta2: 0.99, optimizer.eps: 1.0e-8}
tolerance: {metric: regret, value: 0.05}
baseline: no-rescaling
"""

ADAM = {
    8: "optimizer.beta1: 0.9, optimizer.beta2: 0.99, optimizer.eps: 1.0e-8",
    24: "optimizer.beta1: 0.7, optimizer.beta2: 0.97, optimizer.eps: 5.773502691896258e-09",
    40: "optimizer.beta1: 0.5, optimizer.beta2: 0.95, optimizer.eps: 4.47213595499958e-09",
}


def small_spec(tmp_path: Path, adam_40: str | None = None) -> Benchmark:
    rows = []
    for batch in (8, 24, 40):
        for lr in (0.05, 0.1, 0.2):
            head = f"optimizer.batch_size: {batch}, steps: {240 // batch}, optimizer.lr: {lr}"
            rows.append(f"  - {{{head}}}")
            adam = ADAM[batch] if batch != 40 or adam_40 is None else adam_40
            rows.append(f"  - {{optimizer.kind: adam, {adam}, {head}}}")
    folder = tmp_path / "benchmarks" / "hyperparameters"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules.yaml"
    path.write_text(textwrap.dedent(SPEC).replace("SWEEP", "\n".join(rows)))
    return load_benchmark(path)


def forecasts(benchmark: Benchmark, predictor: object) -> dict[str, Forecast | Abstain]:
    return {p.label: predictor.predict(p) for p in problems_of(benchmark)}  # type: ignore[attr-defined]


def test_shifts_are_the_rules_exponent_times_log2_kappa(tmp_path: Path) -> None:
    b = small_spec(tmp_path)
    # four forecast units (κ = 3, 5 for each optimizer); the two B = 8 groups are anchors
    assert len(b.groups) == 4
    out = forecasts(b, ScalingRules())
    for problem in problems_of(b):
        kind = problem.setting["optimizer"]["kind"]
        batch = problem.setting["optimizer"]["batch_size"]
        anchor = problem.anchor_members[0]["optimizer"]
        # each group is anchored on the B = 8 group of its own optimizer
        assert anchor["kind"] == kind and anchor["batch_size"] == 8
        kappa = {24: 3.0, 40: 5.0}[batch]  # by hand: 24/8, 40/8
        expected = math.log(kappa, 2) * (1.0 if kind == "sgd" else 0.5)
        forecast = out[problem.label]
        assert isinstance(forecast, Forecast)
        assert float(forecast.mean) == pytest.approx(expected, abs=1e-12)
    # the baseline keeps the learning rate on the same groups
    assert all(float(f.mean) == 0.0 for f in forecasts(b, NoRescaling()).values())


def test_adam_abstains_when_beta_is_not_rescaled(tmp_path: Path) -> None:
    # κ = 5 with the anchor's β and ε kept: not the square-root rule, so no forecast
    b = small_spec(tmp_path, adam_40=ADAM[8])
    out = forecasts(b, ScalingRules())
    adam40 = [v for k, v in out.items() if "adam" in k and "batch_size=40" in k]
    assert len(adam40) == 1 and isinstance(adam40[0], Abstain)
    assert "square-root rule" in adam40[0].reason
    # the other Adam group and the SGD groups are unaffected
    assert sum(isinstance(v, Forecast) for v in out.values()) == 3


@pytest.mark.parametrize("kappa", [1.0, 2.0, 4.0, 0.25])
def test_square_root_rule_keeps_the_adam_sde(kappa: float) -> None:
    beta1, beta2, eps, lr, batch, samples = 0.95, 0.999, 1e-8, 3e-3, 16, 8192
    b1, b2, e = square_root_rule(beta1, beta2, eps, kappa)
    if kappa == 1.0:  # κ = 1 reproduces the anchor's hyperparameters exactly
        assert (b1, b2, e) == (beta1, beta2, eps)
    # rescaling back by 1/κ is the identity (a round trip)
    back = square_root_rule(b1, b2, e, 1.0 / kappa)
    assert back == pytest.approx((beta1, beta2, eps), rel=1e-12)
    # Malladi et al.'s SDE parameters and horizon are the same at (√κ η, κB)
    before = adam_sde_invariants(lr, beta1, beta2, eps, batch, samples)
    after = adam_sde_invariants(math.sqrt(kappa) * lr, b1, b2, e, round(kappa * batch), samples)
    assert after == pytest.approx(before, rel=1e-9)
    if kappa != 1.0:  # keeping β₁, β₂ fixed does not
        kept = adam_sde_invariants(
            math.sqrt(kappa) * lr, beta1, beta2, e, round(kappa * batch), samples
        )
        assert kept["c1"] != pytest.approx(before["c1"], rel=1e-6)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_benchmark_anchors_each_group_on_b16(kind: str) -> None:
    path = ROOT / "benchmarks" / "hyperparameters" / f"batch-size-rules-{kind}.yaml"
    for tier in ("default", "smoke"):
        b = load_benchmark(path, tier=tier)
        assert b.groups
        for group in b.groups:
            here = b.points[group.members[0]].setting
            ref = b.points[group.anchor[0]].setting
            assert ref["optimizer"]["kind"] == here["optimizer"]["kind"] == kind
            assert ref["optimizer"]["batch_size"] == 16
            # a fixed sample budget: steps · B equal in the group and its anchor
            assert here["optimizer"]["batch_size"] * here["steps"] == 16 * ref["steps"]
            if kind == "adam":
                kappa = here["optimizer"]["batch_size"] / 16
                o, r = here["optimizer"], ref["optimizer"]
                assert (o["beta1"], o["beta2"], o["eps"]) == pytest.approx(
                    square_root_rule(r["beta1"], r["beta2"], r["eps"], kappa), rel=1e-9
                )
        # the rule forecasts every group (nothing abstains on the benchmark itself)
        assert all(isinstance(f, Forecast) for f in forecasts(b, ScalingRules()).values())


# the excess test loss: test loss against the data's noise-free labels


def teacher(noise: float, seed: int) -> Task:
    params = {"d": 6, "units": 3, "gain": 2.0, "noise_std": noise, "seed": seed}
    return GaussianTanhTeacher(params).draw(None)


def test_noise_free_labels_are_the_labels_without_noise() -> None:
    rng = np.random.default_rng(3)
    task = teacher(0.5, seed=0)
    x, y = task.sample(200_000, rng)
    residual = y - task.noise_free(x)
    assert residual.shape == (200_000, 1)
    assert abs(residual.mean()) < 0.005 and residual.std() == pytest.approx(0.5, rel=0.01)
    # the residual is independent of the clean label (pure noise)
    assert abs(np.corrcoef(residual[:, 0], task.noise_free(x)[:, 0])[0, 1]) < 0.01
    clean = teacher(0.0, seed=1)
    x, y = clean.sample(10, rng)
    np.testing.assert_array_equal(y, clean.noise_free(x))


def test_excess_test_loss_is_the_test_loss_less_the_noise_floor() -> None:
    engine = ENGINES.get("torch")()
    b = load_benchmark(ROOT / "benchmarks" / "hyperparameters" / "batch-size-rules-sgd.yaml")
    setting = dict(b.points[0].setting, steps=20)
    out = {}
    for noise in (0.0, 0.5):
        s = dict(setting, data=dict(setting["data"], noise_std=noise))
        for quantity in ("test_loss", "excess_test_loss"):
            job = Job("t", "k", s, quantity, {"eval_size": 20_000}, (0, 20), (0, 1))
            out[noise, quantity] = np.array([r.value for r in engine.run(job)])
    # without label noise the two are the same numbers (same inputs, same labels)
    np.testing.assert_allclose(out[0.0, "test_loss"], out[0.0, "excess_test_loss"], rtol=1e-12)
    # with noise σ the test loss exceeds it by ½σ² (Monte Carlo over 20,000 inputs: ± ~0.002)
    gap = out[0.5, "test_loss"] - out[0.5, "excess_test_loss"]
    np.testing.assert_allclose(gap, 0.125, atol=0.008)
    assert np.all(out[0.5, "excess_test_loss"] > 0)


# McCandlish's simple noise scale of an MLP at initialization (predictors/noise_scale.py)


def test_gradient_moments_match_autograd_per_example() -> None:
    import torch

    rng = np.random.default_rng(5)
    layers = init_mlp([5, 7, 6, 2], 1.3, rng)
    layers = [(w, rng.standard_normal(b.shape) * 0.1) for w, b in layers]  # nonzero biases too
    x, y = rng.standard_normal((40, 5)), rng.standard_normal((40, 2))
    params = [torch.tensor(a, requires_grad=True) for w, b in layers for a in (w, b)]
    rows = []
    for i in range(len(x)):
        h = torch.tensor(x[i])
        for k in range(0, len(params) - 2, 2):
            h = torch.relu(params[k] @ h + params[k + 1])
        f = params[-2] @ h + params[-1]
        loss = 0.5 * torch.sum((f - torch.tensor(y[i])) ** 2)
        grads = torch.autograd.grad(loss, params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]).numpy())
    g = np.stack(rows)  # (n, P): every per-example gradient
    sums, square = gradient_moments(layers, x, y, "relu")
    flat = np.concatenate([a.reshape(-1) for dw, db in sums for a in (dw, db)])
    np.testing.assert_allclose(flat, g.sum(0), rtol=1e-10, atol=1e-12)
    assert square == pytest.approx(float(np.sum(g**2)), rel=1e-10)
    # B_simple from the explicit covariance of the per-example gradients
    n = len(x)
    cov = np.cov(g, rowvar=False)
    mean = g.mean(0)
    expected = np.trace(cov) / (mean @ mean - np.trace(cov) / n)
    assert simple_noise_scale(layers, x, y, "relu") == pytest.approx(expected, rel=1e-9)


def test_mccandlish_shift_interpolates_linear_rule_and_saturation() -> None:
    # B ≪ B_noise: the linear rule; B ≫ B_noise: saturates at log2(1 + B_noise/B0)
    assert mcc_shift(1e9, 32, 16) == pytest.approx(1.0, abs=1e-6)
    assert mcc_shift(30.0, 1e9, 16) == pytest.approx(math.log2(1 + 30 / 16), rel=1e-6)
    assert mcc_shift(30.0, 64, 16) == pytest.approx(math.log2((46 / 16) / (94 / 64)), rel=1e-12)
