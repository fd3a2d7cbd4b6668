"""Linear random-feature regression in the torch engine, and the generalized ``test_mse``.

Checked against plain numpy references computed from the same named streams: the features
``F`` (``init`` stream), the training set (``data`` stream), the ridge readout in its textbook form
``a = Φᵀ(ΦΦᵀ + δI)⁻¹y`` (or ``Φ⁺ y`` by ``numpy.linalg.pinv`` when ``δ = 0``) and the exact population
risk ``(w − w*)ᵀΛ(w − w*) + σ²``; plus determinism, seed independence and the three ways
``test_mse`` is computed (exact linear risk, finite pool, Monte Carlo).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.components import DATA, QUANTITIES
from harness.engines import ENGINES, Job
from harness.engines.torch.random_features import LinearMapProbe, ridge_readout
from harness.errors import SpecError
from harness.seeds import stream_rng
from harness.spec import Benchmark, load_benchmark

SPEC = """
id: tiny-rf
version: 1
pillar: solvable
title: t
claim: c
references: [r]
setting:
  data: {kind: gaussian_linear, d: 30, spectrum_exponent: 1.2, target_exponent: 1.5, noise_std: 0.2}
  model: {kind: random_features, features: 10}
  optimizer: {kind: ridge_solve, ridge: 1.0e-3}
  train_size: 20
sweep:
  - {model.features: 10}
  - {model.features: 45}
  - {model.features: 45, optimizer.ridge: 0.0}
  - {model.features: 12, optimizer.ridge: 0.0}
  - {model.features: identity, optimizer.ridge: 0.0}
  - {model.features: identity, optimizer.ridge: 0.0, train_size: 50}
  - {model.features: identity, optimizer.ridge: 0.5, train_size: 50}
seeds: 3
target: {quantity: test_mse}
tolerance: {metric: log_ratio, value: 0.1}
baseline: no-peak
"""


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    folder = tmp_path_factory.mktemp("rf") / "benchmarks" / "solvable"
    folder.mkdir(parents=True)
    path = folder / "tiny-rf.yaml"
    path.write_text(textwrap.dedent(SPEC))
    return load_benchmark(path)


def run(benchmark: Benchmark, point: int, seeds: tuple[int, ...]) -> np.ndarray:
    p = benchmark.points[point]
    job = Job(
        benchmark.id, p.key, p.setting, "test_mse", dict(benchmark.target.params), None, seeds
    )
    results = ENGINES.get("torch")().run(job)
    assert all(r.status == "ok" for r in results), [r.message for r in results]
    return np.array([r.value for r in results], dtype=np.float64)


def numpy_reference(benchmark: Benchmark, point: int, seed: int) -> float:
    setting = benchmark.points[point].setting
    data_rng = stream_rng(benchmark.id, seed, "data")
    task = DATA.get("gaussian_linear")(setting["data"]).draw(data_rng)
    x, y = task.sample(setting["train_size"], data_rng)
    y = y[:, 0]
    features = setting["model"]["features"]
    ridge = setting["optimizer"]["ridge"]
    if features == "identity":
        phi, back = x, np.eye(task.d_in)
    else:
        f = stream_rng(benchmark.id, seed, "init").standard_normal((features, task.d_in))
        phi, back = x @ f.T / np.sqrt(features), f.T / np.sqrt(features)
    if ridge > 0:
        a = phi.T @ np.linalg.solve(phi @ phi.T + ridge * np.eye(len(y)), y)
    else:
        a = np.linalg.pinv(phi) @ y
    err = back @ a - task.teacher
    return float(np.sum(task.eigenvalues * err**2) + task.noise_variance)


@pytest.mark.parametrize("point", range(7))
def test_fit_matches_a_plain_numpy_reference(bench: Benchmark, point: int) -> None:
    """k < n and k > n with a ridge, ridgeless over- and under-determined, and features: identity."""
    measured = run(bench, point, (0, 1, 2))
    reference = [numpy_reference(bench, point, s) for s in (0, 1, 2)]
    np.testing.assert_allclose(measured, reference, rtol=1e-8)


def test_same_bits_and_seed_independence(bench: Benchmark) -> None:
    grouped = run(bench, 1, (0, 1, 2))
    assert np.array_equal(grouped, run(bench, 1, (0, 1, 2)))
    alone = np.concatenate([run(bench, 1, (s,)) for s in (0, 1, 2)])
    assert np.array_equal(grouped, alone)
    assert len(set(grouped.tolist())) == 3


def test_features_are_nested_in_k(bench: Benchmark) -> None:
    """Row-major draws: the first 10 features of k = 45 are the features of k = 10 (common random
    numbers across a sweep in k)."""
    small = stream_rng(bench.id, 0, "init").standard_normal((10, 30))
    large = stream_rng(bench.id, 0, "init").standard_normal((45, 30))
    assert np.array_equal(small, large[:10])


def test_ridge_readout_forms_agree() -> None:
    """Both push-through forms (k ≤ n and k > n) equal the textbook ``Φᵀ(ΦΦᵀ + δI)⁻¹y``, and ``δ = 0``
    gives ``Φ⁺ y`` (minimum-norm least squares)."""
    rng = np.random.default_rng(0)
    for n, k in [(30, 8), (8, 30), (20, 20)]:
        phi, y = rng.standard_normal((n, k)), rng.standard_normal((n, 2))
        textbook = phi.T @ np.linalg.solve(phi @ phi.T + 0.3 * np.eye(n), y)
        got = ridge_readout(torch.tensor(phi), torch.tensor(y), 0.3).numpy()
        np.testing.assert_allclose(got, textbook, rtol=1e-10, atol=1e-12)
        got0 = ridge_readout(torch.tensor(phi), torch.tensor(y), 0.0).numpy()
        np.testing.assert_allclose(got0, np.linalg.pinv(phi) @ y, rtol=1e-8, atol=1e-10)


def test_identity_features_at_n_equal_d_do_not_fail(bench: Benchmark, tmp_path: Path) -> None:
    """Ridgeless at the interpolation threshold: a square system, solved (huge but finite error)."""
    text = textwrap.dedent(SPEC).replace(
        "sweep:", "sweep:\n  - {model.features: identity, optimizer.ridge: 0.0, train_size: 30}"
    )
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True)
    (folder / "tiny-rf.yaml").write_text(text)
    b = load_benchmark(folder / "tiny-rf.yaml")
    value = run(b, 0, (0,))
    assert np.all(np.isfinite(value)) and value[0] == pytest.approx(numpy_reference(b, 0, 0))


def test_random_features_need_ridge_solve(tmp_path: Path) -> None:
    text = textwrap.dedent(SPEC).replace(
        "optimizer: {kind: ridge_solve, ridge: 1.0e-3}", "optimizer: {kind: gd, lr: 0.1}"
    )
    folder = tmp_path / "benchmarks" / "solvable"
    folder.mkdir(parents=True)
    (folder / "tiny-rf.yaml").write_text(text)
    with pytest.raises(SpecError, match="fitted in closed form"):
        load_benchmark(folder / "tiny-rf.yaml")


# --------------------------------------------------------------------------------------------
# test_mse: exact linear risk, Monte Carlo, and the signal_variance option of gaussian_linear


def _gaussian(**params):
    base = {"kind": "gaussian_linear", "d": 6, "spectrum_exponent": 1.0, "target_exponent": 2.0}
    base.update(noise_std=0.0, signal_variance=None)
    base.update(params)
    return DATA.get("gaussian_linear")(base).draw(None)


def test_signal_variance_rescales_the_teacher() -> None:
    iso = _gaussian(d=50, spectrum_exponent=0.0, target_exponent=0.0, signal_variance=1.0)
    np.testing.assert_allclose(iso.eigenvalues, 1.0)
    np.testing.assert_allclose(iso.teacher, 1.0 / np.sqrt(50), rtol=1e-14)
    scaled = _gaussian(signal_variance=3.0)
    assert np.sum(scaled.eigenvalues * scaled.teacher**2) == pytest.approx(3.0, rel=1e-14)
    plain = _gaussian()
    np.testing.assert_allclose(plain.eigenvalues * plain.teacher**2, np.arange(1, 7.0) ** -2.0)


def _setting(model: dict) -> dict:
    return {
        "data": {"kind": "gaussian_linear"},
        "model": model,
        "steps": 0,
        "train_size": 10,
    }


def test_test_mse_exact_for_linear_models_and_monte_carlo_otherwise() -> None:
    """The exact path is ``2 ×`` the task's ``½`` risk; the Monte Carlo path, on the same weights,
    agrees with it within 4 standard errors (20,000 test points) and uses the eval stream."""
    task = _gaussian(noise_std=0.5)
    rng = np.random.default_rng(1)
    weights = (task.teacher + 0.3 * rng.standard_normal((3, task.d_in)))[:, None, :]
    exact_quantity = QUANTITIES.get("test_mse")(
        {"eval_size": 20_000}, _setting({"kind": "random_features", "features": 4}), None
    )
    observer = exact_quantity.observer([task] * 3, None)
    observer.record(0, LinearMapProbe(weights))
    exact = observer.result()
    np.testing.assert_allclose(
        exact,
        [np.sum(task.eigenvalues * (w[0] - task.teacher) ** 2) + 0.25 for w in weights],
        rtol=1e-14,
    )
    mc_quantity = QUANTITIES.get("test_mse")(
        {"eval_size": 20_000}, _setting({"kind": "mlp", "widths": [4]}), None
    )
    with pytest.raises(ValueError, match="eval streams"):
        mc_quantity.observer([task] * 3, None)
    eval_rngs = [stream_rng("x", s, "eval") for s in range(3)]
    observer = mc_quantity.observer([task] * 3, eval_rngs)
    observer.record(0, LinearMapProbe(weights))
    mc = observer.result()
    x, y = task.sample(20_000, stream_rng("x", 0, "eval"))
    sq = (x @ weights[0, 0] - y[:, 0]) ** 2
    assert mc[0] == pytest.approx(sq.mean(), rel=1e-12)  # the seed's own eval draw
    assert np.all(np.abs(mc - exact) < 4 * sq.std() / np.sqrt(20_000))
