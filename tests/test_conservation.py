"""Balancedness: the discrete identity to rounding on engine runs, the gradient-flow law by
simulation, and the ``balance_ratio`` quantity against a plain reference loop (float64).

For a hidden unit with outgoing weights ``a`` and incoming weights ``w`` (and bias ``b``), gradient
descent with coupled weight decay gives exactly
``D(t+1) = (1 − ηλ)² D(t) + η² (‖g_a‖² − ‖g_w‖² − g_b²)`` with ``D = ‖a‖² − ‖w‖² − b²``; for a
linear network the matrices ``W_{l+1}ᵀW_{l+1} − W_l W_lᵀ`` obey
``D(t+1) = (1 − ηλ)² D(t) + η² (G_{l+1}ᵀG_{l+1} − G_l G_lᵀ)``.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.components import DATA
from harness.components.quantities import Observer
from harness.components.quantities_laws import imbalance
from harness.engines import ENGINES, Job
from harness.engines.torch.training import train_iterative
from harness.spec import load_benchmark
from predictors.conservation import flow_law

DIGITS = {
    "kind": "digits",
    "target": "onehot",
    "subset": 120,
    "standardize": True,
    "replace": False,
    "scale": 16.0,
    "noise_std": 0.0,
}
RELU = {
    "kind": "mlp",
    "widths": [12],
    "activation": "relu",
    "bias": True,
    "init": {"kind": "fan_in", "gain": 1.0},
    "parameterization": "sp",
    "base_width": 64,
    "norm": "none",
}
LINEAR = {"kind": "deep_linear", "depth": 3, "width": 7, "init": {"kind": "gaussian", "std": 0.3}}


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread, as the engine's workers use (two threads on a shared, loaded CPU can be
    ten times slower for these tiny problems)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class _Recorder(Observer):
    """Records every layer at every step."""

    every_step = True

    def __init__(self) -> None:
        self.history: list = []

    def record(self, step: int, probe) -> None:
        self.history.append(probe.layers())


def _plain_forward(layers: list, x: torch.Tensor, relu: bool) -> torch.Tensor:
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T
        if b is not None:
            h = h + b
        if relu and i < len(layers) - 1:
            h = torch.relu(h)
    return h


def _plain_gradients(layers_np: list, seed: int, x: np.ndarray, y: np.ndarray, relu: bool):
    """Gradients of ½·mean‖f(x) − y‖² for one seed, by plain torch code on plain tensors."""
    layers = [
        (
            torch.tensor(w[seed], requires_grad=True),
            None if b is None else torch.tensor(b[seed], requires_grad=True),
        )
        for w, b in layers_np
    ]
    out = _plain_forward(layers, torch.tensor(x), relu)
    loss = 0.5 * ((out - torch.tensor(y)) ** 2).sum(-1).mean()
    flat = [t for pair in layers for t in pair if t is not None]
    grads = iter(torch.autograd.grad(loss, flat))
    return [(next(grads).numpy(), None if b is None else next(grads).numpy()) for _, b in layers]


def _train(model: dict, optimizer: dict, steps: int, n: int, seeds: int = 2):
    """Run the engine's training loop, recording the layers at every step."""
    data = DATA.get("digits")(DIGITS)
    tasks = [data.draw(None)] * seeds
    setting = {
        "model": model,
        "optimizer": optimizer,
        "train_size": n,
        "steps": steps,
    }
    recorder = _Recorder()
    train_iterative(
        setting,
        tasks,
        [np.random.default_rng(10 + s) for s in range(seeds)],
        [np.random.default_rng(20 + s) for s in range(seeds)],
        [np.random.default_rng(30 + s) for s in range(seeds)],
        recorder,
        torch.float64,
        torch.device("cpu"),
    )
    train_sets = [tasks[0].sample(n, np.random.default_rng(10 + s)) for s in range(seeds)]
    return recorder.history, train_sets


def _batches(optimizer: dict, n: int, steps: int, seed: int) -> list:
    """The minibatch indices the engine draws for one seed (from its ``sgd`` generator)."""
    if optimizer["kind"] == "gd":
        return [np.arange(n)] * steps
    rng = np.random.default_rng(30 + seed)
    return [rng.integers(0, n, size=optimizer["batch_size"]) for _ in range(steps)]


@pytest.mark.parametrize(
    "model, optimizer, form",
    [
        (RELU, {"kind": "gd", "lr": 0.2, "weight_decay": 0.05}, "neurons"),
        (RELU, {"kind": "sgd", "lr": 0.2, "batch_size": 8, "weight_decay": 0.05}, "neurons"),
        (LINEAR, {"kind": "sgd", "lr": 0.05, "batch_size": 8, "weight_decay": 0.05}, "matrices"),
    ],
    ids=["relu-gd", "relu-sgd", "linear-sgd-matrices"],
)
def test_discrete_identity_holds_to_rounding_on_engine_runs(
    model: dict, optimizer: dict, form: str
) -> None:
    steps, n = 40, 60
    history, train_sets = _train(model, optimizer, steps, n)
    lr, decay = optimizer["lr"], optimizer["weight_decay"]
    relu = model["kind"] == "mlp"
    worst, worst_without, eta2_size = 0.0, 0.0, 0.0
    for seed, (x, y) in enumerate(train_sets):
        for t, idx in enumerate(_batches(optimizer, n, steps, seed)):
            grads = _plain_gradients(history[t], seed, x[idx], y[idx], relu)
            # the same imbalance of the gradients: ‖g_out‖² − ‖g_in‖² − g_b² per unit (or matrices)
            g_stacked = [(g[None], None if gb is None else gb[None]) for g, gb in grads]
            d_now = imbalance(
                [
                    (w[seed : seed + 1], None if b is None else b[seed : seed + 1])
                    for w, b in history[t]
                ],
                form,
            )
            d_next = imbalance(
                [
                    (w[seed : seed + 1], None if b is None else b[seed : seed + 1])
                    for w, b in history[t + 1]
                ],
                form,
            )
            term = lr**2 * imbalance(g_stacked, form)
            scale = np.abs(d_now).max()
            worst = max(worst, np.abs(d_next - (1 - lr * decay) ** 2 * d_now - term).max() / scale)
            worst_without = max(
                worst_without, np.abs(d_next - (1 - lr * decay) ** 2 * d_now).max() / scale
            )
            eta2_size = max(eta2_size, np.abs(term).max() / scale)
    assert worst < 1e-12
    # the η² term is far above rounding: dropping it breaks the identity
    assert eta2_size > 1e-6 and worst_without > 1e4 * worst


def test_imbalance_against_plain_loops() -> None:
    g = np.random.default_rng(0)
    layers = [
        (g.standard_normal((2, 5, 3)), g.standard_normal((2, 5))),
        (g.standard_normal((2, 4, 5)), None),
        (g.standard_normal((2, 2, 4)), g.standard_normal((2, 2))),
    ]
    got = imbalance(layers)
    for s in range(2):
        expected = []
        for (w, b), (w_next, _) in itertools.pairwise(layers):
            for j in range(w.shape[1]):
                incoming = sum(w[s, j, k] ** 2 for k in range(w.shape[2]))
                incoming += 0.0 if b is None else b[s, j] ** 2
                outgoing = sum(w_next[s, i, j] ** 2 for i in range(w_next.shape[1]))
                expected.append(outgoing - incoming)
        np.testing.assert_allclose(got[s], expected, rtol=1e-13)
    linear = [(w, None) for w, _ in layers]
    matrices = imbalance(linear, "matrices")
    for s in range(2):
        w1, w2 = layers[0][0][s], layers[1][0][s]
        np.testing.assert_allclose(matrices[s, :25], (w2.T @ w2 - w1 @ w1.T).ravel(), rtol=1e-13)
        # the diagonal of the matrix form is the per-unit form
        np.testing.assert_allclose(
            np.diag(matrices[s, :25].reshape(5, 5)), imbalance(linear)[s, :5], rtol=1e-13
        )
    with pytest.raises(ValueError, match="without biases"):
        imbalance(layers, "matrices")


@pytest.mark.parametrize("model", [RELU, LINEAR], ids=["relu", "linear"])
def test_flow_law_is_the_small_step_limit_of_gradient_descent(model: dict) -> None:
    """GD at a fixed gradient-flow time τ = ηt = 1.5 with λ = 0.6: ‖D(τ)‖/‖D(0)‖ → e^{−2λτ} as
    η → 0, with an error shrinking linearly in η (the O(η) breaking)."""
    decay, tau = 0.6, 1.5
    errors = []
    for lr in (0.02, 0.01, 0.005):
        steps = int(round(tau / lr))
        history, _ = _train(model, {"kind": "gd", "lr": lr, "weight_decay": decay}, steps, 60)
        form = "neurons"
        ratio = np.linalg.norm(imbalance(history[-1], form), axis=1) / np.linalg.norm(
            imbalance(history[0], form), axis=1
        )
        errors.append(np.abs(ratio / flow_law(np.array([steps]), lr, decay) - 1).max())
    assert errors[-1] < 0.01
    assert 0.35 < errors[1] / errors[0] < 0.65 and 0.35 < errors[2] / errors[1] < 0.65


SPEC = """
id: balance
version: 1
pillar: laws
title: t
claim: c
references: [r]
setting:
  data: {kind: digits, target: onehot, subset: 120, standardize: true, replace: false}
  model: MODEL
  optimizer: {kind: sgd, lr: 0.1, batch_size: 8, weight_decay: 0.02}
  train_size: 60
  steps: 30
seeds: 2
target: {quantity: balance_ratio, grid: [0, 10, 30]}
tolerance: {value: 0.1}
baseline: balance-no-law
"""


def _job(tmp_path: Path, model: str):
    folder = tmp_path / "benchmarks" / "laws"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "balance.yaml"
    path.write_text(textwrap.dedent(SPEC).replace("MODEL", model))
    benchmark = load_benchmark(path)
    p = benchmark.points[0]
    job = Job(benchmark.id, p.key, p.setting, "balance_ratio", {"form": "neurons"}, p.grid, (0, 1))
    return benchmark, job


def test_balance_ratio_through_the_engine_matches_a_plain_loop(tmp_path: Path) -> None:
    from harness.engines.torch.models import build_model
    from harness.seeds import stream_rng

    benchmark, job = _job(tmp_path, "{kind: mlp, widths: [12], activation: relu}")
    results = ENGINES.get("torch")().run(job)
    assert all(r.status == "ok" for r in results), results[0].message
    setting = job.setting
    task = DATA.get("digits")(setting["data"]).draw(None)
    for row, seed in enumerate(job.seeds):
        x, y = task.sample(60, stream_rng(benchmark.id, seed, "data"))
        sgd = stream_rng(benchmark.id, seed, "sgd")
        model = build_model(
            setting["model"],
            [task],
            [stream_rng(benchmark.id, seed, "init")],
            torch.float64,
            torch.device("cpu"),
        )
        w1, w2, b1, b2 = (p.detach().clone()[0] for p in model.params)
        sizes = []
        for t in range(31):
            if t in (0, 10, 30):  # ‖D‖ by plain per-unit loops
                d = [
                    float((w2[:, j] ** 2).sum() - (w1[j] ** 2).sum() - b1[j] ** 2)
                    for j in range(12)
                ]
                sizes.append(np.linalg.norm(d))
            if t == 30:
                break
            idx = torch.as_tensor(sgd.integers(0, 60, size=8))
            params = [p.requires_grad_(True) for p in (w1, w2, b1, b2)]
            h = torch.relu(torch.tensor(x)[idx] @ params[0].T + params[2])
            out = h @ params[1].T + params[3]
            loss = 0.5 * ((out - torch.tensor(y)[idx]) ** 2).sum(-1).mean()
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                w1, w2, b1, b2 = (p - 0.1 * (g + 0.02 * p) for p, g in zip(params, grads))
        np.testing.assert_allclose(results[row].value, np.array(sizes) / sizes[0], rtol=1e-10)


@pytest.mark.parametrize(
    "model, message",
    [
        ("{kind: mlp, widths: [12], activation: tanh}", "homogeneous"),
        ("{kind: mlp, widths: [12], activation: relu, norm: layernorm}", "no norm"),
        ("{kind: mlp, widths: [12], activation: relu, parameterization: mup}", "no mup"),
    ],
)
def test_balance_ratio_refuses_models_without_the_symmetry(
    tmp_path: Path, model: str, message: str
) -> None:
    _, job = _job(tmp_path, model)
    result = ENGINES.get("torch")().run(job)
    assert result[0].status == "failed" and message in result[0].message
