"""Performance benchmark of the harness's training against a naive per-seed PyTorch loop.

This is a timing script, not a test: it asserts nothing about speed. In ONE run it times, for each
workload, the harness's way of training (the torch engine's stacked seeds, run through
``harness.executor.run_jobs`` with the default workers, i.e. what ``theorybench measure`` does)
and a naive loop written plainly here (a Python loop over seeds, each seed an ``nn.Module``
trained with ``torch.optim.SGD``, torch's default threads), and prints their ratio. Both sides run
in the same invocation and alternate (naive, harness, naive, harness, ...), and each figure is the
median of the repetitions, so the ratio is comparable within one run even on a noisy shared
machine; absolute seconds are not comparable across runs or machines.

Workloads:

- ``mlp``: the reference config of ``shared/perf-prototype.md``: 2-layer ReLU MLP, n=1024, d=32,
  width 256, out=1, 16 seeds, 500 full-batch GD steps, float32, ``half_mse``, lr 2/width. Timed on
  two harness paths:

  * ``mlp (direct)``: ``harness.engines.torch.training.train_iterative`` called in this process on
    the ``gaussian_tanh_teacher`` (units=1) setting, seeds stacked in the engine's groups
    (``TorchEngine.group_size``), torch's default threads, with an observer that records nothing.
    This isolates the engine's training loop from the process arrangement.
  * ``mlp (run_jobs)``: the same model, optimizer and sizes as a one-point benchmark on
    ``sphere_relu_teacher`` (d=32, a pool of 2048 points, because the ``test_mse`` target needs a
    finite pool: no existing quantity accepts an MLP on the tanh teacher), planned with
    ``plan_jobs`` and run with ``run_jobs``. The target adds one forward pass over the pool per
    seed at the end (negligible next to 500 steps).

- ``sgd-linreg-curves``, ``krr-learning-curves``, ``dln-modes``: the benchmarks in
  ``benchmarks/solvable/`` at their ``default`` tier (``smoke`` with ``--quick``), every point and
  seed, measured with ``plan_jobs`` (against an empty temporary store) + ``run_jobs``; the results
  are dropped, nothing is written to any store. Each naive loop does the same work: the same steps,
  batch sizes, dtype (float64) and observation work (the exact population loss on the grid steps
  for sgd-linreg, with a fresh numpy batch every step; the mode projection of the end-to-end map at
  every step for dln-modes; the test error over the whole pool for krr). To fit the time budget a
  naive loop runs every point for one seed after another and stops starting seeds once about
  ``--naive-budget`` seconds (10; 3 with ``--quick``) are spent; its time is scaled up by
  (seeds / seeds run). Every seed does the same work, so this is exact up to noise. The table's
  notes say where this was done; ``--naive-budget 0`` runs every seed (the sgd-linreg naive loop
  alone then takes minutes).

- ``pool start``: ``run_jobs`` on two trivial jobs (harness only): the fixed cost of starting the
  worker processes (``spawn``, importing torch and the harness in each). It is included in every
  ``run_jobs`` figure above and dominates small workloads.

- ``sharpness`` (a separate table, harness only): what one sharpness measurement costs next to one
  training step, on the default points of ``benchmarks/laws/edge-of-stability.yaml`` (Hessian of
  full-batch GD's loss) and ``adaptive-edge-of-stability.yaml`` (Adam-preconditioned), for 1 and 4
  stacked seeds, torch on one thread as in the workers: after a warm-up of training steps, it
  alternates 25 timed training steps with one timed ``ModelProbe.sharpness`` call (Lanczos on
  Hessian-vector products, warm-started from the previous call, the benchmarks' ``iterations`` and
  ``tolerance``), as the observers do during a run.

How to run (from the repository root, torch installed)::

    python scripts/perf.py            # full: about 3 minutes on the 2-core project machine
    python scripts/perf.py --quick    # MLP steps / 4, the smoke tiers: about 1.5 minutes
    python scripts/perf.py --reps 3   # more repetitions (median); default 2
    python scripts/perf.py --only mlp dln     # some workloads (mlp, sgd-linreg, krr, dln, pool,
                                              # sharpness)
    python scripts/perf.py --wait-idle 60     # before each timed run, wait up to 60 s for quiet

Other processes on the machine distort the numbers, the naive side most: torch's two OpenMP threads
slow down badly when another process holds a core. The ``other load`` column says how much CPU
(in cores) other processes used during the row's timed runs (from ``/proc/stat`` minus this
process and its reaped workers); above ~0.1, rerun, or use ``--wait-idle``.

``OMP_PROC_BIND=true`` pins torch's two intra-op threads to the cores. On the prototype's machine
it steadied the naive MLP loop (3.3 s with it; 3.3-5.5 s without, depending on where the OS put the
threads). It is not guaranteed elsewhere: on a 2-vCPU Intel Xeon VM the standalone naive loop was
bimodal (about 9 s or 15 s) with and without it. The script does not set it; export it yourself::

    OMP_PROC_BIND=true python scripts/perf.py

How to read the table: ``naive/harness`` > 1 means the harness is faster than the naive loop by
that factor; < 1 means it is slower. ``us/seed-step`` is wall time divided by (seeds x steps) of the
workload, so for the harness it is a throughput figure over all workers. The arrangement column
says how the harness split the work: jobs x seeds stacked per job, and the worker processes
(each single-threaded).

Reference numbers (``shared/perf-prototype.md``, measured on a 2-vCPU AMD EPYC Zen 5 VM; the
header line prints this machine's CPU, and other CPUs give other absolute numbers): the naive loop
takes 3.3 s for the MLP config (416 us per seed-step, 19% of the float32 matmul peak); the best
torch-only strategies reach about 1.2-1.3x naive (two pinned single-thread worker processes 1.2x,
``torch.compile`` of the per-seed step 1.3x); JAX per-seed programs in two pinned processes reach
3.3x. Stacking seeds (bmm / vmap) *hurt* full-batch w=256 (0.2-0.75x) and helped only when the
per-step work is tiny (minibatch 32: 5x).
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without an installed package
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "benchmarks" / "solvable"

# the reference MLP config of shared/perf-prototype.md
MLP_D, MLP_N, MLP_WIDTH, MLP_SEEDS, MLP_STEPS = 32, 1024, 256, 16, 500
MLP_LR = 2.0 / MLP_WIDTH


# --------------------------------------------------------------------------------------------
# timing helpers


@dataclass
class Row:
    workload: str
    seed_steps: int  # seeds x steps (0 for closed-form work)
    naive: list[float]
    harness: list[float]
    arrangement: str
    note: str = ""
    load: float = float("nan")  # the most foreign CPU load (cores) seen during the row's runs


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (Linux /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:8]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (the harness's worker processes)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class LoadMeter:
    """Foreign CPU load: what other processes used while we timed, in cores (busy - ours) / wall."""

    def __init__(self) -> None:
        self.start = (time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds())

    def cores(self) -> float:
        wall0, busy0, own0 = self.start
        busy1 = _busy_cpu_seconds()
        if busy0 is None or busy1 is None:
            return float("nan")
        wall = max(time.perf_counter() - wall0, 1e-9)
        return max(0.0, (busy1 - busy0) - (_own_cpu_seconds() - own0)) / wall


def wait_for_idle(limit: float, threshold: float = 0.1) -> None:
    """Wait up to ``limit`` seconds until other processes use less than ``threshold`` cores."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        meter = LoadMeter()
        time.sleep(0.5)
        if not meter.cores() > threshold:
            return


@dataclass
class Timer:
    """Runs and times workloads; remembers the foreign load seen."""

    wait_idle: float = 0.0
    max_load: float = 0.0

    def timed(self, fn: Callable[[], Any]) -> float:
        if self.wait_idle > 0:
            wait_for_idle(self.wait_idle)
        meter = LoadMeter()
        start = time.perf_counter()
        scale = fn()
        seconds = time.perf_counter() - start
        load = meter.cores()
        if load == load:
            self.max_load = max(self.max_load, load)
        # a function that ran part of its work returns the factor that scales it to all of it
        return seconds * (scale if isinstance(scale, (int, float)) else 1.0)

    def cycle(
        self, fns: Sequence[Callable[[], Any] | None], reps: int
    ) -> tuple[list[list[float]], float]:
        """Run the functions in turn (a, b, ..., a, b, ...) ``reps`` times; each one's wall seconds
        (empty for ``None``) and the most foreign load (cores) seen during any of the runs."""
        self.max_load = 0.0
        times: list[list[float]] = [[] for _ in fns]
        for _ in range(reps):
            for fn, out in zip(fns, times):
                if fn is not None:
                    out.append(self.timed(fn))
        return times, self.max_load


# --------------------------------------------------------------------------------------------
# harness side


def _empty_stores(tmp: Path) -> Any:
    from harness.store import Store, StoreChain

    empty = Store(tmp / "empty-store", writable=False)
    return StoreChain([empty], write_to=empty)


def _order_like_measure(jobs: list[Any], workers: int) -> list[Any]:
    """Arrange jobs as ``harness.measure.measure`` does (split to fill workers, longest first).

    Uses the measure module's helpers when they exist; otherwise keeps plan_jobs' order.
    """
    import harness.measure as hm

    spread = getattr(hm, "_spread", None)
    cost = getattr(hm, "job_cost", None)
    if spread is not None:
        jobs = spread(list(jobs), workers)
    if cost is not None:
        jobs = sorted(jobs, key=cost, reverse=True)
    return jobs


def run_harness_jobs(jobs: Sequence[Any]) -> None:
    """``run_jobs`` with the default workers; results are checked and dropped."""
    from harness.executor import run_jobs

    failures: list[str] = []

    def on_result(job: Any, results: Sequence[Any]) -> None:
        for r in results:
            if r.status != "ok":
                failures.append(f"{job.benchmark_id} seed {r.seed}: {r.message}")

    run_jobs(list(jobs), "torch", on_result=on_result)
    if failures:
        raise RuntimeError("harness jobs failed:\n  " + "\n  ".join(failures[:5]))


def arrangement(jobs: Sequence[Any], workers: int) -> str:
    sizes = sorted({len(j.seeds) for j in jobs})
    per = "/".join(str(s) for s in sizes)
    used = min(workers, len(jobs))
    return f"{len(jobs)} jobs x {per} seeds, {used} workers x 1 thread"


def plan(benchmark: Any, tmp: Path) -> list[Any]:
    from harness.executor import default_workers
    from harness.measure import plan_jobs

    jobs, found = plan_jobs(benchmark, _empty_stores(tmp))
    assert found == 0
    return _order_like_measure(jobs, default_workers())


# --------------------------------------------------------------------------------------------
# the reference MLP


def mlp_spec(steps: int) -> dict[str, Any]:
    """A one-point benchmark spec of the reference MLP on a finite pool (so test_mse applies)."""
    return {
        "id": "perf-mlp",
        "version": 1,
        "pillar": "solvable",
        "title": "perf: reference MLP",
        "claim": "timing only",
        "references": ["shared/perf-prototype.md"],
        "setting": {
            "data": {"kind": "sphere_relu_teacher", "d": MLP_D, "pool_size": 2048},
            "model": {"kind": "mlp", "widths": [MLP_WIDTH], "activation": "relu"},
            "loss": "half_mse",
            "optimizer": {"kind": "gd", "lr": MLP_LR},
            "train_size": MLP_N,
            "steps": steps,
            "dtype": "float32",
        },
        "seeds": MLP_SEEDS,
        "target": {"quantity": "test_mse"},
        "tolerance": {"metric": "log_ratio", "value": 0.1},
        "baseline": "no-learning",
    }


def load_spec_dict(spec: dict[str, Any], tmp: Path) -> Any:
    import yaml

    from harness.spec import load_benchmark

    path = tmp / f"{spec['id']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_benchmark(path, "default")


def tanh_teacher_setting(pool_setting: dict[str, Any]) -> dict[str, Any]:
    """The validated MLP setting with the prototype's data: gaussian_tanh_teacher, one unit."""
    setting = dict(pool_setting)
    setting["data"] = {
        "kind": "gaussian_tanh_teacher",
        "d": MLP_D,
        "units": 1,
        "gain": 2.0,
        "noise_std": 0.0,
        "seed": 0,
    }
    return setting


def harness_mlp_direct(setting: dict[str, Any], seeds: int) -> Callable[[], None]:
    """train_iterative in this process, seeds stacked in the engine's groups, a null observer."""
    import torch

    from harness.components import DATA
    from harness.components.quantities import Observer
    from harness.engines import ENGINES
    from harness.engines.torch.training import train_iterative
    from harness.seeds import stream_rng

    class NullObserver(Observer):
        """Records nothing (every_step False, no steps): pure training cost."""

        steps = frozenset()

        def record(self, step: int, probe: Any) -> None:
            pass

        def result(self) -> np.ndarray:
            return np.zeros(0)

    group = ENGINES.get("torch")().group_size(setting, seeds)
    data = DATA.get(setting["data"]["kind"])(setting["data"])

    def run() -> None:
        was_deterministic = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)  # as the engine runs
        try:
            for lo in range(0, seeds, group):
                ks = range(lo, min(seeds, lo + group))
                data_rngs = [stream_rng("perf-mlp", k, "data") for k in ks]
                tasks = [data.draw(rng) for rng in data_rngs]
                init_rngs = [stream_rng("perf-mlp", k, "init") for k in ks]
                sgd_rngs = [stream_rng("perf-mlp", k, "sgd") for k in ks]
                train_iterative(
                    setting,
                    tasks,
                    data_rngs,
                    init_rngs,
                    sgd_rngs,
                    NullObserver(),
                    torch.float32,
                    torch.device("cpu"),
                )
        finally:
            torch.use_deterministic_algorithms(was_deterministic)

    run.group = group  # type: ignore[attr-defined]
    return run


def naive_mlp(steps: int, seeds: int) -> None:
    import torch
    from torch import nn

    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((MLP_N, MLP_D))
        u = rng.standard_normal(MLP_D)
        y = np.tanh(2.0 * x @ (u / np.linalg.norm(u)))[:, None]
        xt = torch.tensor(x, dtype=torch.float32)
        yt = torch.tensor(y, dtype=torch.float32)
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(MLP_D, MLP_WIDTH), nn.ReLU(), nn.Linear(MLP_WIDTH, 1))
        opt = torch.optim.SGD(model.parameters(), lr=MLP_LR)
        for _ in range(steps):
            opt.zero_grad()
            loss = 0.5 * (model(xt) - yt).square().sum(-1).mean()
            loss.backward()
            opt.step()


# --------------------------------------------------------------------------------------------
# naive loops of the three benchmarks (written plainly, no harness code)


class SeedBudget:
    """Run whole seeds (every point) until a time budget is spent; report the scale-up factor.

    Every seed of a benchmark does the same work, so ``time x seeds / seeds_run`` estimates the
    time of all seeds. A seed is started only if the time per seed so far says it fits the budget
    (the first always runs).
    """

    def __init__(self, total: int, budget: float) -> None:
        self.total, self.budget = total, budget
        self.start = time.perf_counter()
        self.done = 0

    def seeds(self) -> Any:
        for seed in range(self.total):
            elapsed = time.perf_counter() - self.start
            if self.done and elapsed + elapsed / self.done > self.budget:
                return
            yield seed
            self.done += 1

    @property
    def scale(self) -> float:
        return self.total / max(self.done, 1)


def naive_sgd_linreg(benchmark: Any, budget: float) -> float:
    """Per seed and point: nn.Linear(bias=False) + SGD on fresh numpy batches every step, and the
    exact population loss on the grid steps. Returns the scale-up factor (see SeedBudget)."""
    import torch
    from torch import nn

    plan = SeedBudget(benchmark.seeds, budget)
    for seed in plan.seeds():
        for point in benchmark.points:
            s = point.setting
            p = s["data"]
            d, steps = p["d"], s["steps"]
            batch, lr = s["optimizer"]["batch_size"], s["optimizer"]["lr"]
            k = np.arange(1, d + 1, dtype=np.float64)
            eig = k ** (-p["spectrum_exponent"])
            teacher = np.sqrt(k ** (-p["target_exponent"]) / eig)
            scale, noise = np.sqrt(eig), p["noise_std"]
            grid = set(point.grid)
            rng = np.random.default_rng([point.index, seed])
            model = nn.Linear(d, 1, bias=False).double()
            nn.init.zeros_(model.weight)
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            curve = []
            for step in range(steps + 1):
                if step in grid:
                    err = model.weight.detach().numpy()[0] - teacher
                    curve.append(0.5 * (np.sum(eig * err**2) + noise**2))
                if step == steps:
                    break
                z = rng.standard_normal((batch, d + 1))
                x = z[:, :d] * scale
                y = x @ teacher + noise * z[:, d]
                xt, yt = torch.from_numpy(x), torch.from_numpy(y[:, None])
                opt.zero_grad()
                loss = 0.5 * (model(xt) - yt).square().sum(-1).mean()
                loss.backward()
                opt.step()
    return plan.scale


def _relu_ntk(x1: Any, x2: Any) -> Any:
    import math

    import torch

    d = x1.shape[-1]
    g = x1 @ x2.T / d
    norms = torch.sqrt((x1 * x1).sum(-1) / d)[:, None] * torch.sqrt((x2 * x2).sum(-1) / d)[None]
    theta = torch.arccos((g / norms).clamp(-1.0, 1.0))
    k1 = norms * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)
    return k1 + g * (math.pi - theta) / (2 * math.pi)


def naive_krr(benchmark: Any, budget: float) -> float:
    """Per seed and point: sample the training set from the pool, Cholesky-solve the kernel
    system, predict on the whole pool and take the test error. Returns the scale-up factor."""
    import torch

    pools = {}  # the pool and teacher of each point, built once (as the harness caches its task)
    for point in benchmark.points:
        p = point.setting["data"]
        rng0 = np.random.default_rng([p["seed"], 0x5EED])
        z = rng0.standard_normal((p["pool_size"], p["d"]))
        pool = np.sqrt(p["d"]) * z / np.linalg.norm(z, axis=1, keepdims=True)
        w = rng0.standard_normal((p["teacher_width"], p["d"]))
        a = rng0.standard_normal(p["teacher_width"])
        f = np.maximum(pool @ w.T / np.sqrt(p["d"]), 0.0) @ a
        f = f / np.sqrt(np.mean(f**2))
        pools[point.index] = (torch.from_numpy(pool), torch.from_numpy(f))
    plan = SeedBudget(benchmark.seeds, budget)
    for seed in plan.seeds():
        for point in benchmark.points:
            s = point.setting
            pool_t, f_t = pools[point.index]
            n, ridge = s["train_size"], s["optimizer"]["ridge"]
            idx = np.random.default_rng([point.index, seed]).integers(0, len(pool_t), size=n)
            xs, ys = pool_t[idx], f_t[idx][:, None]
            gram = _relu_ntk(xs, xs) + ridge * torch.eye(n, dtype=torch.float64)
            alpha = torch.cholesky_solve(ys, torch.linalg.cholesky(gram))
            pred = _relu_ntk(pool_t, xs) @ alpha
            float(((pred[:, 0] - f_t) ** 2).mean())
    return plan.scale


def naive_dln(benchmark: Any, budget: float) -> float:
    """Per seed and point: nn.Sequential of bias-free Linear layers + full-batch SGD, and the mode
    projection u_a^T W v_a of the end-to-end map at every step (with the crossing check). Returns
    the scale-up factor."""
    import torch
    from torch import nn

    plan = SeedBudget(benchmark.seeds, budget)
    for seed in plan.seeds():
        for point in benchmark.points:
            s = point.setting
            p, m = s["data"], s["model"]
            d_in, d_out, sv = p["d_in"], p["d_out"], np.asarray(p["singular_values"])
            r, n, steps, lr = len(sv), s["train_size"], s["steps"], s["optimizer"]["lr"]
            dims = [d_in] + [m["width"]] * (m["depth"] - 1) + [d_out]
            rng = np.random.default_rng([point.index, seed])
            u = np.linalg.qr(rng.standard_normal((d_out, d_out)))[0][:, :r]
            v = np.linalg.qr(rng.standard_normal((d_in, d_in)))[0][:, :r]
            zx = rng.standard_normal((n, d_in))
            x = np.linalg.solve(np.linalg.cholesky(zx.T @ zx / n), zx.T).T
            y = x @ ((u * sv) @ v.T).T
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            layers = [nn.Linear(a, b, bias=False).double() for a, b in itertools.pairwise(dims)]
            for layer in layers:
                nn.init.normal_(layer.weight, std=0.05)
            model = nn.Sequential(*layers)
            opt = torch.optim.SGD(model.parameters(), lr=lr)
            level = 0.5 * sv
            times = np.full(r, np.inf)
            previous = None
            for step in range(steps + 1):
                with torch.no_grad():
                    w = layers[0].weight
                    for layer in layers[1:]:
                        w = layer.weight @ w
                strength = np.einsum("or,oi,ir->r", u, w.numpy(), v)
                if previous is not None:
                    crossed = np.isinf(times) & (strength >= level) & (previous < level)
                    times[crossed] = step
                previous = strength
                if step == steps:
                    break
                opt.zero_grad()
                loss = 0.5 * (model(xt) - yt).square().sum(-1).mean()
                loss.backward()
                opt.step()
    return plan.scale


# --------------------------------------------------------------------------------------------


def pool_start_jobs(krr: Any, tmp: Path) -> list[Any]:
    """Two one-seed jobs of the cheapest krr point: almost nothing but worker start-up."""
    from harness.measure import plan_jobs

    jobs, _ = plan_jobs(krr, _empty_stores(tmp))
    smallest = min(jobs, key=lambda j: j.setting["train_size"])
    return [replace(smallest, seeds=(0,)), replace(smallest, seeds=(1,))]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} x {os.cpu_count()}"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs"


def seed_steps(benchmark: Any) -> int:
    return sum(p.setting["steps"] for p in benchmark.points) * benchmark.seeds


def fmt_s(values: Sequence[float]) -> str:
    if not values:
        return "-"
    med = _median(values)
    spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
    return f"{med:.2f}{spread}"


# --------------------------------------------------------------------------------------------
# sharpness: one measurement vs one training step (benchmarks/laws)


def _train_steps(model: Any, optimizer: Any, x: Any, y: Any, count: int) -> None:
    """``count`` full-batch steps of the engine's optimizer on ``½·mean‖f(x) − y‖²``."""
    import torch

    from harness.engines.torch.training import half_mse

    for _ in range(count):
        loss = half_mse(model.forward(x), y).sum()
        optimizer.step(torch.autograd.grad(loss, model.params))


def sharpness_costs(quick: bool) -> list[list[str]]:
    """Rows of the sharpness table: per-seed ms of a training step and of a sharpness call."""
    import torch

    from harness.components import DATA
    from harness.engines.torch.models import build_model
    from harness.engines.torch.optim import make_optimizer
    from harness.engines.torch.training import ModelProbe
    from harness.seeds import stream_rng
    from harness.spec import load_benchmark

    laws = ROOT / "benchmarks" / "laws"
    cases = [
        ("edge-of-stability.yaml", "GD, Hessian"),
        ("adaptive-edge-of-stability.yaml", "Adam, P^-1/2 H P^-1/2"),
    ]
    warm, rounds, block = (100, 3, 25) if quick else (300, 6, 25)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the engine's workers
    rows = []
    try:
        for file, what in cases:
            bench = load_benchmark(laws / file, "default")
            setting = bench.points[0].setting
            params = bench.target.params
            data = DATA.get(setting["data"]["kind"])(setting["data"])
            for seeds in (1, 4):
                tasks = [data.draw(None)] * seeds
                n = setting["train_size"]
                sets = [
                    t.sample(n, stream_rng("perf-sharp", k, "data")) for k, t in enumerate(tasks)
                ]
                x = torch.tensor(np.stack([a for a, _ in sets]))
                y = torch.tensor(np.stack([b for _, b in sets]))
                init = [stream_rng("perf-sharp", k, "init") for k in range(seeds)]
                model = build_model(
                    setting["model"],
                    tasks,
                    init,
                    torch.float64,
                    torch.device("cpu"),
                    setting["optimizer"]["kind"],
                )
                optimizer = make_optimizer(setting["optimizer"], model.params, model.lr_factors)
                probe = ModelProbe(model, torch.float64, torch.device("cpu"), optimizer, (x, y))

                _train_steps(model, optimizer, x, y, warm)
                step_times, call_times = [], []
                for _ in range(rounds):
                    start = time.perf_counter()
                    _train_steps(model, optimizer, x, y, block)
                    step_times.append((time.perf_counter() - start) / block)
                    start = time.perf_counter()
                    probe.sharpness(
                        params["iterations"], params["tolerance"], params["preconditioned"]
                    )
                    call_times.append(time.perf_counter() - start)
                estimator = next(iter(probe._estimators.values()))
                per_step = _median(step_times) / seeds
                per_call = _median(call_times) / seeds
                rows.append(
                    [
                        f"{bench.id} ({what})",
                        str(seeds),
                        f"{per_step * 1e3:.2f}",
                        f"{per_call * 1e3:.1f}",
                        f"{estimator.products / rounds:.1f}",
                        f"{per_call / per_step:.0f}",
                    ]
                )
    finally:
        torch.set_num_threads(previous_threads)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="MLP steps / 4 and the benchmarks' smoke tiers"
    )
    parser.add_argument("--reps", type=int, default=2, help="repetitions of each side (median)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=WORKLOADS,
        default=list(WORKLOADS),
        help="workloads to run (default all)",
    )
    parser.add_argument(
        "--naive-budget",
        type=float,
        default=None,
        metavar="S",
        help="seconds one naive benchmark loop may take before it stops starting seeds and scales "
        "up (default 10, 3 with --quick; 0: run every seed, which is slow)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="before each timed run, wait up to S seconds for other processes to go quiet",
    )
    args = parser.parse_args(argv)

    import torch
    from tabulate import tabulate

    from harness.executor import default_workers
    from harness.spec import load_benchmark

    wall_start = time.perf_counter()
    tier = "smoke" if args.quick else "default"
    mlp_steps = MLP_STEPS // 4 if args.quick else MLP_STEPS
    budget = args.naive_budget if args.naive_budget is not None else (3.0 if args.quick else 10.0)
    budget = budget if budget > 0 else float("inf")
    workers = default_workers()
    timer = Timer(wait_idle=args.wait_idle)
    reps = max(1, args.reps)

    print(
        f"theorybench perf on {_cpu_model()}: torch {torch.__version__}; naive side "
        f"{torch.get_num_threads()} torch "
        f"threads in this process; harness {workers} worker processes x 1 thread; "
        f"OMP_PROC_BIND={os.environ.get('OMP_PROC_BIND', '<unset>')}; tier {tier}; {reps} reps, "
        "alternating naive/harness",
        flush=True,
    )
    naive_mlp(3, 1)  # warm up torch (first-op and allocator costs) outside the timings

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="theorybench-perf-") as tmp_name:
        tmp = Path(tmp_name)

        if "mlp" in args.only:
            bench = load_spec_dict(mlp_spec(mlp_steps), tmp)
            setting = tanh_teacher_setting(dict(bench.points[0].setting))
            direct = harness_mlp_direct(setting, MLP_SEEDS)
            group = direct.group  # type: ignore[attr-defined]
            jobs = plan(bench, tmp)
            print("timing mlp: naive, train_iterative in-process, run_jobs ...", flush=True)
            (n, h_direct, h_jobs), load = timer.cycle(
                [
                    lambda: naive_mlp(mlp_steps, MLP_SEEDS),
                    direct,
                    lambda: run_harness_jobs(plan(bench, tmp)),
                ],
                reps,
            )
            rows.append(
                Row(
                    "mlp (direct)",
                    MLP_SEEDS * mlp_steps,
                    n,
                    h_direct,
                    f"in-process, {-(-MLP_SEEDS // group)} groups x {group} seeds, "
                    f"{torch.get_num_threads()} threads",
                    "harness.engines.torch.training.train_iterative with a null observer, "
                    "gaussian_tanh_teacher (units=1), torch's default threads",
                    load,
                )
            )
            rows.append(
                Row(
                    "mlp (run_jobs)",
                    MLP_SEEDS * mlp_steps,
                    n,
                    h_jobs,
                    arrangement(jobs, workers),
                    "plan_jobs + run_jobs (TorchEngine in spawned workers), target test_mse on "
                    "sphere_relu_teacher (d=32, pool 2048); same naive runs as mlp (direct)",
                    load,
                )
            )

        for key in ("sgd-linreg", "krr", "dln"):
            if key not in args.only:
                continue
            file, naive = BENCHMARKS[key]
            bench = load_benchmark(BENCH_DIR / file, tier)
            scales: list[float] = []

            def naive_run(
                b: Any = bench, f: Callable = naive, scales: list[float] = scales
            ) -> float:
                scale = f(b, budget)
                scales.append(scale)
                return scale

            def harness_run(b: Any = bench) -> None:
                run_harness_jobs(plan(b, tmp))  # planning is part of the harness's time

            print(
                f"timing {bench.id} [{tier}]: {len(bench.points)} points x {bench.seeds} seeds ...",
                flush=True,
            )
            (n, h), load = timer.cycle([naive_run, harness_run], reps)
            ran = sorted({round(bench.seeds / sc) for sc in scales})
            partial = any(sc > 1 for sc in scales)
            rows.append(
                Row(
                    f"{bench.id} [{tier}]",
                    seed_steps(bench),
                    n,
                    h,
                    arrangement(plan(bench, tmp), workers),
                    f"{len(bench.points)} points x {bench.seeds} seeds"
                    + (
                        f"; naive timed on {'/'.join(map(str, ran))} of {bench.seeds} seeds "
                        "(all points) and scaled up: every seed does the same work"
                        if partial
                        else ""
                    ),
                    load,
                )
            )

        if "pool" in args.only:
            krr = load_benchmark(BENCH_DIR / "krr-learning-curves.yaml", "smoke")
            jobs = pool_start_jobs(krr, tmp)
            print("timing pool start ...", flush=True)
            (h,), load = timer.cycle([lambda: run_harness_jobs(jobs)], reps)
            rows.append(
                Row(
                    "pool start (2 trivial jobs)",
                    0,
                    [],
                    h,
                    arrangement(jobs, workers),
                    "run_jobs on two 1-seed krr jobs: spawning the workers and importing "
                    "torch + harness there; part of every run_jobs time above",
                    load,
                )
            )

    table = []
    for row in rows:
        nv, hv = _median(row.naive), _median(row.harness)

        def per_step(v: float, r: Row = row) -> str:
            return f"{v / r.seed_steps * 1e6:.0f}" if r.seed_steps and v == v else "-"

        table.append(
            [
                row.workload,
                fmt_s(row.naive),
                fmt_s(row.harness),
                f"{nv / hv:.2f}" if row.naive else "-",
                f"{min(row.naive) / min(row.harness):.2f}" if row.naive else "-",
                per_step(nv),
                per_step(hv),
                row.arrangement,
                f"{row.load:.2f}" if row.load == row.load else "?",
            ]
        )
    print()
    print(
        tabulate(
            table,
            headers=[
                "workload",
                "naive s",
                "harness s",
                "naive/harness",
                "(of minima)",
                "naive us/seed-step",
                "harness us/seed-step",
                "harness arrangement",
                "other load",
            ],
            tablefmt="github",
            disable_numparse=True,
        )
    )
    print()
    for row in rows:
        if row.note:
            print(f"- {row.workload}: {row.note}")
    print(
        "\nseconds: median (min-max) over the repetitions, naive and harness alternating.\n"
        "naive/harness > 1: the harness is faster; (of minima): the same ratio from each side's "
        "fastest run,\n  which is less sensitive to other processes' load.\n"
        "us/seed-step: wall time / (seeds x steps); for the harness a throughput over all its "
        "workers.\nother load: the most CPU (cores) other processes used during any timed run of "
        "the row; above ~0.1\n  the row is disturbed (rerun, or try --wait-idle 60).\n"
        "Prototype reference (shared/perf-prototype.md, a 2-vCPU AMD EPYC Zen 5): naive MLP 3.3 s "
        "(416 us/seed-step);\n  the best torch-only strategies reach ~1.2-1.3x naive."
    )
    if "sharpness" in args.only:
        print("\ntiming sharpness calls against training steps ...", flush=True)
        print(
            tabulate(
                sharpness_costs(args.quick),
                headers=[
                    "sharpness (benchmarks/laws, default point 0)",
                    "seeds stacked",
                    "ms/seed per step",
                    "ms/seed per call",
                    "HVPs per call",
                    "call / step",
                ],
                tablefmt="github",
                disable_numparse=True,
            )
        )
        print(
            "per-seed figures divide the stacked time by the seeds; an HVP costs about 2-3 "
            "training steps,\n  a warm-started call a few to twenty HVPs (each seed stops at its "
            "own tolerance; a batch runs until\n  its slowest seed stops)."
        )
    print(f"total wall time: {time.perf_counter() - wall_start:.1f} s")
    return 0


# key: (spec file, naive loop(benchmark, time budget) -> scale-up factor)
BENCHMARKS: dict[str, tuple[str, Callable[[Any, float], float]]] = {
    "sgd-linreg": ("sgd-linreg-curves.yaml", naive_sgd_linreg),
    "krr": ("krr-learning-curves.yaml", naive_krr),
    "dln": ("dln-modes.yaml", naive_dln),
}
WORKLOADS = ("mlp", "sgd-linreg", "krr", "dln", "pool", "sharpness")


if __name__ == "__main__":
    sys.exit(main())
