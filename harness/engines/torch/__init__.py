"""The PyTorch engine: the reference training engine.

Importing this package does not import torch; :meth:`TorchEngine.run` does.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import time
from collections.abc import Mapping
from typing import Any

from ...components import DATA, OPTIMIZERS, QUANTITIES
from ...seeds import stream_rng
from .. import Job, SeedResult

__all__ = ["TorchEngine"]

_STACK_BYTES = 4 << 20  # stack seeds while one step's activations stay within a few MB of cache


@functools.cache
def _torch_version() -> str:
    """The installed torch's version, read once per process (metadata lookups are slow)."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "absent"


class TorchEngine:
    """Trains the seeds of a job stacked along a leading axis (see :mod:`.models`)."""

    name = "torch"

    def environment(self, device: str, dtype: str) -> dict[str, str]:
        if device.startswith("cuda"):
            import torch

            index = int(device.split(":")[1]) if ":" in device else 0
            name = torch.cuda.get_device_name(index)
            device_class = "cuda-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        else:
            device_class = "cpu"
        return {
            "engine": self.name,
            "engine_version": _torch_version(),
            "device_class": device_class,
            "dtype": dtype,
        }

    def group_size(self, setting: Mapping[str, Any], n_seeds: int) -> int:
        """Seeds per job. Stacking removes per-step overhead but multiplies the working set, which on
        a CPU cache made full-batch MLPs *slower* when stacked (perf-prototype.md); so stack while one
        step's activations of the whole group stay under a few MB, and always for closed-form fits."""
        optimizer = setting["optimizer"]
        if not OPTIMIZERS.get(optimizer["kind"]).iterative:
            return n_seeds
        batch = optimizer.get("batch_size")
        rows = batch if isinstance(batch, int) else setting["train_size"]
        model = setting["model"]
        width = max([*(model.get("widths") or []), model.get("width") or 1, 1])
        per_seed = rows * width * (8 if setting["dtype"] == "float64" else 4)
        return max(1, min(n_seeds, _STACK_BYTES // max(per_seed, 1)))

    def stack_invariant(self, setting: Mapping[str, Any]) -> bool:
        """Verified bitwise (``tests/test_engine.py``) for float64 linear and deep linear networks and
        for closed-form fits; other models (MLPs: batched matmuls round differently with the stack
        size, ~1e-16 relative in float64 and ~1e-8 in float32) are trained in fixed groups."""
        closed_form = not OPTIMIZERS.get(setting["optimizer"]["kind"]).iterative
        linear = setting["model"]["kind"] in ("linear", "deep_linear")
        return setting["dtype"] == "float64" and (closed_form or linear)

    def run(self, job: Job) -> list[SeedResult]:
        start = time.perf_counter()
        try:
            values = self._measure(job)
        except Exception as exc:  # recorded per seed; the run goes on
            share = (time.perf_counter() - start) / len(job.seeds)
            message = f"{type(exc).__name__}: {exc}"
            return [SeedResult(seed, "failed", None, share, message) for seed in job.seeds]
        share = (time.perf_counter() - start) / len(job.seeds)
        return [SeedResult(seed, "ok", values[i], share) for i, seed in enumerate(job.seeds)]

    def _measure(self, job: Job) -> Any:
        import torch

        from .training import fit_closed_form, train_iterative

        torch.set_num_threads(job.threads)
        torch.use_deterministic_algorithms(True)
        setting = job.setting
        dtype = {"float64": torch.float64, "float32": torch.float32}[setting["dtype"]]
        device = torch.device(job.device)
        data = DATA.get(setting["data"]["kind"])(setting["data"])
        data_rngs = [stream_rng(job.benchmark_id, k, "data") for k in job.seeds]
        tasks = [data.draw(rng) for rng in data_rngs]
        quantity = QUANTITIES.get(job.quantity)(job.quantity_params, setting, job.grid)
        observer = quantity.observer(
            tasks, [stream_rng(job.benchmark_id, k, "eval") for k in job.seeds]
        )
        init_rngs = [stream_rng(job.benchmark_id, k, "init") for k in job.seeds]
        if OPTIMIZERS.get(setting["optimizer"]["kind"]).iterative:
            sgd_rngs = [stream_rng(job.benchmark_id, k, "sgd") for k in job.seeds]
            train_iterative(setting, tasks, data_rngs, init_rngs, sgd_rngs, observer, dtype, device)
        else:
            fit_closed_form(setting, tasks, data_rngs, init_rngs, observer, dtype, device)
        return observer.result()
