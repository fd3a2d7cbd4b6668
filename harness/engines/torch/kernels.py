"""Kernels in torch (the measuring side; :mod:`harness.components.kernels` is the numpy definition)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = ["make_kernel"]


def relu_ntk(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Two-layer ReLU NTK, NTK parameterization, both layers trained (Jacot et al. 2018)."""
    d = x1.shape[-1]
    g = x1 @ x2.transpose(-1, -2) / d
    n1 = torch.sqrt((x1 * x1).sum(-1) / d)
    n2 = torch.sqrt((x2 * x2).sum(-1) / d)
    norms = n1.unsqueeze(-1) * n2.unsqueeze(-2)
    rho = torch.where(
        norms > 0, g / torch.where(norms > 0, norms, torch.ones_like(norms)), torch.zeros_like(g)
    )
    theta = torch.arccos(rho.clamp(-1.0, 1.0))
    k1 = norms * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)
    k0 = (math.pi - theta) / (2 * math.pi)
    return k1 + g * k0


def make_kernel(spec: Mapping[str, Any]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The kernel function of a ``model.kernel`` spec."""
    if spec["kind"] == "relu_ntk":
        return relu_ntk
    if spec["kind"] == "rbf":
        scale = 2 * spec["lengthscale"] ** 2

        def rbf(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
            sq = (
                (x1 * x1).sum(-1).unsqueeze(-1)
                + (x2 * x2).sum(-1).unsqueeze(-2)
                - 2 * x1 @ x2.transpose(-1, -2)
            )
            return torch.exp(-sq.clamp_min(0.0) / scale)

        return rbf
    raise ValueError(f"the torch engine has no kernel {spec['kind']!r}")
