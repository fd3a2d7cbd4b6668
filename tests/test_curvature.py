"""Sharpness by Lanczos on Hessian-vector products against dense Hessians (float64).

References: ``torch.autograd.functional.hessian`` of a plain per-seed loss written out here (not the
engine's model code), ``numpy.linalg.eigvalsh``, and per-seed reference training loops with
``torch.optim`` (as in ``tests/test_optim.py``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.components import DATA
from harness.engines import ENGINES, Job
from harness.engines.torch.curvature import (
    flat,
    hessian_operator,
    lanczos_top,
    sharpness_at_init,
    unflat,
)
from harness.engines.torch.models import build_model
from harness.engines.torch.optim import make_optimizer
from harness.engines.torch.training import ModelProbe, half_mse
from harness.seeds import stream_rng
from harness.spec import load_benchmark

WIDTHS = [5, 4]


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread, as the engine's workers use (two threads on a shared, loaded CPU can be
    ten times slower for these tiny problems)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _mlp_loss(vector: torch.Tensor, shapes: list, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """½·mean‖f(x) − y‖² of a tanh MLP whose weights then biases are packed in ``vector``."""
    tensors, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        tensors.append(vector[start : start + size].reshape(shape))
        start += size
    depth = len(shapes) // 2
    h = x
    for i, (w, b) in enumerate(zip(tensors[:depth], tensors[depth:])):
        h = h @ w.T + b
        if i < depth - 1:
            h = torch.tanh(h)
    return 0.5 * ((h - y) ** 2).sum(-1).mean()


def _dense_hessians(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> list:
    """Per-seed dense Hessian of the plain loss at the stacked parameters (independent code)."""
    shapes = [tuple(p.shape[1:]) for p in params]
    out = []
    for s in range(params[0].shape[0]):
        vector = torch.cat([p[s].detach().reshape(-1) for p in params])
        xs = x[s] if x.dim() == 3 else x
        ys = y[s] if y.dim() == 3 else y
        out.append(
            torch.autograd.functional.hessian(
                lambda v, xs=xs, ys=ys: _mlp_loss(v, shapes, xs, ys), vector
            )
        )
    return out


def _tiny_mlp(seeds: int = 3, n: int = 9, d_in: int = 3, d_out: int = 2):
    class _T:
        pass

    task = _T()
    task.d_in, task.d_out = d_in, d_out
    spec = {
        "kind": "mlp",
        "widths": WIDTHS,
        "activation": "tanh",
        "bias": True,
        "init": {"kind": "fan_in", "gain": 1.5},
        "parameterization": "sp",
        "base_width": 64,
        "norm": "none",
    }
    rngs = [np.random.default_rng(100 + s) for s in range(seeds)]
    model = build_model(spec, [task] * seeds, rngs, torch.float64, torch.device("cpu"), "gd")
    g = np.random.default_rng(7)
    x = torch.tensor(g.standard_normal((seeds, n, d_in)))
    y = torch.tensor(g.standard_normal((seeds, n, d_out)))
    return model, x, y


def test_lanczos_finds_the_largest_algebraic_eigenvalue_of_symmetric_matrices() -> None:
    """Batched Lanczos vs numpy's eigvalsh, including spectra whose largest |λ| is negative
    (where power iteration would converge to the wrong end)."""
    g = np.random.default_rng(0)
    size, seeds = 40, 4
    mats = []
    for s in range(seeds):
        q, _ = np.linalg.qr(g.standard_normal((size, size)))
        values = g.uniform(-1, 1, size)
        values[0] = 3.0 + s  # the top
        if s % 2:
            values[1] = -10.0  # a larger negative eigenvalue
        mats.append((q * values) @ q.T)
    a = torch.tensor(np.stack(mats))
    top, vectors, _ = lanczos_top(
        lambda v: torch.einsum("spq,sq->sp", a, v),
        torch.tensor(g.standard_normal((seeds, size))),
        iterations=40,
        tolerance=1e-14,
    )
    expected = np.array([np.linalg.eigvalsh(m)[-1] for m in mats])
    np.testing.assert_allclose(top, expected, rtol=1e-12)
    for s in range(seeds):  # the returned vector is the top eigenvector
        v = vectors[s].numpy()
        np.testing.assert_allclose(mats[s] @ v, expected[s] * v, atol=1e-8)


def test_lanczos_stops_each_seed_on_its_own() -> None:
    """A seed's value is the same whether it is alone or batched with a slower one."""
    g = np.random.default_rng(1)
    size = 30
    fast = np.diag(np.r_[5.0, np.full(size - 1, 0.1)])
    q, _ = np.linalg.qr(g.standard_normal((size, size)))
    slow = (q * np.linspace(1.0, 1.01, size)) @ q.T  # clustered: slow convergence
    start = g.standard_normal(size)
    both = torch.tensor(np.stack([fast, slow]))
    batched, _, _ = lanczos_top(
        lambda v: torch.einsum("spq,sq->sp", both, v),
        torch.tensor(np.stack([start, start])),
        20,
        1e-6,
    )
    alone, _, _ = lanczos_top(
        lambda v: torch.einsum("spq,sq->sp", both[:1], v), torch.tensor(start[None]), 20, 1e-6
    )
    assert batched[0] == alone[0]


def test_hvp_of_the_summed_loss_gives_every_seeds_hessian_product() -> None:
    model, x, y = _tiny_mlp()
    matvec = hessian_operator(half_mse(model.forward(x), y).sum(), model.params)
    v = torch.tensor(np.random.default_rng(3).standard_normal(flat(model.params).shape))
    hv = matvec(v)
    for s, h in enumerate(_dense_hessians(model.params, x, y)):
        np.testing.assert_allclose(hv[s].numpy(), (h @ v[s]).numpy(), rtol=1e-10, atol=1e-12)
    assert [t.shape for t in unflat(v, model.params)] == [p.shape for p in model.params]


def test_probe_sharpness_matches_the_dense_hessian_eigenvalue() -> None:
    """Lanczos (warm-started on the second call) vs eigvalsh of the dense Hessian, to 1e-8."""
    model, x, y = _tiny_mlp()
    optimizer = make_optimizer({"kind": "gd", "lr": 0.05}, model.params, model.lr_factors)
    probe = ModelProbe(model, torch.float64, torch.device("cpu"), optimizer, (x, y))
    for _ in range(2):
        values = probe.sharpness(iterations=100, tolerance=1e-13)
        dense = [torch.linalg.eigvalsh(h)[-1].item() for h in _dense_hessians(model.params, x, y)]
        np.testing.assert_allclose(values, dense, rtol=1e-8)
        optimizer.step(torch.autograd.grad(half_mse(model.forward(x), y).sum(), model.params))


def test_preconditioned_sharpness_matches_dense_p_h_p() -> None:
    """λ_max(P^{-1/2} H P^{-1/2}) with Adam's P after a few steps, vs the dense matrix."""
    model, x, y = _tiny_mlp()
    spec = {
        "kind": "adam",
        "lr": 0.01,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "decoupled": False,
    }
    optimizer = make_optimizer(spec, model.params, model.lr_factors)
    probe = ModelProbe(model, torch.float64, torch.device("cpu"), optimizer, (x, y))
    with pytest.raises(ValueError, match="undefined before"):
        probe.sharpness(preconditioned=True)
    for _ in range(5):
        optimizer.step(torch.autograd.grad(half_mse(model.forward(x), y).sum(), model.params))
    values = probe.sharpness(iterations=100, tolerance=1e-13, preconditioned=True)
    p = flat(optimizer.preconditioner())
    for s, h in enumerate(_dense_hessians(model.params, x, y)):
        scale = p[s].rsqrt()
        dense = torch.linalg.eigvalsh(scale[:, None] * h * scale[None, :])[-1].item()
        assert values[s] == pytest.approx(dense, rel=1e-8)
        # the same spectrum as P^{-1} H (similar matrices)
        general = np.linalg.eigvals((h / p[s][:, None]).numpy()).real.max()
        assert values[s] == pytest.approx(general, rel=1e-6)


def test_sharpness_at_init_matches_a_dense_hessian() -> None:
    setting = {
        "model": {
            "kind": "mlp",
            "widths": WIDTHS,
            "activation": "tanh",
            "bias": True,
            "init": {"kind": "fan_in", "gain": 1.5},
            "parameterization": "sp",
            "base_width": 64,
            "norm": "none",
        },
        "optimizer": {"kind": "gd", "lr": 0.1},
    }
    g = np.random.default_rng(5)
    x, y = g.standard_normal((11, 3)), g.standard_normal((11, 2))
    values = sharpness_at_init(setting, x, y, [np.random.default_rng(s) for s in (1, 2)])
    model = build_model(
        setting["model"],
        [type("T", (), {"d_in": 3, "d_out": 2})()] * 2,
        [np.random.default_rng(s) for s in (1, 2)],
        torch.float64,
        torch.device("cpu"),
        "gd",
    )
    dense = _dense_hessians(model.params, torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(
        values, [torch.linalg.eigvalsh(h)[-1].item() for h in dense], rtol=1e-8
    )


# ---------------------------------------------------------------------------------------------
# the quantities through the engine, against reference training loops with torch.optim

SPEC = """
id: sharp
version: 1
pillar: laws
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_tanh_teacher, d: 3, units: 2, noise_std: 0.1}
  model: {kind: mlp, widths: [5, 4], activation: tanh, init: {kind: fan_in, gain: 1.5}}
  optimizer: OPTIMIZER
  train_size: 12
  steps: 20
seeds: 2
target: TARGET
tolerance: {value: 0.1}
baseline: two-over-eta
"""


def _load(tmp_path: Path, optimizer: str, target: str):
    folder = tmp_path / "benchmarks" / "laws"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sharp.yaml"
    path.write_text(textwrap.dedent(SPEC).replace("OPTIMIZER", optimizer).replace("TARGET", target))
    return load_benchmark(path)


def _run(benchmark, seeds=(0, 1)) -> np.ndarray:
    p = benchmark.points[0]
    results = ENGINES.get("torch")().run(
        Job(
            benchmark.id,
            p.key,
            p.setting,
            benchmark.target.quantity,
            dict(benchmark.target.params),
            p.grid,
            seeds,
        )
    )
    assert all(r.status == "ok" for r in results), results[0].message
    return np.stack([r.value for r in results])


def _reference(benchmark, seed: int, make_optimizer_, preconditioned: bool) -> dict[int, float]:
    """Train one seed with torch.optim on plain tensors; the dense (preconditioned) Hessian's top
    eigenvalue at every grid step, with P from torch.optim.Adam's own state."""
    setting = benchmark.points[0].setting
    data = DATA.get(setting["data"]["kind"])(setting["data"])
    data_rng = stream_rng(benchmark.id, seed, "data")
    task = data.draw(data_rng)
    x, y = (torch.tensor(a) for a in task.sample(setting["train_size"], data_rng))
    model = build_model(
        setting["model"],
        [task],
        [stream_rng(benchmark.id, seed, "init")],
        torch.float64,
        torch.device("cpu"),
    )
    params = [p.detach().clone()[0].requires_grad_(True) for p in model.params]
    shapes = [tuple(p.shape) for p in params]
    optimizer = make_optimizer_(params)
    out = {}
    grid = set(benchmark.points[0].grid)
    for t in range(setting["steps"] + 1):
        if t in grid:
            vector = torch.cat([p.detach().reshape(-1) for p in params])
            h = torch.autograd.functional.hessian(lambda v: _mlp_loss(v, shapes, x, y), vector)
            if preconditioned:
                group = optimizer.param_groups[0]
                b1, b2 = group["betas"]
                p_diag = []
                for p in params:
                    state = optimizer.state[p]
                    step = float(state["step"])
                    v_hat = state["exp_avg_sq"] / (1 - b2**step)
                    p_diag.append(((1 - b1**step) * (v_hat.sqrt() + group["eps"])).reshape(-1))
                scale = torch.cat(p_diag).rsqrt()
                h = scale[:, None] * h * scale[None, :]
            out[t] = torch.linalg.eigvalsh(h)[-1].item()
        if t == setting["steps"]:
            break
        optimizer.zero_grad()
        _mlp_loss(torch.cat([p.reshape(-1) for p in params]), shapes, x, y).backward()
        optimizer.step()
    return out


def test_sharpness_curve_through_the_engine_matches_reference_gd_with_momentum(
    tmp_path: Path,
) -> None:
    benchmark = _load(
        tmp_path,
        "{kind: gd, lr: 0.1, momentum: 0.5}",
        "{quantity: sharpness, params: {iterations: 80, tolerance: 1.0e-13}, grid: [0, 7, 20]}",
    )
    measured = _run(benchmark)
    for row, seed in enumerate((0, 1)):
        ref = _reference(benchmark, seed, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5), False)
        np.testing.assert_allclose(measured[row], [ref[t] for t in (0, 7, 20)], rtol=1e-8)


def test_preconditioned_sharpness_through_the_engine_matches_torch_adam(tmp_path: Path) -> None:
    benchmark = _load(
        tmp_path,
        "{kind: adam, lr: 0.01}",
        "{quantity: sharpness, params: {preconditioned: true, iterations: 80, tolerance: 1.0e-13}, grid: [1, 6, 20]}",
    )
    measured = _run(benchmark)
    for row, seed in enumerate((0, 1)):
        ref = _reference(benchmark, seed, lambda p: torch.optim.Adam(p, lr=0.01), True)
        np.testing.assert_allclose(measured[row], [ref[t] for t in (1, 6, 20)], rtol=1e-7)


def test_plateau_is_the_median_of_the_curve_over_its_window(tmp_path: Path) -> None:
    params = "iterations: 80, tolerance: 1.0e-13"
    curve = _run(
        _load(
            tmp_path,
            "{kind: gd, lr: 0.2}",
            f"{{quantity: sharpness, params: {{{params}}}, grid: {{kind: linear, num: 11}}}}",
        )
    )
    plateau = _run(
        _load(
            tmp_path,
            "{kind: gd, lr: 0.2}",
            f"{{quantity: sharpness_plateau, params: {{{params}, start: 0.5}}, grid: {{kind: linear, num: 11}}}}",
        )
    )
    grid = np.linspace(0, 20, 11).round()
    np.testing.assert_allclose(plateau, np.median(curve[:, grid >= 10], axis=1), rtol=1e-9)


def test_a_seeds_sharpness_does_not_depend_on_its_job(tmp_path: Path) -> None:
    benchmark = _load(
        tmp_path,
        "{kind: gd, lr: 0.2}",
        "{quantity: sharpness, params: {iterations: 20, tolerance: 1.0e-3}, grid: [0, 10, 20]}",
    )
    grouped = _run(benchmark, (0, 1, 2))
    alone = np.concatenate([_run(benchmark, (k,)) for k in (0, 1, 2)])
    assert np.array_equal(grouped, alone)


def test_sharpness_specs_that_cannot_work_fail_clearly(tmp_path: Path) -> None:
    benchmark = _load(
        tmp_path,
        "{kind: gd, lr: 0.2}",
        "{quantity: sharpness, params: {preconditioned: true}, grid: [1, 20]}",
    )
    p = benchmark.points[0]
    result = ENGINES.get("torch")().run(
        Job(
            benchmark.id, p.key, p.setting, "sharpness", dict(benchmark.target.params), p.grid, (0,)
        )
    )
    assert result[0].status == "failed" and "preconditioner" in result[0].message
