"""The soft committee machine in torch (stacked over seeds); schema in
:class:`harness.components.models_committee.SoftCommittee`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...components.data import Task
from .models import StackedModel, _stack

__all__ = ["CommitteeStack", "build_soft_committee"]


class CommitteeStack(StackedModel):
    """``φ(x) = Σ_k erf(w_k·x/√(2N))`` with ``W: (S, K, N)``; output ``(S, n, 1)``."""

    def __init__(self, weight: torch.Tensor) -> None:
        self.params = [weight]
        self.scale = 1.0 / math.sqrt(2.0 * weight.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fields = torch.matmul(x, self.params[0].transpose(-1, -2))  # (S, n, K)
        return torch.erf(fields * self.scale).sum(-1, keepdim=True)

    def half_mse_gradients(self, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        """``∂/∂w_k ½·mean_b (φ(x_b) − y_b)² = −mean_b (y_b − φ(x_b)) g'(λ_bk) x_b/√N`` with
        ``g'(λ) = √(2/π) e^{−λ²/2}``, ``λ = w·x/√N`` (one matmul each way instead of autograd)."""
        w = self.params[0]
        with torch.no_grad():
            fields = torch.matmul(x, w.transpose(-1, -2)) * self.scale  # λ/√2, (S, n, K)
            error = y - torch.erf(fields).sum(-1, keepdim=True)  # (S, n, 1)
            # g'(λ)/√N = √(2/π) e^{−λ²/2}/√N = (2/√π) e^{−(λ/√2)²} · scale
            delta = error * torch.exp(-fields.square()) * (2.0 / math.sqrt(math.pi) * self.scale)
            grad = torch.matmul(delta.transpose(-1, -2), x if x.dim() == 3 else x.unsqueeze(0))
            return [grad.div_(-x.shape[-2])]


def build_soft_committee(
    spec: Mapping[str, Any],
    tasks: Sequence[Task],
    init_rngs: Sequence[np.random.Generator],
    dtype: torch.dtype,
    device: torch.device,
    optimizer_kind: str,
) -> StackedModel:
    if tasks[0].d_out != 1:
        raise ValueError("a soft committee machine has one output")
    shape = (spec["units"], tasks[0].d_in)
    std = spec["init"]["std"]
    per_seed = [[std * rng.standard_normal(shape)] for rng in init_rngs]
    return CommitteeStack(_stack(per_seed, dtype, device)[0])
