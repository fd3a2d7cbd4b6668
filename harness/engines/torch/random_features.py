"""Closed-form fit of linear random-feature models (``random_features`` + ``ridge_solve``).

Per seed: the training set from the seed's ``data`` stream, ``F`` (``k × d_in``, i.i.d. ``N(0, 1)``,
row-major) from its ``init`` stream in numpy float64, features ``Φ = X Fᵀ/√k`` (or ``Φ = X`` for
``features: identity``), and the readout

- ``δ > 0``: ``a = (ΦᵀΦ + δ I_k)⁻¹ Φᵀ y`` if ``k ≤ n``, else ``a = Φᵀ(ΦΦᵀ + δ I_n)⁻¹ y`` (the same
  vector by the push-through identity; the smaller system is factored by Cholesky);
- ``δ = 0``: ``a = Φ⁺ y``, the minimum-norm least-squares solution (SVD-based ``gelsd`` on the CPU),
  which is the ``δ → 0`` limit of both forms.

The fitted model is the linear map ``W = (Fᵀ a/√k)ᵀ`` (``d_out × d_in``), exposed to observers through
``end_to_end`` and ``predict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...components.data import Task
from ...components.quantities import Observer

__all__ = ["LinearMapProbe", "fit_random_features", "random_feature_matrix", "ridge_readout"]


def random_feature_matrix(k: int, d_in: int, rng: np.random.Generator) -> np.ndarray:
    """``F``: ``k × d_in`` standard normal, row-major from ``rng`` (nested in ``k``)."""
    return rng.standard_normal((k, d_in))


def ridge_readout(phi: torch.Tensor, y: torch.Tensor, ridge: float) -> torch.Tensor:
    """``a = Φᵀ(ΦΦᵀ + δI)⁻¹ y`` for ``δ > 0``, ``Φ⁺ y`` for ``δ = 0``; ``phi: (n, k)``, ``y: (n, d_out)``."""
    n, k = phi.shape
    if ridge <= 0:
        driver = "gelsd" if phi.device.type == "cpu" else None
        return torch.linalg.lstsq(phi, y, driver=driver).solution
    if k <= n:
        gram = phi.T @ phi + ridge * torch.eye(k, dtype=phi.dtype, device=phi.device)
        return torch.cholesky_solve(phi.T @ y, torch.linalg.cholesky(gram))
    gram = phi @ phi.T + ridge * torch.eye(n, dtype=phi.dtype, device=phi.device)
    return phi.T @ torch.cholesky_solve(y, torch.linalg.cholesky(gram))


class LinearMapProbe:
    """Probe of ``S`` fitted linear maps ``W_s`` (``(S, d_out, d_in)``, float64)."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def end_to_end(self) -> np.ndarray:
        return self.weights

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.einsum("ni,soi->sno", np.asarray(x, dtype=np.float64), self.weights)

    def predict_each(self, x: np.ndarray) -> np.ndarray:
        return np.einsum("sni,soi->sno", np.asarray(x, dtype=np.float64), self.weights)

    def train_set(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None


def fit_random_features(
    setting: Mapping[str, Any],
    tasks: Sequence[Task],
    data_rngs: Sequence[np.random.Generator],
    init_rngs: Sequence[np.random.Generator],
    observer: Observer,
    dtype: torch.dtype,
    device: torch.device,
) -> None:
    """Fit every seed's random-feature readout (module docstring) and record the linear maps."""
    features = setting["model"]["features"]
    ridge = float(setting["optimizer"]["ridge"])
    n = setting["train_size"]
    weights = []
    for task, data_rng, init_rng in zip(tasks, data_rngs, init_rngs):
        x, y = task.sample(n, data_rng)
        xs = torch.as_tensor(x, dtype=dtype, device=device)
        ys = torch.as_tensor(y, dtype=dtype, device=device)
        if features == "identity":
            w = ridge_readout(xs, ys, ridge)  # (d_in, d_out)
        else:
            f = torch.as_tensor(
                random_feature_matrix(features, task.d_in, init_rng), dtype=dtype, device=device
            )
            scale = 1.0 / np.sqrt(features)
            a = ridge_readout((xs @ f.T) * scale, ys, ridge)  # (k, d_out)
            w = (f.T @ a) * scale
        weights.append(w.T.to("cpu", torch.float64).numpy())
    observer.record(0, LinearMapProbe(np.stack(weights)))
