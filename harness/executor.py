"""The local executor: runs measuring jobs in-process or in parallel worker processes.

On a small CPU the fastest arrangement measured for these workloads is one single-threaded worker
process per core, each taking whole jobs (``shared/perf-prototype.md``: two pinned single-thread
workers beat one two-thread process; stacking seeds helps only when per-step work is tiny, which
the engine's ``group_size`` decides). Every worker runs torch with one intra-op thread, so results
do not depend on the number of workers: the bits are the same with ``--jobs 1`` and ``--jobs 8``.

Workers are started with ``spawn`` (a fresh interpreter; no OpenMP state inherited through
``fork``). Results come back to the parent, which is the only writer of the store.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from .engines import ENGINES, Job, SeedResult

__all__ = ["default_workers", "run_jobs"]

_SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def default_workers() -> int:
    """One worker per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _run_job(engine_name: str, job: Job) -> list[SeedResult]:
    return ENGINES.get(engine_name)().run(job)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _SINGLE_THREAD_ENV}
    os.environ.update(_SINGLE_THREAD_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_jobs(
    jobs: Sequence[Job],
    engine_name: str,
    *,
    workers: int | None = None,
    on_result: Callable[[Job, list[SeedResult]], None],
) -> None:
    """Run ``jobs`` and call ``on_result`` in this process as each finishes.

    ``KeyboardInterrupt`` stops the workers and propagates; results already handed to
    ``on_result`` are kept.
    """
    if not jobs:
        return
    count = min(workers or default_workers(), len(jobs))
    if count <= 1:
        engine = ENGINES.get(engine_name)()
        for job in jobs:
            on_result(job, engine.run(job))
        return
    with _single_threaded_children():  # workers start lazily, at submit time
        pool = ProcessPoolExecutor(
            max_workers=count, mp_context=multiprocessing.get_context("spawn")
        )
        try:
            pending = {pool.submit(_run_job, engine_name, job): job for job in jobs}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    on_result(job, future.result())
        except BaseException:
            for process in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
