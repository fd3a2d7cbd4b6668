"""Shared fixtures: a tiny theorybench project (three fast benchmarks) in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TINY_SPECS = {
    "tiny-linreg": """
        id: tiny-linreg
        version: 1
        pillar: solvable
        title: Tiny online SGD
        claim: The recursion predicts the mean loss.
        references: ["test"]
        setting:
          data: {kind: gaussian_linear, d: 10, spectrum_exponent: 1.5, target_exponent: 1.5, noise_std: 0.1}
          model: {kind: linear, init: zeros}
          optimizer: {kind: sgd, lr: 0.2, batch_size: 4}
          train_size: online
          steps: 60
        sweep:
          optimizer.lr: [0.1, 0.3]
        seeds: 4
        target:
          quantity: population_loss
          grid: {kind: log, num: 8}
        tolerance: {metric: log_ratio, value: 0.5}
        baseline: gd-population
        tiers:
          smoke: {seeds: 3}
        """,
    "tiny-krr": """
        id: tiny-krr
        version: 1
        pillar: solvable
        title: Tiny kernel regression
        claim: Eigenlearning predicts the test error.
        references: ["test"]
        setting:
          data: {kind: sphere_relu_teacher, d: 4, pool_size: 150, seed: 1}
          model: {kind: kernel_machine, kernel: relu_ntk}
          optimizer: {kind: ridge_solve, ridge: 0.01}
          train_size: 8
        sweep:
          train_size: [8, 24]
        seeds: 4
        target: {quantity: test_mse}
        tolerance: {metric: log_ratio, value: 0.5}
        baseline: no-learning
        """,
    "tiny-dln": """
        id: tiny-dln
        version: 1
        pillar: solvable
        title: Tiny deep linear network
        claim: Saxe's solution gives the half-learning times.
        references: ["test"]
        setting:
          data: {kind: whitened_linear_teacher, d_in: 4, d_out: 4, singular_values: [2.0, 1.0]}
          model: {kind: deep_linear, depth: 2, width: 6, init: {kind: aligned, mode_strength: 0.01}}
          optimizer: {kind: gd, lr: 0.05}
          train_size: 16
          steps: 150
        seeds: 3
        target: {quantity: mode_half_times}
        tolerance: {metric: log_ratio, value: 0.1}
        baseline: shallow-regression
        """,
}


def write_project(root: Path, specs: dict[str, str] | None = None) -> Path:
    """Create a project folder with the given specs (default: the tiny ones) and an empty board."""
    for name, text in (specs or TINY_SPECS).items():
        folder = root / "benchmarks" / "solvable"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    (root / "leaderboard").mkdir(exist_ok=True)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh tiny project (nothing measured)."""
    return write_project(tmp_path / "project")


@pytest.fixture(scope="session")
def measured_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny project whose default tier is measured once per test session (read-only for tests)."""
    root = write_project(tmp_path_factory.mktemp("measured") / "project")
    result = run_cli(["run", "--jobs", "1"], root)
    assert result.returncode == 0, result.stderr
    return root


def run_cli(
    args: list[str], root: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``python -m harness ARGS`` in ``root`` (a fresh interpreter, like a user's shell)."""
    full_env = {**os.environ, "THEORYBENCH_PROGRESS": "0", **(env or {})}
    full_env.pop("THEORYBENCH_ROOT", None)
    full_env.pop("THEORYBENCH_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=root,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
