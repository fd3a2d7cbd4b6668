"""The torch engine: bitwise reproducibility, seed independence, and agreement with plain reference loops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.components import DATA
from harness.engines import ENGINES, Job
from harness.executor import run_jobs
from harness.seeds import population_rng, stream_rng
from harness.spec import Benchmark, load_benchmark

from .conftest import write_project


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Benchmark]:
    root = write_project(tmp_path_factory.mktemp("engine"))
    return {p.stem: load_benchmark(p) for p in (root / "benchmarks" / "solvable").glob("*.yaml")}


def job(benchmark: Benchmark, seeds: tuple[int, ...], point: int = 0) -> Job:
    p = benchmark.points[point]
    return Job(
        benchmark.id,
        p.key,
        p.setting,
        benchmark.target.quantity,
        dict(benchmark.target.params),
        p.grid,
        seeds,
    )


def values(results) -> np.ndarray:
    assert all(r.status == "ok" for r in results), [r.message for r in results]
    return np.stack([r.value for r in results])


@pytest.mark.parametrize("name", ["tiny-linreg", "tiny-krr", "tiny-dln"])
def test_same_seed_same_bits(tiny: dict[str, Benchmark], name: str) -> None:
    engine = ENGINES.get("torch")()
    first = values(engine.run(job(tiny[name], (0, 1, 2))))
    second = values(engine.run(job(tiny[name], (0, 1, 2))))
    assert np.array_equal(first, second, equal_nan=True)


@pytest.mark.parametrize("name", ["tiny-linreg", "tiny-krr", "tiny-dln"])
def test_a_seed_does_not_depend_on_its_job(tiny: dict[str, Benchmark], name: str) -> None:
    """Stacking seeds is an arrangement, not a change of the experiment: same bits alone or grouped."""
    engine = ENGINES.get("torch")()
    grouped = values(engine.run(job(tiny[name], (0, 1, 2))))
    alone = np.concatenate([values(engine.run(job(tiny[name], (k,)))) for k in (0, 1, 2)])
    assert np.array_equal(grouped, alone, equal_nan=True)


def test_worker_processes_give_the_same_bits(tiny: dict[str, Benchmark]) -> None:
    jobs = [job(tiny["tiny-linreg"], (k,), point=i) for i in (0, 1) for k in (0, 1)]
    out: dict[tuple, np.ndarray] = {}
    run_jobs(
        jobs,
        "torch",
        workers=1,
        on_result=lambda j, r: out.__setitem__(("one", j.point_key, j.seeds), values(r)),
    )
    run_jobs(
        jobs,
        "torch",
        workers=2,
        on_result=lambda j, r: out.__setitem__(("two", j.point_key, j.seeds), values(r)),
    )
    for j in jobs:
        assert np.array_equal(
            out[("one", j.point_key, j.seeds)], out[("two", j.point_key, j.seeds)]
        )


def test_different_seeds_differ(tiny: dict[str, Benchmark]) -> None:
    v = values(ENGINES.get("torch")().run(job(tiny["tiny-linreg"], (0, 1))))
    assert not np.array_equal(v[0], v[1])


def test_named_streams_are_distinct_and_reproducible() -> None:
    draws = {s: stream_rng("b", 0, s).standard_normal(4) for s in ("data", "init", "sgd", "eval")}
    assert np.array_equal(draws["data"], stream_rng("b", 0, "data").standard_normal(4))
    assert len({tuple(v) for v in draws.values()}) == 4
    assert not np.array_equal(stream_rng("b", 1, "data").standard_normal(4), draws["data"])
    assert not np.array_equal(stream_rng("c", 0, "data").standard_normal(4), draws["data"])
    assert not np.array_equal(population_rng("b").standard_normal(4), draws["data"])
    with pytest.raises(ValueError, match="unknown stream"):
        stream_rng("b", 0, "batches")


@pytest.mark.parametrize("kind", ["gaussian_linear", "gaussian_tanh_teacher"])
def test_chunked_sampling_equals_consecutive_draws(kind: str) -> None:
    params = (
        {"d": 5, "spectrum_exponent": 1.0, "target_exponent": 1.0, "noise_std": 0.3}
        if kind == "gaussian_linear"
        else {"d": 5, "noise_std": 0.3}
    )
    data = DATA.get(kind)(
        {
            "kind": kind,
            **{
                **{p: v.default for p, v in DATA.get(kind).PARAMS.items() if not v.required},
                **params,
            },
        }
    )
    task = data.draw(None)
    assert "chunked_sampling" in task.capabilities
    x_all, y_all = task.sample(12, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    parts = [task.sample(4, rng) for _ in range(3)]
    assert np.array_equal(x_all, np.concatenate([x for x, _ in parts]))
    assert np.array_equal(y_all, np.concatenate([y for _, y in parts]))


# --- reference loops ------------------------------------------------------------------------


def test_online_sgd_matches_a_plain_numpy_loop(tiny: dict[str, Benchmark]) -> None:
    """The engine's stacked autograd SGD vs w ← w + (η/B) Xᵀ(y − Xw) written out in numpy."""
    benchmark = tiny["tiny-linreg"]
    point = benchmark.points[1]
    measured = values(ENGINES.get("torch")().run(job(benchmark, (0, 1), point=1)))
    setting = point.setting
    task = DATA.get("gaussian_linear")(setting["data"]).draw(None)
    lr, batch = setting["optimizer"]["lr"], setting["optimizer"]["batch_size"]
    for row, seed in enumerate((0, 1)):
        rng = stream_rng(benchmark.id, seed, "sgd")
        w = np.zeros(task.d_in)
        curve = {}
        for t in range(setting["steps"] + 1):
            curve[t] = 0.5 * (
                np.sum(task.eigenvalues * (w - task.teacher) ** 2) + task.noise_variance
            )
            if t == setting["steps"]:
                break
            x, y = task.sample(batch, rng)
            w = w + lr / batch * x.T @ (y[:, 0] - x @ w)
        reference = np.array([curve[t] for t in point.grid])
        np.testing.assert_allclose(measured[row], reference, rtol=1e-12)


def test_deep_linear_gd_matches_a_torch_nn_reference(tiny: dict[str, Benchmark]) -> None:
    """The engine vs nn.Linear layers + torch.optim.SGD, one seed at a time, same data and init."""
    from harness.engines.torch.models import _aligned_layers

    benchmark = tiny["tiny-dln"]
    point = benchmark.points[0]
    setting = point.setting
    measured = values(ENGINES.get("torch")().run(job(benchmark, (0, 1))))
    data = DATA.get("whitened_linear_teacher")(setting["data"])
    for row, seed in enumerate((0, 1)):
        data_rng = stream_rng(benchmark.id, seed, "data")
        task = data.draw(data_rng)
        x, y = task.sample(setting["train_size"], data_rng)
        x, y = torch.tensor(x), torch.tensor(y)
        layers = _aligned_layers(
            setting["model"]["depth"],
            setting["model"]["width"],
            task,
            setting["model"]["init"]["mode_strength"],
        )
        net = torch.nn.Sequential(
            *[
                torch.nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=torch.float64)
                for w in layers
            ]
        )
        with torch.no_grad():
            for module, w in zip(net, layers):
                module.weight.copy_(torch.tensor(w))
        optimizer = torch.optim.SGD(net.parameters(), lr=setting["optimizer"]["lr"])
        u, _, v = task.teacher_svd()
        level = 0.5 * task.s
        times = np.full(task.s.size, np.inf)
        previous = None
        for t in range(setting["steps"] + 1):
            with torch.no_grad():
                product = net[1].weight @ net[0].weight
                strength = np.einsum("or,oi,ir->r", u, product.numpy(), v)
            for m in range(task.s.size):
                if np.isinf(times[m]) and strength[m] >= level[m]:
                    times[m] = (
                        t
                        if previous is None
                        else (t - 1) + (level[m] - previous[m]) / (strength[m] - previous[m])
                    )
            previous = strength
            if t == setting["steps"]:
                break
            optimizer.zero_grad()
            loss = 0.5 * ((net(x) - y) ** 2).sum(1).mean()
            loss.backward()
            optimizer.step()
        np.testing.assert_allclose(measured[row], times, rtol=1e-9)


def test_kernel_ridge_matches_numpy(tiny: dict[str, Benchmark]) -> None:
    from harness.components.kernels import ReluNTK

    benchmark = tiny["tiny-krr"]
    point = benchmark.points[1]
    setting = point.setting
    measured = values(ENGINES.get("torch")().run(job(benchmark, (0, 1), point=1)))
    task = DATA.get("sphere_relu_teacher")(setting["data"]).draw(None)
    pool_x, pool_y = task.evaluation_set()
    kernel = ReluNTK()
    for row, seed in enumerate((0, 1)):
        x, y = task.sample(setting["train_size"], stream_rng(benchmark.id, seed, "data"))
        alpha = np.linalg.solve(kernel(x, x) + setting["optimizer"]["ridge"] * np.eye(len(x)), y)
        reference = np.mean((kernel(pool_x, x) @ alpha - pool_y) ** 2)
        np.testing.assert_allclose(measured[row], reference, rtol=1e-9)


def test_divergence_is_a_measurement_not_a_failure(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "blow-up": """
                id: blow-up
                version: 1
                pillar: solvable
                title: t
                claim: c
                references: [r]
                setting:
                  data: {kind: gaussian_linear, d: 10, spectrum_exponent: 1.0, target_exponent: 1.0}
                  model: {kind: linear}
                  optimizer: {kind: sgd, lr: 5.0, batch_size: 1}
                  train_size: online
                  steps: 400
                seeds: 2
                target: {quantity: population_loss, grid: [0, 400]}
                tolerance: {value: 0.1}
                baseline: gd-population
                """
        },
    )
    benchmark = load_benchmark(root / "benchmarks" / "solvable" / "blow-up.yaml")
    results = ENGINES.get("torch")().run(job(benchmark, (0, 1)))
    assert all(r.status == "ok" for r in results)
    assert all(np.isinf(r.value[-1]) for r in results)


def test_engine_failure_is_recorded_per_seed(tiny: dict[str, Benchmark]) -> None:
    benchmark = tiny["tiny-dln"]
    point = benchmark.points[0]
    broken = dict(
        point.setting, model=dict(point.setting["model"], width=1)
    )  # aligned init needs width >= 2
    results = ENGINES.get("torch")().run(
        Job(benchmark.id, point.key, broken, "mode_half_times", {"fraction": 0.5}, None, (0, 1))
    )
    assert [r.status for r in results] == ["failed", "failed"]
    assert "width" in results[0].message


def test_seeds_of_non_invariant_settings_train_in_fixed_chunks(tmp_path: Path) -> None:
    """MLPs are not bitwise stack-invariant, so a missing seed is retrained in its fixed chunk of
    seed indices (never split across workers), and stored seeds are not rewritten."""
    from harness.measure import _spread, plan_jobs
    from harness.store import Store, StoreChain

    root = write_project(
        tmp_path,
        {
            "mlp-chunks": """
                id: mlp-chunks
                version: 1
                pillar: solvable
                title: t
                claim: c
                references: [r]
                setting:
                  data: {kind: gaussian_tanh_teacher, d: 4, units: 2}
                  model: {kind: mlp, widths: [8], activation: tanh}
                  optimizer: {kind: gd, lr: 0.1}
                  train_size: 16
                  steps: 5
                seeds: 6
                target: {quantity: train_loss, grid: [0, 5]}
                tolerance: {value: 0.1}
                baseline: no-learning
                """
        },
    )
    benchmark = load_benchmark(root / "benchmarks" / "solvable" / "mlp-chunks.yaml")
    engine = ENGINES.get("torch")()
    assert not engine.stack_invariant(benchmark.points[0].setting)
    assert engine.stack_invariant(load_benchmark_tiny_linreg(root).points[0].setting)
    stores = StoreChain([Store(tmp_path / "store")], Store(tmp_path / "store"))
    jobs, _ = plan_jobs(benchmark, stores)
    assert [j.seeds for j in jobs] == [tuple(range(6))] and not jobs[0].splittable
    assert _spread(jobs, 4) == jobs  # not split to feed more workers


def load_benchmark_tiny_linreg(root: Path) -> Benchmark:
    write_project(root)
    return load_benchmark(root / "benchmarks" / "solvable" / "tiny-linreg.yaml")
