"""Kernels, in numpy float64 (the definition the predictors use; engines implement their own).

The ReLU NTK here is the neural tangent kernel of the two-layer network in NTK parameterization
``f(x) = N^{-1/2} Σ_j a_j ReLU(w_j·x/√d)`` with ``a_j, w_j`` i.i.d. standard normal and both layers
trained (Jacot, Gabriel & Hongler 2018; formulas as in Arora et al. 2019, eq. 4 with one hidden
layer). With ``G = x·x'/d``, ``ρ = G/√(G(x,x) G(x',x'))`` and ``θ = arccos ρ``:

    K1 = √(G(x,x) G(x',x')) (sin θ + (π − θ) cos θ) / (2π)      (E[ReLU(u) ReLU(v)]: readout layer)
    K0 = (π − θ) / (2π)                                          (E[ReLU'(u) ReLU'(v)])
    Θ  = K1 + G · K0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..schema import Float, Param

__all__ = ["RBF", "ReluNTK", "arccos_kernels"]


def arccos_kernels(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(G, K1, K0)`` of the module docstring for all pairs of rows of ``x1`` and ``x2``."""
    d = x1.shape[1]
    g = x1 @ x2.T / d
    n1 = np.sqrt(np.sum(x1 * x1, axis=1) / d)
    n2 = np.sqrt(np.sum(x2 * x2, axis=1) / d)
    norms = np.outer(n1, n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(norms > 0, g / norms, 0.0)
    theta = np.arccos(np.clip(rho, -1.0, 1.0))
    k1 = norms * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    k0 = (np.pi - theta) / (2 * np.pi)
    return g, k1, k0


class KernelSchema:
    kind: ClassVar[str]
    PARAMS: ClassVar[dict[str, Param]]

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = {k: v for k, v in (params or {}).items() if k != "kind"}

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ReluNTK(KernelSchema):
    """NTK of a two-layer ReLU network in NTK parameterization, both layers trained."""

    kind = "relu_ntk"
    PARAMS: ClassVar[dict[str, Param]] = {}

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        g, k1, k0 = arccos_kernels(np.asarray(x1, np.float64), np.asarray(x2, np.float64))
        return k1 + g * k0


class RBF(KernelSchema):
    """Gaussian kernel ``exp(−‖x − x'‖² / (2ℓ²))``."""

    kind = "rbf"
    PARAMS = {"lengthscale": Param(Float(gt=0), doc="ℓ")}

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        x1 = np.asarray(x1, np.float64)
        x2 = np.asarray(x2, np.float64)
        sq = np.sum(x1**2, 1)[:, None] + np.sum(x2**2, 1)[None, :] - 2 * x1 @ x2.T
        return np.exp(-np.maximum(sq, 0.0) / (2 * self.params["lengthscale"] ** 2))
