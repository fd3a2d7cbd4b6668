"""Measuring: plan what is missing, train it, store one file per seed.

A measurement is keyed by (benchmark, point key, seed, engine, engine version, device class,
dtype, :data:`~harness.env.MEASURE_VERSION`). Planning looks each key up in the stores; what is
missing is grouped into jobs (the engine decides how many seeds to stack) and run by the executor.
Each finished seed is written atomically as soon as its job returns, so an interrupted run loses at
most the jobs in flight and a rerun resumes.

Lookups accept a result made with another *engine version* (say torch 2.14 instead of 2.13) of the
same engine, device class, dtype and measure version when no exact match exists, so committed
results remain usable across framework upgrades; ``strict_env=True`` refuses that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engines import ENGINES, Job, SeedResult
from .env import MEASURE_VERSION, machine
from .spec import Benchmark, Point
from .store import Store, StoreChain, decode_array, read_record

__all__ = [
    "MeasureReport",
    "Measurements",
    "load_measurements",
    "measure",
    "measurement_key",
    "plan_jobs",
]


def measurement_key(
    benchmark_id: str, point: Point, seed: int, env: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "benchmark": benchmark_id,
        "point": point.key,
        "seed": int(seed),
        "engine": env["engine"],
        "engine_version": env["engine_version"],
        "device_class": env["device_class"],
        "dtype": env["dtype"],
        "measure_version": MEASURE_VERSION,
    }


def _read(stores: StoreChain, key: Mapping[str, Any], strict_env: bool) -> dict[str, Any] | None:
    found = stores.read_measurement(key)
    if found is not None or strict_env:
        return found
    for store in stores.stores:
        found = _read_other_version(store, key)
        if found is not None:
            return stores.promoted(store, found, "measurement")
    return None


def _read_other_version(store: Store, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stored result that matches ``key`` in everything but the engine version."""
    point_dir = store.measurement_path(key).parent.parent
    if not point_dir.is_dir():
        return None
    wanted = {k: v for k, v in key.items() if k != "engine_version"}
    for env_dir in sorted(point_dir.iterdir()):
        data = read_record(env_dir / f"seed-{int(key['seed']):04d}.json")
        if data is None or data.get("kind") != "measurement":
            continue
        stored = {k: v for k, v in data.get("key", {}).items() if k != "engine_version"}
        if stored == wanted:
            return data
    return None


@dataclass
class Measurements:
    """Per-seed values of a benchmark tier: ``values[point index]`` has shape ``(S, *shape)``.

    Missing seeds and failed runs are NaN rows; ``missing`` counts them per point.
    """

    benchmark: Benchmark
    values: dict[int, np.ndarray]
    missing: dict[int, int]
    environments: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return not any(self.missing.values())

    @property
    def measured_points(self) -> list[int]:
        return [i for i, m in self.missing.items() if m < self.benchmark.seeds]


def load_measurements(
    benchmark: Benchmark,
    stores: StoreChain,
    *,
    engine: str = "torch",
    device: str = "cpu",
    strict_env: bool = False,
) -> Measurements:
    """Collect the stored measurements of every (point, seed) of a benchmark tier."""
    runner = ENGINES.get(engine)()
    values, missing, envs = {}, {}, set()
    for point in benchmark.points:
        env = runner.environment(device, point.setting["dtype"])
        rows = np.full((benchmark.seeds, *point.shape), np.nan)
        lost = 0
        for seed in benchmark.seed_indices:
            found = _read(stores, measurement_key(benchmark.id, point, seed, env), strict_env)
            if found is None or found.get("status") != "ok":
                lost += 1
                continue
            rows[seed] = decode_array(found["value"]).reshape(point.shape)
            envs.add(found["key"]["engine_version"])
        values[point.index] = rows
        missing[point.index] = lost
    return Measurements(benchmark, values, missing, envs)


def plan_jobs(
    benchmark: Benchmark,
    stores: StoreChain,
    *,
    engine: str = "torch",
    device: str = "cpu",
    strict_env: bool = False,
) -> tuple[list[Job], int]:
    """Jobs for every missing (point, seed) of a benchmark tier, and the number already stored."""
    runner = ENGINES.get(engine)()
    jobs, found = [], 0
    for point in benchmark.points:
        env = runner.environment(device, point.setting["dtype"])
        todo = []
        for seed in benchmark.seed_indices:
            if _read(stores, measurement_key(benchmark.id, point, seed, env), strict_env) is None:
                todo.append(seed)
            else:
                found += 1
        if not todo:
            continue
        size = runner.group_size(point.setting, benchmark.seeds)
        invariant = runner.stack_invariant(point.setting)
        if invariant:  # any grouping gives the same bits: group what is missing
            groups = [tuple(todo[i : i + size]) for i in range(0, len(todo), size)]
        else:  # a seed is always trained in the same chunk of seed indices (reruns and resumes agree)
            chunks = sorted({seed // size for seed in todo})
            groups = [tuple(range(c * size, min((c + 1) * size, benchmark.seeds))) for c in chunks]
        for seeds in groups:
            jobs.append(
                Job(
                    benchmark_id=benchmark.id,
                    point_key=point.key,
                    setting=point.setting,
                    quantity=benchmark.target.quantity,
                    quantity_params=dict(benchmark.target.params),
                    grid=point.grid,
                    seeds=seeds,
                    device=device,
                    splittable=invariant,
                )
            )
    return jobs, found


def job_cost(job: Job) -> float:
    """A rough cost estimate, to start the longest jobs first."""
    s = job.setting
    batch = s["optimizer"].get("batch_size")
    rows = (
        batch if isinstance(batch, int) else (s["train_size"] if s["train_size"] != "online" else 1)
    )
    width = max([*(s["model"].get("widths") or []), s["model"].get("width") or 1, 1])
    return (s["steps"] + 1) * rows * width * len(job.seeds)


def _spread(jobs: list[Job], workers: int) -> list[Job]:
    """Split the largest splittable seed groups until every worker has a job (only groups whose seeds'
    results do not depend on the stacking are splittable, so this changes no number)."""
    from dataclasses import replace

    jobs = list(jobs)
    while len(jobs) < workers:
        splittable = [j for j in jobs if j.splittable and len(j.seeds) > 1]
        if not splittable:
            break
        largest = max(splittable, key=job_cost)
        jobs.remove(largest)
        half = len(largest.seeds) // 2
        jobs += [
            replace(largest, seeds=largest.seeds[:half]),
            replace(largest, seeds=largest.seeds[half:]),
        ]
    return jobs


@dataclass
class MeasureReport:
    """What a measuring pass did."""

    measured: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False


def measure(
    benchmarks: Iterable[Benchmark],
    stores: StoreChain,
    *,
    engine: str = "torch",
    device: str = "cpu",
    workers: int | None = None,
    strict_env: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> MeasureReport:
    """Measure everything missing for the given benchmark tiers; write each seed as it finishes."""
    import time

    from .executor import default_workers, run_jobs

    start = time.perf_counter()
    report = MeasureReport()
    runner = ENGINES.get(engine)()
    jobs: list[Job] = []
    points: dict[str, Point] = {}
    for benchmark in benchmarks:
        more, found = plan_jobs(
            benchmark, stores, engine=engine, device=device, strict_env=strict_env
        )
        jobs.extend(more)
        report.reused += found
        points.update({p.key: p for p in benchmark.points})
    jobs = _spread(jobs, workers or default_workers())
    jobs.sort(key=job_cost, reverse=True)
    total = sum(len(j.seeds) for j in jobs)
    done = 0
    about = machine()

    def store(job: Job, results: Sequence[SeedResult]) -> None:
        nonlocal done
        env = runner.environment(job.device, job.setting["dtype"])
        point = points[job.point_key]
        for result in results:
            if result.status != "ok":
                report.failed.append(
                    f"{job.benchmark_id} [{point.label}] seed {result.seed}: {result.message}"
                )
                continue
            key = measurement_key(job.benchmark_id, point, result.seed, env)
            if not job.splittable and _read(stores, key, strict_env) is not None:
                continue  # trained again only as part of its fixed group: keep what is stored
            stores.write_measurement(
                key,
                {
                    "status": "ok",
                    "value": result.value,
                    "shape": list(point.shape),
                    "point": {"index": point.index, "label": point.label},
                    "wall_seconds": round(result.wall_seconds, 4),
                    "seeds_in_job": len(job.seeds),
                    "job_seeds": list(job.seeds),
                    "machine": about,
                },
            )
            report.measured += 1
        done += len(results)
        if on_progress is not None:
            on_progress(done, total, f"{job.benchmark_id} [{point.label}]")

    if on_progress is not None:
        on_progress(0, total, "")
    try:
        run_jobs(jobs, engine, workers=workers, on_result=store)
    except KeyboardInterrupt:
        report.interrupted = True
    report.seconds = time.perf_counter() - start
    return report
