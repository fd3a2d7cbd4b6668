"""Optimizers and parameterizations of the torch engine against torch.optim and the μP table."""

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
from harness.spec import load_benchmark

SPEC = """
id: optim
version: 1
pillar: solvable
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_tanh_teacher, d: 6, units: 2, noise_std: 0.1}
  model: {kind: mlp, widths: [12, 10], activation: tanh, parameterization: PARAM}
  optimizer: OPTIMIZER
  train_size: 40
  steps: 30
seeds: 2
target: {quantity: train_loss, grid: [0, 10, 30]}
tolerance: {value: 0.1}
baseline: no-learning
"""

OPTIMIZERS = {
    "sgd-momentum-decay": (
        "{kind: sgd, lr: 0.05, batch_size: 8, momentum: 0.9, weight_decay: 0.01}",
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    ),
    "gd-momentum": (
        "{kind: gd, lr: 0.05, momentum: 0.5}",
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5),
    ),
    "adam-l2": (
        "{kind: adam, lr: 0.01, weight_decay: 0.01}",
        lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01),
    ),
    "adamw": (
        "{kind: adam, lr: 0.01, beta1: 0.8, beta2: 0.99, weight_decay: 0.1, decoupled: true, batch_size: 8}",
        lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
    ),
}


def load(tmp_path: Path, optimizer: str, parameterization: str = "sp"):
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "optim.yaml"
    path.write_text(
        textwrap.dedent(SPEC).replace("OPTIMIZER", optimizer).replace("PARAM", parameterization)
    )
    return load_benchmark(path)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_engine_optimizers_match_torch_optim(tmp_path: Path, name: str) -> None:
    """The stacked engine vs a per-seed nn.Module-free reference using torch.optim on the same
    initial weights, data and minibatches."""
    spec, reference_optimizer = OPTIMIZERS[name]
    benchmark = load(tmp_path, spec)
    point = benchmark.points[0]
    setting = point.setting
    measured = ENGINES.get("torch")().run(
        Job(benchmark.id, point.key, setting, "train_loss", {}, point.grid, (0, 1))
    )
    assert all(r.status == "ok" for r in measured), measured[0].message
    data = DATA.get(setting["data"]["kind"])(setting["data"])
    for row, seed in enumerate((0, 1)):
        data_rng, sgd_rng = (
            stream_rng(benchmark.id, seed, "data"),
            stream_rng(benchmark.id, seed, "sgd"),
        )
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
        weights, biases = params[:3], params[3:]
        optimizer = reference_optimizer(params)
        batch = setting["optimizer"].get("batch_size")
        losses = {}
        for t in range(setting["steps"] + 1):
            with torch.no_grad():
                h = x
                for i, (w, b) in enumerate(zip(weights, biases)):
                    h = h @ w.T + b
                    h = torch.tanh(h) if i < 2 else h
                losses[t] = float(0.5 * ((h - y) ** 2).sum(1).mean())
            if t == setting["steps"]:
                break
            if isinstance(batch, int):
                idx = torch.as_tensor(sgd_rng.integers(0, len(x), size=batch))
                xb, yb = x[idx], y[idx]
            else:
                xb, yb = x, y
            h = xb
            for i, (w, b) in enumerate(zip(weights, biases)):
                h = h @ w.T + b
                h = torch.tanh(h) if i < 2 else h
            optimizer.zero_grad()
            (0.5 * ((h - yb) ** 2).sum(1).mean()).backward()
            optimizer.step()
        reference = np.array([losses[int(t)] for t in point.grid])
        np.testing.assert_allclose(measured[row].value, reference, rtol=1e-10)


def test_mup_layout_table() -> None:
    spec = {
        "widths": [256, 256],
        "init": {"gain": 1.0},
        "parameterization": "mup",
        "base_width": 64,
    }
    sgd = {layer["role"]: layer for layer in mlp_layout(spec, 32, 1, "sgd")}
    adam = {layer["role"]: layer for layer in mlp_layout(spec, 32, 1, "adam")}
    m = 256 / 64
    assert (sgd["input"]["lr"], sgd["hidden"]["lr"], sgd["output"]["lr"]) == (m, 1.0, 1 / m)
    assert (adam["input"]["lr"], adam["hidden"]["lr"], adam["output"]["lr"]) == (1.0, 1 / m, 1 / m)
    assert sgd["output"]["std"] == pytest.approx(1 / np.sqrt(256 * m))
    assert sgd["hidden"]["std"] == pytest.approx(1 / np.sqrt(256))
    ntp = mlp_layout({**spec, "parameterization": "ntp"}, 32, 1, "sgd")
    assert [layer["std"] for layer in ntp] == [1.0, 1.0, 1.0]
    assert ntp[1]["multiplier"] == pytest.approx(1 / 16)


def test_mup_equals_sp_at_the_base_width() -> None:
    for optimizer in ("sgd", "adam"):
        spec = {
            "widths": [64, 64],
            "init": {"gain": 1.5},
            "parameterization": "mup",
            "base_width": 64,
        }
        assert mlp_layout(spec, 8, 3, optimizer) == mlp_layout(
            {**spec, "parameterization": "sp"}, 8, 3, optimizer
        )
