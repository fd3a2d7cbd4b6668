"""Training engines behind one narrow interface.

An engine turns a :class:`Job` (one sweep point of one benchmark and a group of seed indices) into
one :class:`SeedResult` per seed. Specs, predictors and scoring never see an engine: they talk
through jobs and results, so a second engine (JAX, say) plugs in by implementing :class:`Engine`
for the same component names, and its results are keyed apart (:meth:`Engine.environment`).

Contract every engine keeps:

- each seed draws its data, initialization and minibatches from the named streams of
  :mod:`harness.seeds` (so engines see the same data and the same initial weights);
- on CPU the same job gives the same bits every time (tested);
- where :meth:`Engine.stack_invariant` says so, a seed's result does not depend on which other seeds
  share its job (tested); elsewhere the planner always trains a seed in the same group (seeds are
  chunked by index), so reruns and resumed runs reproduce the bits all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..registry import Registry

__all__ = ["ENGINES", "Engine", "Job", "SeedResult"]


@dataclass(frozen=True)
class Job:
    """One unit of measuring work.

    Attributes:
        benchmark_id: the benchmark (its id seeds the random streams).
        point_key: the content hash of the sweep point.
        setting: the complete, normalized setting of the point.
        quantity: the target quantity's name.
        quantity_params: its parameters.
        grid: observation steps for curve quantities.
        seeds: seed indices to train, stacked in one run where the engine can.
        device: ``cpu`` or ``cuda`` (``cuda:N``).
        threads: intra-op threads to use (fixed, so CPU results are bitwise reproducible).
        splittable: whether the planner may train these seeds in smaller groups without changing a
            bit (true only where the engine's results are independent of the stacking).
    """

    benchmark_id: str
    point_key: str
    setting: Mapping[str, Any]
    quantity: str
    quantity_params: Mapping[str, Any]
    grid: tuple[int, ...] | None
    seeds: tuple[int, ...]
    device: str = "cpu"
    threads: int = 1
    splittable: bool = True


@dataclass(frozen=True)
class SeedResult:
    """The measured target of one seed.

    Attributes:
        seed: the seed index.
        status: ``ok`` or ``failed`` (the engine raised; ``message`` says why). A run that diverged
            is ``ok`` with ``+inf`` values: divergence is a measurement, not a failure.
        value: the target, shaped like the point's target (``None`` when failed).
        wall_seconds: this seed's share of the job's wall time.
    """

    seed: int
    status: str
    value: np.ndarray | None
    wall_seconds: float
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """A training engine."""

    name: str

    def environment(self, device: str, dtype: str) -> dict[str, str]:
        """What keys results apart: ``{"engine", "engine_version", "device_class", "dtype"}``.

        Must not start the framework (it is called when planning, also for cached results).
        """
        ...

    def run(self, job: Job) -> list[SeedResult]:
        """Train the job's seeds and measure the target."""
        ...

    def group_size(self, setting: Mapping[str, Any], n_seeds: int) -> int:
        """How many seeds to stack in one job for this setting (fixed by the setting alone)."""
        ...

    def stack_invariant(self, setting: Mapping[str, Any]) -> bool:
        """Whether a seed's result is bitwise independent of the seeds stacked with it."""
        ...


ENGINES: Registry = Registry("engine")
ENGINES.register("torch", "harness.engines.torch:TorchEngine")
