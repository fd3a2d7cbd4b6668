"""Angular updates, weight norms and linear-fit mode times against plain reference loops; digits
targets and label flips; small Gaussian init of MLPs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.components import DATA
from harness.engines import ENGINES, Job
from harness.engines.torch.models import build_model, mlp_layout
from harness.seeds import stream_rng
from harness.spec import Benchmark, load_benchmark

SPEC = """
id: dyn
version: 1
pillar: hyperparameters
title: t
claim: c
references: [r]
setting:
  data: {kind: digits, target: onehot, label_flip: 0.3}
  model: {kind: mlp, widths: [12, 10], norm: layernorm, bias: false}
  optimizer: {kind: sgd, lr: 0.1, batch_size: 16, momentum: 0.9, weight_decay: 0.01}
  train_size: 100
  steps: 40
seeds: 2
target: TARGET
tolerance: {value: 0.1}
baseline: no-learning
"""


def load(tmp_path: Path, target: str, spec: str = SPEC) -> Benchmark:
    folder = tmp_path / "benchmarks" / "hyperparameters"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dyn.yaml"
    path.write_text(textwrap.dedent(spec).replace("TARGET", target))
    return load_benchmark(path)


def measure(benchmark: Benchmark, seeds: tuple[int, ...] = (0, 1)) -> np.ndarray:
    point = benchmark.points[0]
    results = ENGINES.get("torch")().run(
        Job(
            benchmark.id,
            point.key,
            point.setting,
            benchmark.target.quantity,
            dict(benchmark.target.params),
            point.grid,
            seeds,
        )
    )
    assert all(r.status == "ok" for r in results), results[0].message
    return np.stack([r.value for r in results])


def reference_weights(benchmark: Benchmark, seed: int) -> list[list[np.ndarray]]:
    """Plain per-seed loop with torch.optim.SGD: the weight matrices at every step ``0..steps``."""
    setting = benchmark.points[0].setting
    data = DATA.get(setting["data"]["kind"])(setting["data"])
    data_rng, sgd_rng = stream_rng("dyn", seed, "data"), stream_rng("dyn", seed, "sgd")
    task = data.draw(data_rng)
    x, y = (torch.tensor(a) for a in task.sample(setting["train_size"], data_rng))
    model = build_model(
        setting["model"],
        [task],
        [stream_rng("dyn", seed, "init")],
        torch.float64,
        torch.device("cpu"),
        "sgd",
    )
    weights = [p.detach().clone()[0].requires_grad_(True) for p in model.params]
    o = setting["optimizer"]
    optimizer = torch.optim.SGD(
        weights, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weight_decay"]
    )

    def forward(h: torch.Tensor) -> torch.Tensor:
        for i, w in enumerate(weights):
            h = h @ w.T
            if i < len(weights) - 1:
                h = torch.relu(torch.nn.functional.layer_norm(h, h.shape[-1:], eps=1e-5))
        return h

    history = []
    for t in range(setting["steps"] + 1):
        history.append([w.detach().numpy().copy() for w in weights])
        if t == setting["steps"]:
            break
        idx = torch.as_tensor(sgd_rng.integers(0, len(x), size=o["batch_size"]))
        optimizer.zero_grad()
        (0.5 * ((forward(x[idx]) - y[idx]) ** 2).sum(1).mean()).backward()
        optimizer.step()
    return history


@pytest.mark.parametrize("average", ["mean", "rms"])
def test_angular_update_matches_a_reference_loop(tmp_path: Path, average: str) -> None:
    b = load(
        tmp_path,
        f"{{quantity: angular_update, params: {{layers: [0, 1], start: 0.5, average: {average}}}}}",
    )
    measured = measure(b)
    assert measured.shape == (2, 2)
    for seed in (0, 1):
        history = reference_weights(b, seed)
        expected = []
        for layer in (0, 1):
            r = np.array(
                [
                    np.linalg.norm(history[t + 1][layer] - history[t][layer])
                    / np.linalg.norm(history[t][layer])
                    for t in range(20, 40)
                ]
            )
            expected.append(np.sqrt(np.mean(r**2)) if average == "rms" else np.mean(r))
        np.testing.assert_allclose(measured[seed], expected, rtol=1e-9)


def test_weight_norm_matches_a_reference_loop(tmp_path: Path) -> None:
    b = load(tmp_path, "{quantity: weight_norm, params: {layers: [1, 2], start: 0.75}}")
    measured = measure(b)
    for seed in (0, 1):
        history = reference_weights(b, seed)
        expected = [np.mean([np.linalg.norm(history[t][k]) for t in range(30, 41)]) for k in (1, 2)]
        np.testing.assert_allclose(measured[seed], expected, rtol=1e-10)


def test_window_quantities_reject_a_missing_layer(tmp_path: Path) -> None:
    b = load(tmp_path, "{quantity: weight_norm, params: {layers: [5]}}")
    point = b.points[0]
    results = ENGINES.get("torch")().run(
        Job(b.id, point.key, point.setting, "weight_norm", dict(b.target.params), None, (0,))
    )
    assert results[0].status == "failed" and "3 weight matrices" in results[0].message


MODES = """
id: dyn
version: 1
pillar: hyperparameters
title: t
claim: c
references: [r]
setting:
  data: {kind: whitened_linear_teacher, d_in: 6, d_out: 5, singular_values: [3.0, 2.0, 1.0]}
  model: MODEL
  optimizer: {kind: gd, lr: 0.05}
  train_size: 64
  steps: 400
seeds: 2
target: TARGET
tolerance: {value: 0.1}
baseline: shallow-regression
"""


def test_linear_fit_equals_the_end_to_end_map_of_a_linear_network(tmp_path: Path) -> None:
    spec = MODES.replace(
        "MODEL", "{kind: deep_linear, depth: 2, width: 16, init: {kind: gaussian, std: 0.05}}"
    )
    fit = measure(load(tmp_path, "{quantity: mode_half_times_linear_fit}", spec))
    exact = measure(load(tmp_path, "{quantity: mode_half_times}", spec))
    assert np.all(np.isfinite(exact))
    np.testing.assert_allclose(fit, exact, rtol=1e-9)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_linear_fit_mode_times_of_an_mlp_match_a_reference_loop(
    tmp_path: Path, activation: str
) -> None:
    spec = MODES.replace(
        "MODEL",
        f"{{kind: mlp, widths: [16], activation: {activation}, bias: false,"
        " init: {kind: gaussian, std: 0.05}}",
    )
    b = load(tmp_path, "{quantity: mode_half_times_linear_fit, params: {fraction: 0.5}}", spec)
    measured = measure(b)
    setting = b.points[0].setting
    data = DATA.get(setting["data"]["kind"])(setting["data"])
    phi = torch.relu if activation == "relu" else torch.tanh
    for seed in (0, 1):
        data_rng = stream_rng("dyn", seed, "data")
        task = data.draw(data_rng)
        u, s, v = task.teacher_svd()
        x_np, y_np = task.sample(setting["train_size"], data_rng)
        x, y = torch.tensor(x_np), torch.tensor(y_np)
        model = build_model(
            setting["model"],
            [task],
            [stream_rng("dyn", seed, "init")],
            torch.float64,
            torch.device("cpu"),
            "gd",
        )
        w1, w2 = (p.detach().clone()[0].requires_grad_(True) for p in model.params)
        optimizer = torch.optim.SGD([w1, w2], lr=setting["optimizer"]["lr"])
        strengths = []
        for t in range(setting["steps"] + 1):
            with torch.no_grad():
                prediction = (phi(x @ w1.T) @ w2.T).numpy()
            fit = np.linalg.lstsq(x_np, prediction, rcond=None)[0].T  # J = argmin ‖X Jᵀ − Ŷ‖
            strengths.append(np.einsum("or,oi,ir->r", u, fit, v))
            if t == setting["steps"]:
                break
            optimizer.zero_grad()
            (0.5 * ((phi(x @ w1.T) @ w2.T - y) ** 2).sum(1).mean()).backward()
            optimizer.step()
        strengths = np.array(strengths)
        level = 0.5 * s
        expected = []
        for a in range(3):
            k = int(np.argmax(strengths[:, a] >= level[a]))
            assert strengths[k, a] >= level[a] and k > 0
            lo, hi = strengths[k - 1, a], strengths[k, a]
            expected.append(k - 1 + (level[a] - lo) / (hi - lo))
        np.testing.assert_allclose(measured[seed], expected, rtol=1e-8)


def test_mlp_gaussian_init_sets_every_layer() -> None:
    spec = {
        "widths": [32, 16],
        "init": {"kind": "gaussian", "std": 0.01},
        "parameterization": "sp",
        "base_width": 64,
    }
    assert [layer["std"] for layer in mlp_layout(spec, 8, 3, "gd")] == [0.01] * 3


def digits(**params: object):
    cls = DATA.get("digits")
    full = {p: v.default for p, v in cls.PARAMS.items() if not v.required}
    return cls({"kind": "digits", **full, **params}).draw(None)


def test_digits_onehot_and_label_flips() -> None:
    clean = digits(target="onehot")
    x, y = clean.evaluation_set()
    assert y.shape == (1797, 10) and np.all(y.sum(axis=1) == 1.0)
    flipped = digits(target="onehot", label_flip=0.3)
    _, y_flip = flipped.evaluation_set()
    changed = np.any(y_flip != y, axis=1)
    assert 0.27 < changed.mean() < 0.33  # each label flips with probability 0.3, to another class
    assert np.all(y_flip.sum(axis=1) == 1.0)
    again = digits(target="onehot", label_flip=0.3)
    assert np.array_equal(again.evaluation_set()[1], y_flip)  # fixed by flip_seed
    other = digits(target="onehot", label_flip=0.3, flip_seed=1)
    assert not np.array_equal(other.evaluation_set()[1], y_flip)
    parity = digits()
    parity_flip = digits(label_flip=0.2)
    changed = parity.evaluation_set()[1] != parity_flip.evaluation_set()[1]
    assert 0.17 < changed.mean() < 0.23  # a flipped digit has the other parity
    np.testing.assert_array_equal(parity.evaluation_set()[0], x)
