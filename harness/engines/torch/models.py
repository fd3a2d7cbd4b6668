"""Stacked (seed-batched) PyTorch implementations of the model components.

Every weight carries a leading seed axis ``S``: seed ``s`` of a job is slice ``s`` of each tensor,
and no operation mixes slices, so the seeds train independently in one program. Initial weights are
drawn with numpy from each seed's ``init`` stream (float64) and then cast, so the initialization
does not depend on the engine, the device or the dtype of training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...components.data import Task

__all__ = ["StackedModel", "build_model"]


class StackedModel:
    """``S`` independent models. ``forward(x)``: ``x`` of shape ``(S, n, d_in)`` or shared ``(n, d_in)``."""

    params: list[torch.Tensor]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def end_to_end(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not a linear map")


class LinearStack(StackedModel):
    def __init__(self, weight: torch.Tensor) -> None:
        self.params = [weight]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.params[0].transpose(-1, -2))

    def end_to_end(self) -> torch.Tensor:
        return self.params[0]


class DeepLinearStack(StackedModel):
    def __init__(self, weights: Sequence[torch.Tensor]) -> None:
        self.params = list(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for w in self.params:
            h = torch.matmul(h, w.transpose(-1, -2))
        return h

    def end_to_end(self) -> torch.Tensor:
        product = self.params[0]
        for w in self.params[1:]:
            product = torch.matmul(w, product)
        return product


class MLPStack(StackedModel):
    def __init__(
        self,
        weights: Sequence[torch.Tensor],
        biases: Sequence[torch.Tensor | None],
        activation: str,
    ) -> None:
        self.weights = list(weights)
        self.biases = list(biases)
        self.params = [*self.weights, *(b for b in self.biases if b is not None)]
        self.activation = {"relu": torch.relu, "tanh": torch.tanh}[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.matmul(h, w.transpose(-1, -2))
            if b is not None:
                h = h + b.unsqueeze(-2)
            if i < last:
                h = self.activation(h)
        return h


# --------------------------------------------------------------------------------------------
# initialization (numpy float64, one stream per seed)


def _gaussian_layers(
    shapes: Sequence[tuple[int, int]], std: float, rng: np.random.Generator
) -> list[np.ndarray]:
    return [std * rng.standard_normal(shape) for shape in shapes]


def _aligned_layers(depth: int, width: int, task: Task, mode_strength: float) -> list[np.ndarray]:
    """Balanced teacher-aligned init (Saxe et al. 2014): every listed mode starts at ``mode_strength``."""
    u, s, v = task.teacher_svd()
    r = s.size
    if width < r:
        raise ValueError(
            f"aligned init needs width >= {r} (the teacher's listed modes), got {width}"
        )
    c = mode_strength ** (1.0 / depth)
    embed = np.eye(width, r)  # R: the first r columns of the identity
    layers = [c * embed @ v.T]
    layers += [c * embed @ embed.T for _ in range(depth - 2)]
    layers.append(c * u @ embed.T)
    return layers


def _layer_shapes(d_in: int, widths: Sequence[int], d_out: int) -> list[tuple[int, int]]:
    dims = [d_in, *widths, d_out]
    return [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]


def build_model(
    spec: Mapping[str, Any],
    tasks: Sequence[Task],
    init_rngs: Sequence[np.random.Generator],
    dtype: torch.dtype,
    device: torch.device,
) -> StackedModel:
    """Build the stacked model of ``setting.model`` for the seeds whose tasks and init streams are given."""
    kind = spec["kind"]
    d_in, d_out = tasks[0].d_in, tasks[0].d_out
    init = spec.get("init", {"kind": "zeros"})

    def stack(per_seed: Sequence[Sequence[np.ndarray]]) -> list[torch.Tensor]:
        n_layers = len(per_seed[0])
        return [
            torch.tensor(
                np.stack([layers[i] for layers in per_seed]), dtype=dtype, device=device
            ).requires_grad_(True)
            for i in range(n_layers)
        ]

    if kind == "linear":
        shapes = [(d_out, d_in)]
        if init["kind"] == "zeros":
            per_seed = [[np.zeros(shapes[0])] for _ in tasks]
        else:
            per_seed = [_gaussian_layers(shapes, init["std"], rng) for rng in init_rngs]
        return LinearStack(stack(per_seed)[0])
    if kind == "deep_linear":
        depth, width = spec["depth"], spec["width"]
        if init["kind"] == "aligned":
            per_seed = [
                _aligned_layers(depth, width, task, init["mode_strength"]) for task in tasks
            ]
        else:
            shapes = _layer_shapes(d_in, [width] * (depth - 1), d_out)
            per_seed = [_gaussian_layers(shapes, init["std"], rng) for rng in init_rngs]
        return DeepLinearStack(stack(per_seed))
    if kind == "mlp":
        shapes = _layer_shapes(d_in, spec["widths"], d_out)
        per_seed = [
            [
                init["gain"] / np.sqrt(fan_in) * rng.standard_normal((fan_out, fan_in))
                for fan_out, fan_in in shapes
            ]
            for rng in init_rngs
        ]
        weights = stack(per_seed)
        biases: list[torch.Tensor | None] = [
            torch.zeros((len(tasks), fan_out), dtype=dtype, device=device).requires_grad_(True)
            if spec["bias"]
            else None
            for fan_out, _ in shapes
        ]
        return MLPStack(weights, biases, spec["activation"])
    raise ValueError(f"the torch engine has no iterative model {kind!r}")
