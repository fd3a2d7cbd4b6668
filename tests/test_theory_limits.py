"""Tractable limits: the NTK Gaussian-process solution against a Monte Carlo of function-space GD,
the engine's NTK-parameterized network against the analytic kernels, the empirical-NTK curvature
against a dense finite-difference Jacobian, learning rates in units of 1/λ0 against a reference
loop, the catapult phases of the uv model against its exact map, and one step's feature updates
against a plain torch reference and the power-counting exponents."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from harness.components import DATA
from harness.components.kernels import ReluNTK, arccos_kernels
from harness.components.quantities_catapult import classify_phases
from harness.engines import ENGINES, Job
from harness.engines.torch.models import build_model
from harness.engines.torch.optim import make_optimizer
from harness.engines.torch.training import empirical_ntk, half_mse, ntk_max_eigenvalue
from harness.predict import problems_of
from harness.seeds import stream_rng
from harness.spec import load_benchmark
from predictors.catapult import CatapultTheory, QuadraticStability, phase_of
from predictors.ntk import ntk_gp_curves
from predictors.tensor_programs import EXPONENTS, TensorProgramsExponents


def _task(d_in: int, d_out: int = 1) -> SimpleNamespace:
    return SimpleNamespace(d_in=d_in, d_out=d_out)


def _mlp(width: int, **extra) -> dict:
    spec = {
        "kind": "mlp",
        "widths": [width],
        "width": None,
        "hidden_layers": 1,
        "activation": "relu",
        "bias": False,
        "init": {"kind": "fan_in", "gain": 1.0},
        "parameterization": "ntp",
        "base_width": 64,
        "norm": "none",
        "center": False,
    }
    spec.update(extra)
    return spec


def _write(tmp_path: Path, pillar: str, name: str, text: str):
    folder = tmp_path / "benchmarks" / pillar
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return load_benchmark(path)


# ---------------------------------------------------------------------------------------------
# NTK Gaussian process


def test_ntk_gp_curves_against_monte_carlo_of_function_space_gd() -> None:
    """Lee et al.'s mean + variance formulas vs 10 000 initial functions drawn from the NNGP and moved
    by GD in function space, f ← f − (η/n) Θ_{·X}(f(X) − Y), on training and test points jointly
    (a repeated training point makes Θ_XX singular on purpose)."""
    rng = np.random.default_rng(0)
    d, n, m = 5, 16, 25
    x, x_test = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    x[3] = x[7]
    y, y_test = rng.standard_normal(n), rng.standard_normal(m)
    steps, lr = np.array([0, 1, 5, 30, 120]), 2.0
    test, train = ntk_gp_curves(x, y, x_test, y_test, lr, steps)
    points = np.vstack([x, x_test])
    g, k1, k0 = arccos_kernels(points, points)
    theta = k1 + g * k0
    f = np.linalg.cholesky(k1 + 1e-12 * np.eye(n + m)) @ rng.standard_normal((n + m, 10_000))
    mc_test, mc_train = [], []
    for t in range(steps[-1] + 1):
        if t in steps:
            mc_test.append(0.5 * np.mean((f[n:] - y_test[:, None]) ** 2))
            mc_train.append(0.5 * np.mean((f[:n] - y[:, None]) ** 2))
        f = f - lr / n * theta[:, :n] @ (f[:n] - y[:, None])
    np.testing.assert_allclose(mc_test, test, rtol=0.01)
    np.testing.assert_allclose(mc_train, train, rtol=0.01)


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_engine_ntp_network_has_the_analytic_ntk(activation: str) -> None:
    """The engine's two-layer NTK-parameterized network (widths [N], bias false, ntp) at N = 40 000:
    its empirical NTK (harness empirical_ntk) matches the ReLU NTK K1 + G·K0 of
    harness.components.kernels, or 2G for the linear (uv) network, to the 1/√N scale."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5))
    model = build_model(
        _mlp(40_000, activation=activation),
        [_task(5)],
        [np.random.default_rng(2)],
        torch.float64,
        torch.device("cpu"),
    )
    gram = empirical_ntk(model, torch.tensor(x))[0].numpy()
    expected = ReluNTK()(x, x) if activation == "relu" else 2 * x @ x.T / x.shape[1]
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    assert np.max(np.abs(gram - expected) / scale) < 0.03


# ---------------------------------------------------------------------------------------------
# curvature and learning rates in units of 1/λ0


@pytest.mark.parametrize("parameterization", ["ntp", "mup"])
def test_ntk_max_eigenvalue_against_a_dense_finite_difference_jacobian(
    parameterization: str,
) -> None:
    """λ_max(J P Jᵀ)/n of a tiny stacked network (2 seeds, biases, μP learning-rate factors P) vs
    the Jacobian by central finite differences, parameter by parameter, in float64."""
    spec = _mlp(7, parameterization=parameterization, bias=True, widths=[7, 6])
    x = torch.tensor(np.random.default_rng(3).standard_normal((5, 3)))
    model = build_model(
        spec,
        [_task(3), _task(3)],
        [np.random.default_rng(4), np.random.default_rng(5)],
        torch.float64,
        torch.device("cpu"),
        "sgd",
    )
    got = ntk_max_eigenvalue(model, x)
    for s in range(2):
        columns = []
        with torch.no_grad():
            for p, factor in zip(model.params, model.lr_factors):
                flat = p[s].reshape(-1)
                for k in range(flat.numel()):
                    old = float(flat[k])
                    flat[k] = old + 1e-6
                    plus = model.forward(x)[s, :, 0].clone()
                    flat[k] = old - 1e-6
                    minus = model.forward(x)[s, :, 0].clone()
                    flat[k] = old
                    columns.append(math.sqrt(factor) * (plus - minus).numpy() / 2e-6)
        jacobian = np.stack(columns, axis=1)
        expected = np.linalg.eigvalsh(jacobian @ jacobian.T)[-1] / x.shape[0]
        assert got[s] == pytest.approx(expected, rel=1e-6)


SPEC_LR_UNIT = """
id: lr-unit
version: 1
pillar: limits
title: t
claim: c
references: [r]
setting:
  data: {kind: sphere_relu_teacher, d: 4, pool_size: 50}
  model: {kind: mlp, width: 9, activation: tanh, bias: false, parameterization: ntp}
  optimizer: {kind: gd, lr: 1.5, momentum: 0.3, lr_unit: ntk_max_eigenvalue}
  train_size: 12
  steps: 15
seeds: 2
target: {quantity: train_loss, grid: [0, 3, 15]}
tolerance: {value: 0.1}
baseline: no-learning
"""


def test_learning_rate_in_units_of_the_initial_curvature(tmp_path: Path) -> None:
    """lr_unit ntk_max_eigenvalue: the engine (two stacked seeds, one learning rate each) vs one
    torch.optim.SGD per seed with η_s = lr/λ0_s, λ0_s from the dense Jacobian of that seed's network."""
    benchmark = _write(tmp_path, "limits", "lr-unit", SPEC_LR_UNIT)
    point = benchmark.points[0]
    setting = point.setting
    result = ENGINES.get("torch")().run(
        Job(benchmark.id, point.key, setting, "train_loss", {}, point.grid, (0, 1))
    )
    assert all(r.status == "ok" for r in result), result[0].message
    data = DATA.get(setting["data"]["kind"])(setting["data"])
    for row, seed in enumerate((0, 1)):
        rng = stream_rng(benchmark.id, seed, "data")
        task = data.draw(rng)
        x, y = (torch.tensor(a) for a in task.sample(setting["train_size"], rng))
        model = build_model(
            setting["model"],
            [task],
            [stream_rng(benchmark.id, seed, "init")],
            torch.float64,
            torch.device("cpu"),
        )
        jacobian = torch.autograd.functional.jacobian(
            lambda *ws, model=model, x=x: model.__class__.forward(_rebound(model, ws), x)[0, :, 0],
            tuple(model.params),
        )
        flat = torch.cat([j.reshape(len(x), -1) for j in jacobian], dim=1)
        lam0 = float(torch.linalg.eigvalsh(flat @ flat.T)[-1]) / len(x)
        params = [p.detach().clone().requires_grad_(True) for p in model.params]
        optimizer = torch.optim.SGD(params, lr=setting["optimizer"]["lr"] / lam0, momentum=0.3)
        losses = {}
        reference = _rebound(model, params)
        for t in range(setting["steps"] + 1):
            loss = half_mse(reference.forward(x), y).sum()
            losses[t] = float(loss.detach())
            if t == setting["steps"]:
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        np.testing.assert_allclose(
            result[row].value, [losses[int(t)] for t in point.grid], rtol=1e-10
        )


def _rebound(model, tensors):
    """A copy of an MLPStack using ``tensors`` (one seed's) as its weights."""
    clone = model.__class__.__new__(model.__class__)
    clone.__dict__.update(model.__dict__)
    clone.weights = list(tensors)
    clone.params = list(tensors)
    return clone


# ---------------------------------------------------------------------------------------------
# catapult phases


def test_phase_rule_on_traces() -> None:
    traces = np.array(
        [
            [1.0, 0.5, 0.2, 0.1],  # lazy
            [1.0, 1.5, 0.9, 0.1],  # a rise, but below the spike factor: lazy
            [1.0, 30.0, 2.0, 0.01],  # catapult
            [1.0, 30.0, 200.0, np.inf],  # diverged
            [1.0, 0.9, 1.1, 1.2],  # ended above the start: diverged
        ]
    )
    np.testing.assert_array_equal(classify_phases(traces), [0, 0, 1, 2, 2])


def test_uv_model_follows_the_catapult_map_and_its_phases() -> None:
    """The engine's linear two-layer network on one example (x = 1, y = 0) *is* Lewkowycz et al.'s uv
    model: its GD trajectory equals the map f ← f(1 − ηλ + η²f²/N), λ ← λ + (ηf²/N)(ηλ − 4), and the
    phases of its loss are the theory's: lazy below 2/λ0, catapult up to 4/λ0, diverged above."""
    width = 400
    x, y = torch.ones((1, 1, 1), dtype=torch.float64), torch.zeros((1, 1, 1), dtype=torch.float64)
    phases = []
    for units in (1.5, 3.0, 3.8, 4.4):
        model = build_model(
            _mlp(width, activation="identity"),
            [_task(1)],
            [np.random.default_rng(6)],
            torch.float64,
            torch.device("cpu"),
        )
        lam = float(ntk_max_eigenvalue(model, x)[0])
        eta = units / lam
        optimizer = make_optimizer({"kind": "gd", "lr": eta}, model.params, model.lr_factors)
        f = float(model.forward(x)[0, 0, 0].detach())
        losses = []
        for _ in range(400):
            out = model.forward(x)
            assert float(out[0, 0, 0].detach()) == pytest.approx(f, rel=1e-8, abs=1e-12)
            assert float(ntk_max_eigenvalue(model, x)[0]) == pytest.approx(lam, rel=1e-8)
            losses.append(0.5 * f**2)
            if not math.isfinite(f) or abs(f) > 1e6:
                losses.append(math.inf)
                break
            optimizer.step(torch.autograd.grad(half_mse(out, y).sum(), model.params))
            f, lam = (
                f * (1 - eta * lam + eta**2 * f**2 / width),
                lam + eta * f**2 / width * (eta * lam - 4),
            )
        phases.append(classify_phases(np.array([losses]))[0])
    assert phases == [0, 1, 1, 2]
    assert [phase_of(u, 2.0, 4.0) for u in (1.5, 3.0, 3.8, 4.4)] == phases


SPEC_PHASES = """
id: phases
version: 1
pillar: limits
title: t
claim: c
references: [r]
setting:
  data: {kind: sphere_relu_teacher, d: 4, pool_size: 50}
  model: {kind: mlp, width: 32, activation: relu, bias: false, parameterization: ntp}
  optimizer: {kind: gd, lr: 1.0, lr_unit: ntk_max_eigenvalue}
  train_size: 8
  steps: 5
sweep:
  optimizer.lr: [1.0, 2.0, 3.9, 4.0]
seeds: 3
target: {quantity: catapult_phase}
tolerance: {metric: mismatch, value: 0.1}
baseline: quadratic-stability
"""


def test_phase_predictors(tmp_path: Path) -> None:
    problems = problems_of(_write(tmp_path, "limits", "phases", SPEC_PHASES))
    assert [float(CatapultTheory().predict(p).mean) for p in problems] == [0, 1, 1, 2]
    assert [float(QuadraticStability().predict(p).mean) for p in problems] == [0, 2, 2, 2]


# ---------------------------------------------------------------------------------------------
# one step's feature updates


SPEC_STEP = """
id: step
version: 1
pillar: limits
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_tanh_teacher, d: 6, units: 3}
  model: {kind: mlp, width: 16, hidden_layers: 2, activation: relu, bias: false, parameterization: PARAM, center: true}
  optimizer: OPTIMIZER
  train_size: 10
  steps: 1
seeds: 2
target: {quantity: feature_updates, params: {eval_size: 7}}
tolerance: {value: 0.1}
baseline: width-independent
"""


@pytest.mark.parametrize(
    ("parameterization", "optimizer"),
    [("sp", "{kind: gd, lr: 0.1}"), ("mup", "{kind: adam, lr: 0.01}")],
)
def test_feature_updates_against_a_torch_reference(
    tmp_path: Path, parameterization: str, optimizer: str
) -> None:
    """The observable vs nn.Linear-free torch: the same initial weights (multipliers and μP factors
    from mlp_layout), one torch.optim step on the centered loss, RMS changes of h_1, h_2, f on each
    seed's fresh eval inputs."""
    from harness.engines.torch.models import mlp_layout

    text = SPEC_STEP.replace("PARAM", parameterization).replace("OPTIMIZER", optimizer)
    benchmark = _write(tmp_path, "limits", "step", text)
    point = benchmark.points[0]
    setting = point.setting
    result = ENGINES.get("torch")().run(
        Job(benchmark.id, point.key, setting, "feature_updates", {"eval_size": 7}, None, (0, 1))
    )
    assert all(r.status == "ok" for r in result), result[0].message
    data = DATA.get(setting["data"]["kind"])(setting["data"])
    layout = mlp_layout(setting["model"], 6, 1, setting["optimizer"]["kind"])
    for row, seed in enumerate((0, 1)):
        rng = stream_rng(benchmark.id, seed, "data")
        task = data.draw(rng)
        x, y = (torch.tensor(a) for a in task.sample(10, rng))
        fresh = torch.tensor(task.sample(7, stream_rng(benchmark.id, seed, "eval"))[0])
        init = stream_rng(benchmark.id, seed, "init")
        weights = [
            torch.tensor(layer["std"] * init.standard_normal(layer["shape"])).requires_grad_(True)
            for layer in layout
        ]
        start = [w.detach().clone() for w in weights]

        def layers(ws, inputs):
            h, out = inputs, []
            for i, (w, layer) in enumerate(zip(ws, layout)):
                h = layer["multiplier"] * (h @ w.T)
                out.append(h)
                h = torch.relu(h) if i < 2 else h
            return out

        groups = [
            {"params": [w], "lr": setting["optimizer"]["lr"] * layer["lr"]}
            for w, layer in zip(weights, layout)
        ]
        opt = (
            torch.optim.SGD(groups)
            if setting["optimizer"]["kind"] == "gd"
            else torch.optim.Adam(groups)
        )
        opt.zero_grad()
        centered = layers(weights, x)[-1] - layers(start, x)[-1]
        (0.5 * ((centered - y) ** 2).sum(1).mean()).backward()
        opt.step()
        with torch.no_grad():
            before, after = layers(start, fresh), layers(weights, fresh)
            expected = [float(((a - b) ** 2).mean().sqrt()) for a, b in zip(after, before)]
        np.testing.assert_allclose(result[row].value, expected, rtol=1e-9)


def test_centered_model_starts_at_zero_with_the_same_gradients() -> None:
    x = torch.tensor(np.random.default_rng(7).standard_normal((4, 3)))
    plain = build_model(
        _mlp(8), [_task(3)], [np.random.default_rng(8)], torch.float64, torch.device("cpu")
    )
    centered = build_model(
        _mlp(8, center=True),
        [_task(3)],
        [np.random.default_rng(8)],
        torch.float64,
        torch.device("cpu"),
    )
    assert torch.all(centered.forward(x) == 0)
    g_plain = torch.autograd.grad(plain.forward(x).sum(), plain.params)
    g_centered = torch.autograd.grad(centered.forward(x).sum(), centered.params)
    for a, b in zip(g_plain, g_centered):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("parameterization", "optimizer", "family"),
    [("sp", "{kind: gd, lr: 1.0e-3}", "sgd"), ("sp", "{kind: adam, lr: 1.0e-5}", "adam")],
)
def test_power_counting_against_a_direct_measurement(
    tmp_path: Path, parameterization: str, optimizer: str, family: str
) -> None:
    """The exponents of predictors.tensor_programs vs slopes measured by the engine between widths
    256 and 2048 (one seed): within 0.12 for every layer (finite-width corrections included)."""
    text = SPEC_STEP.replace("PARAM", parameterization).replace("OPTIMIZER", optimizer)
    text = text.replace("d: 6, units: 3", "d: 16, units: 4").replace(
        "train_size: 10", "train_size: 16"
    )
    values = []
    for width in (256, 2048):
        benchmark = _write(tmp_path, "limits", "step", text.replace("width: 16", f"width: {width}"))
        point = benchmark.points[0]
        (result,) = ENGINES.get("torch")().run(
            Job(
                benchmark.id,
                point.key,
                point.setting,
                "feature_updates",
                {"eval_size": 64},
                None,
                (0,),
            )
        )
        values.append(result.value)
    slopes = np.log(values[1] / values[0]) / np.log(2048 / 256)
    np.testing.assert_allclose(slopes, EXPONENTS[(parameterization, family)], atol=0.12)
    if family == "adam":  # the carried term W_3·Δφ_2 dominates: not the direct-term count of 1
        assert slopes[2] > 1.25


def test_tensor_programs_forecasts_per_group(tmp_path: Path) -> None:
    text = SPEC_STEP.replace("PARAM", "ntp").replace("OPTIMIZER", "{kind: gd, lr: 0.1}")
    text = text.replace(
        "target: {quantity: feature_updates, params: {eval_size: 7}}",
        "sweep:\n  model.width: [16, 32]\ntarget: {quantity: feature_updates, derive: {kind: slope, x: model.width}}",
    ).replace("tolerance: {value: 0.1}", "tolerance: {metric: abs_error, value: 0.1}")
    (problem,) = problems_of(_write(tmp_path, "limits", "step", text))
    assert list(TensorProgramsExponents().predict(problem).mean) == [-0.5, -0.5, 0.0]


def test_ntk_error_falls_with_width() -> None:
    """The committed default tier of ntk-wide-net: the NTK solution's error at the widest network
    is well below the narrowest's (the regime of validity the benchmark exists to show)."""
    from harness.pipeline import Session

    from .conftest import REPO

    session = Session(
        REPO, "default", benchmark_ids=["ntk-wide-net"], predictor_refs=["ntk-gp"], use_local=False
    )
    results = session.score(session.load())
    points = results.scores["ntk-wide-net"]["ntk-gp"].points
    if any(p.error is None for p in points):
        pytest.skip("ntk-wide-net has no committed default results")
    errors = {p.label: p.error for p in points}
    assert errors["width=4096"] < 0.5 * errors["width=64"]
    assert errors["width=4096"] < min(errors.values()) + 1e-12
    assert points[-1].verdict == "pass" and points[0].verdict == "fail"


def test_catapult_dynamics_observable(tmp_path: Path) -> None:
    """At step 0 the observable reads η λ_0 = lr exactly (the unit's definition) and no spike; after a
    catapult (ηλ0 = 3, width 512) the loss has spiked and the curvature sits below the edge 2."""
    text = (
        SPEC_PHASES.replace("width: 32", "width: 512")
        .replace("steps: 5", "steps: STEPS")
        .replace("optimizer.lr: [1.0, 2.0, 3.9, 4.0]", "optimizer.lr: [0.7, 3.0]")
        .replace("target: {quantity: catapult_phase}", "target: {quantity: catapult_dynamics}")
        .replace("metric: mismatch, ", "")
    )
    engine = ENGINES.get("torch")()
    for steps, check in (("0", "start"), ("150", "end")):
        benchmark = _write(tmp_path, "limits", "phases", text.replace("STEPS", steps))
        for point in benchmark.points:
            (result,) = engine.run(
                Job(benchmark.id, point.key, point.setting, "catapult_dynamics", {}, None, (0,))
            )
            peak, sharp = result.value
            lr = point.setting["optimizer"]["lr"]
            if check == "start":
                assert peak == 1.0 and sharp == pytest.approx(lr, rel=1e-12)
            elif lr < 2:
                assert peak == 1.0 and sharp == pytest.approx(lr, rel=0.05)
            else:
                assert peak > 2.0 and sharp < 2.0
