"""Quantities of the simple-laws pillar: sharpness (edge of stability) and layer balancedness
(conservation laws).

Two observables need more of the engine than a forward pass; this module declares them as an
extension of :class:`~harness.components.quantities.Probe` that an engine's probe implements:

- ``sharpness(iterations, tolerance, preconditioned)``: the top eigenvalue of the Hessian of each
  seed's training loss (the torch engine: Lanczos on Hessian-vector products,
  :mod:`harness.engines.torch.curvature`);
- ``layers()``: each layer's weight and bias.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from ..schema import Bool, Enum, Float, Int, Param
from .data import Task
from .quantities import CurveQuantity, GridObserver, Observer, Probe, Quantity, _finite_or_inf

__all__ = [
    "BalanceRatio",
    "LawsProbe",
    "Sharpness",
    "SharpnessPlateau",
    "imbalance",
]


class LawsProbe(Probe, Protocol):
    """What the quantities of this module need from an engine's probe, besides :class:`Probe`."""

    def sharpness(
        self, iterations: int = 20, tolerance: float = 1e-4, preconditioned: bool = False
    ) -> np.ndarray:
        """``λ_max`` of the Hessian of each seed's training loss ``½·mean‖f(x) − y‖²`` over its
        training set, ``(S,)``; with ``preconditioned``, of ``P^{-1/2} H P^{-1/2}`` with the
        optimizer's current diagonal preconditioner ``P``. Warm-started from the previous call."""
        ...

    def layers(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Each layer's weight ``(S, fan_out, fan_in)`` and bias ``(S, fan_out)`` or ``None``."""
        ...


# --------------------------------------------------------------------------------------------
# sharpness

_SHARPNESS_PARAMS: dict[str, Param] = {
    "preconditioned": Param(
        Bool(),
        False,
        doc="λ_max(P^{-1/2} H P^{-1/2}) with the optimizer's preconditioner P (Adam)",
    ),
    "iterations": Param(Int(ge=1), 20, doc="most Hessian-vector products per measurement"),
    "tolerance": Param(
        Float(gt=0), 1.0e-4, doc="stop when the top Ritz pair's residual ‖Hv − θv‖ ≤ tolerance·|θ|"
    ),
}


def _check_sharpness_setting(setting: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    if setting["train_size"] == "online":
        raise ValueError("sharpness needs a finite training set, not train_size: online")
    if params["preconditioned"] and setting["optimizer"]["kind"] != "adam":
        raise ValueError("preconditioned sharpness needs an optimizer with a preconditioner (adam)")


class Sharpness(CurveQuantity):
    """Sharpness ``λ_max(∇²L)`` of the training loss at each grid step (Cohen et al. 2021).

    ``L`` is the training loss ``½·mean‖f(x) − y‖²`` over the whole training set (without weight
    decay), whatever the batches of the optimizer. With ``preconditioned: true`` the quantity is
    Adam's preconditioned sharpness ``λ_max(P^{-1/2} ∇²L P^{-1/2})``,
    ``P = (1 − β₁ᵗ) diag(√v̂_t + ε)`` after ``t`` steps (Cohen et al. 2022, sec. 2); the grid must
    then start after step 0. Computed by Lanczos on Hessian-vector products (at most ``iterations``
    per grid step, stopping when the top Ritz pair's residual is below ``tolerance`` times the
    value), warm-started from the previous grid step's top eigenvector. A diverged run records ``+inf``.
    """

    kind = "sharpness"
    unit = "1/lr"
    PARAMS = _SHARPNESS_PARAMS

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        _check_sharpness_setting(self.setting, self.params)
        if self.params["preconditioned"] and self.grid is not None and self.grid[0] == 0:
            raise ValueError(
                "preconditioned sharpness is undefined at step 0 (before Adam's first step)"
            )
        return _SharpnessObserver(len(tasks), self.grid, self.params)


class _SharpnessObserver(GridObserver):
    def __init__(self, seeds: int, grid: np.ndarray, params: Mapping[str, Any]) -> None:
        super().__init__(seeds, grid)
        self.params = params

    def record(self, step: int, probe: Probe) -> None:
        self.values[:, self.index[step]] = _measure_sharpness(probe, self.params)


def _measure_sharpness(probe: Any, params: Mapping[str, Any]) -> np.ndarray:
    with np.errstate(all="ignore"):
        values = probe.sharpness(
            params["iterations"], params["tolerance"], params["preconditioned"]
        )
    return _finite_or_inf(values)


class SharpnessPlateau(Quantity):
    """The level at which the sharpness settles: its median over the grid steps in the last part of
    training (steps ``t ≥ start · steps``), measured as :class:`Sharpness` (same parameters).

    At the edge of stability (Cohen et al. 2021) the sharpness hovers around the optimizer's
    stability threshold; the median over the window is robust to the oscillations around it. Only
    the grid steps in the window are measured (the first of them from a cold start).
    """

    kind = "sharpness_plateau"
    shape_kind = "scalar"
    unit = "1/lr"
    needs_grid = True
    PARAMS: ClassVar[dict[str, Param]] = {
        **_SHARPNESS_PARAMS,
        "start": Param(
            Float(ge=0, lt=1), 0.5, doc="the window is t ≥ start · steps (0.5: the last half)"
        ),
    }

    def shape(self) -> tuple[int, ...]:
        return ()

    def window(self) -> np.ndarray:
        """The grid steps whose sharpness enters the median."""
        assert self.grid is not None
        return self.grid[self.grid >= self.params["start"] * self.horizon]

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        _check_sharpness_setting(self.setting, self.params)
        window = self.window()
        if window.size == 0:
            raise ValueError("no grid step lies in the plateau window")
        if self.params["preconditioned"] and window[0] == 0:
            raise ValueError("preconditioned sharpness is undefined at step 0")
        return _PlateauObserver(len(tasks), window, self.params)


class _PlateauObserver(_SharpnessObserver):
    def result(self) -> np.ndarray:
        return np.median(self.values, axis=1)


# --------------------------------------------------------------------------------------------
# balancedness


def imbalance(
    layers: Sequence[tuple[np.ndarray, np.ndarray | None]], form: str = "neurons"
) -> np.ndarray:
    """The imbalance between consecutive layers, per seed, flattened: ``(S, K)``.

    ``neurons``: for every hidden unit ``j`` of layer ``ℓ``,
    ``D_{ℓj} = ‖W_{ℓ+1}[:, j]‖² − ‖W_ℓ[j, :]‖² − b_ℓ[j]²`` (outgoing minus incoming weights), the
    quantity conserved by gradient flow for positively homogeneous activations (ReLU, linear) by
    the rescaling symmetry of unit ``j`` (Du, Hu & Lee 2018, sec. 2, Theorem 2.1).

    ``matrices``: ``D_ℓ = W_{ℓ+1}ᵀ W_{ℓ+1} − W_ℓ W_ℓᵀ`` for linear networks without biases (the
    ``GL(n)`` symmetry; Du, Hu & Lee 2018, Theorem 2.2; Arora, Cohen & Hazan 2018), all entries.
    """
    parts = []
    for (w, b), (w_next, _) in itertools.pairwise(layers):
        if form == "neurons":
            incoming = np.sum(w**2, axis=-1) + (0.0 if b is None else b**2)
            parts.append(np.sum(w_next**2, axis=-2) - incoming)
        else:
            if b is not None:
                raise ValueError("the matrix imbalance is for linear layers without biases")
            d = np.einsum("soj,sok->sjk", w_next, w_next) - np.einsum("sjd,skd->sjk", w, w)
            parts.append(d.reshape(d.shape[0], -1))
    return np.concatenate(parts, axis=1)


class BalanceRatio(CurveQuantity):
    """Relative size of the layer imbalance, ``‖D(t)‖ / ‖D(0)‖``, at each grid step.

    ``D`` collects the imbalances of every pair of consecutive layers (see :func:`imbalance`:
    per hidden unit, or, with ``form: matrices``, the matrices ``W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ`` of a
    linear network); ``‖·‖`` is the Euclidean norm over all of them. Gradient flow on the loss
    plus ``(λ/2)‖θ‖²`` gives ``D(τ) = e^{−2λτ} D(0)`` in time ``τ = ηt`` (Du, Hu & Lee 2018 for
    ``λ = 0``; Kunin et al. 2021 with weight decay). Needs an ``mlp`` with ``relu`` or
    ``identity`` activation, no normalization and one learning rate for every layer
    (parameterization ``sp`` or ``ntp``), or a ``deep_linear`` network.
    """

    kind = "balance_ratio"
    unit = "ratio"
    PARAMS = {
        "form": Param(
            Enum(("neurons", "matrices")),
            "neurons",
            doc="per-unit imbalances, or the full matrices of a linear network",
        )
    }

    def check_model(self) -> None:
        """Raise if the model has no rescaling symmetry the law rests on."""
        model = self.setting["model"]
        linear = model["kind"] == "deep_linear" or (
            model["kind"] == "mlp" and model["activation"] == "identity" and not model["bias"]
        )
        if model["kind"] == "mlp":
            if model["activation"] not in ("relu", "identity"):
                raise ValueError(
                    f"balance needs a positively homogeneous activation, not {model['activation']!r}"
                )
            if model["norm"] != "none" or model["parameterization"] == "mup":
                raise ValueError(
                    "balance needs plain layers with one learning rate (no norm, no mup)"
                )
        elif model["kind"] != "deep_linear":
            raise ValueError(f"balance needs stacked linear layers, not a {model['kind']!r} model")
        if self.params["form"] == "matrices" and not linear:
            raise ValueError("form: matrices needs a linear network without biases")

    def observer(
        self, tasks: Sequence[Task], eval_rngs: Sequence[np.random.Generator] | None = None
    ) -> Observer:
        self.check_model()
        assert self.grid is not None
        if self.grid[0] != 0:
            raise ValueError("balance_ratio is relative to step 0: the grid must contain 0")
        return _BalanceObserver(len(tasks), self.grid, self.params["form"])


class _BalanceObserver(GridObserver):
    def __init__(self, seeds: int, grid: np.ndarray, form: str) -> None:
        super().__init__(seeds, grid)
        self.form = form
        self.initial: np.ndarray | None = None

    def record(self, step: int, probe: Probe) -> None:
        with np.errstate(all="ignore"):
            size = np.linalg.norm(imbalance(probe.layers(), self.form), axis=1)  # type: ignore[attr-defined]
            if self.initial is None:
                self.initial = size
            self.values[:, self.index[step]] = _finite_or_inf(size / self.initial)
