"""Stacked (seed-batched) PyTorch implementations of the model components.

Every weight carries a leading seed axis ``S``: seed ``s`` of a job is slice ``s`` of each tensor,
and no operation mixes slices, so the seeds train independently in one program. Initial weights are
drawn with numpy from each seed's ``init`` stream (float64) and then cast, so the initialization
does not depend on the engine, the device or the dtype of training.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...components.data import Task
from ...registry import Registry

__all__ = ["BUILDERS", "StackedModel", "build_model", "mlp_layout"]


class StackedModel:
    """``S`` independent models. ``forward(x)``: ``x`` of shape ``(S, n, d_in)`` or shared ``(n, d_in)``.

    ``lr_factors`` holds one learning-rate factor per parameter (a parameterization's per-layer
    scaling; 1 unless the model says otherwise).
    """

    params: list[torch.Tensor]

    @property
    def lr_factors(self) -> list[float]:
        return list(getattr(self, "_lr_factors", [1.0] * len(self.params)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def end_to_end(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} is not a linear map")

    def half_mse_gradients(self, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor] | None:
        """Gradients of ``Σ_s ½·mean‖f_s(x) − y‖²`` with respect to :attr:`params`, in closed form,
        or ``None`` (the default) to let the engine use autograd. A model overrides this only to
        skip autograd's per-step overhead on tiny networks, and must be tested equal to autograd."""
        return None


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
    """Weights ``(S, fan_out, fan_in)`` with forward multipliers; optional LayerNorm after hidden layers."""

    def __init__(
        self,
        weights: Sequence[torch.Tensor],
        biases: Sequence[torch.Tensor | None],
        multipliers: Sequence[float],
        activation: str,
        norm: str,
        lr_factors: Sequence[float],
    ) -> None:
        self.weights = list(weights)
        self.biases = list(biases)
        self.multipliers = list(multipliers)
        self.params = [*self.weights, *(b for b in self.biases if b is not None)]
        self.activation: Callable[[torch.Tensor], torch.Tensor] = {
            "relu": torch.relu,
            "tanh": torch.tanh,
            "identity": lambda h: h,
        }[activation]
        self.norm = norm
        self._lr_factors = list(lr_factors)
        self.initial: tuple[list[torch.Tensor], list[torch.Tensor | None]] | None = None

    def center(self) -> None:
        """From now on output ``f_θ(x) − f_{θ0}(x)``, ``θ0`` the current (initial) parameters."""
        self.initial = (
            [w.detach().clone() for w in self.weights],
            [None if b is None else b.detach().clone() for b in self.biases],
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.preactivations(x)[-1]

    def preactivations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every layer's pre-activation ``c_l W_l h_{l−1} + b_l`` (before the norm and the
        nonlinearity); the last is the output (minus the initial function if centered)."""
        out = self._layers(x, self.weights, self.biases)
        if self.initial is not None:
            with torch.no_grad():
                offset = self._layers(x, *self.initial)[-1]
            out[-1] = out[-1] - offset
        return out

    def _layers(
        self,
        x: torch.Tensor,
        weights: Sequence[torch.Tensor],
        biases: Sequence[torch.Tensor | None],
    ) -> list[torch.Tensor]:
        h = x
        out = []
        last = len(weights) - 1
        for i, (w, b, c) in enumerate(zip(weights, biases, self.multipliers)):
            # the forward multiplier scales the smaller of the layer's input and output
            scale_input = c != 1.0 and w.shape[-1] < w.shape[-2]
            h = torch.matmul(h * c if scale_input else h, w.transpose(-1, -2))
            if c != 1.0 and not scale_input:
                h = h * c
            if b is not None:
                h = h + b.unsqueeze(-2)
            out.append(h)
            if i < last:
                if self.norm == "layernorm":
                    h = torch.nn.functional.layer_norm(h, h.shape[-1:], eps=1e-5)
                h = self.activation(h)
        return out


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


def mlp_layout(
    spec: Mapping[str, Any], d_in: int, d_out: int, optimizer_kind: str
) -> list[dict[str, Any]]:
    """Per layer: shape, role, init std, forward multiplier and learning-rate factor (the table in
    :class:`harness.components.models.MLP`)."""
    shapes = _layer_shapes(d_in, spec["widths"], d_out)
    gain, kind = spec["init"].get("gain", 1.0), spec["parameterization"]
    layers = []
    for i, (fan_out, fan_in) in enumerate(shapes):
        role = "input" if i == 0 else ("output" if i == len(shapes) - 1 else "hidden")
        std, multiplier, lr = gain / np.sqrt(fan_in), 1.0, 1.0
        if kind == "ntp":
            std, multiplier = 1.0, gain / np.sqrt(fan_in)
        elif kind == "mup":
            m = (fan_out if role == "input" else fan_in) / spec["base_width"]
            adam = optimizer_kind == "adam"
            if role == "output":
                std, lr = gain / np.sqrt(fan_in * m), 1.0 / m
            elif role == "input":
                lr = 1.0 if adam else m
            else:
                lr = 1.0 / m if adam else 1.0
        if spec["init"].get("kind") == "gaussian":
            std = spec["init"]["std"]
        layers.append(
            {
                "shape": (fan_out, fan_in),
                "role": role,
                "std": std,
                "multiplier": multiplier,
                "lr": lr,
            }
        )
    return layers


def _stack(
    per_seed: Sequence[Sequence[np.ndarray]], dtype: torch.dtype, device: torch.device
) -> list[torch.Tensor]:
    """Per-seed numpy layers → one leaf tensor per layer with a leading seed axis."""
    return [
        torch.tensor(
            np.stack([layers[i] for layers in per_seed]), dtype=dtype, device=device
        ).requires_grad_(True)
        for i in range(len(per_seed[0]))
    ]


def build_linear(spec, tasks, init_rngs, dtype, device, optimizer_kind) -> StackedModel:
    init = spec["init"]
    shape = (tasks[0].d_out, tasks[0].d_in)
    if init["kind"] == "zeros":
        per_seed = [[np.zeros(shape)] for _ in tasks]
    else:
        per_seed = [_gaussian_layers([shape], init["std"], rng) for rng in init_rngs]
    return LinearStack(_stack(per_seed, dtype, device)[0])


def build_deep_linear(spec, tasks, init_rngs, dtype, device, optimizer_kind) -> StackedModel:
    depth, width, init = spec["depth"], spec["width"], spec["init"]
    if init["kind"] == "aligned":
        per_seed = [_aligned_layers(depth, width, task, init["mode_strength"]) for task in tasks]
    else:
        shapes = _layer_shapes(tasks[0].d_in, [width] * (depth - 1), tasks[0].d_out)
        per_seed = [_gaussian_layers(shapes, init["std"], rng) for rng in init_rngs]
    return DeepLinearStack(_stack(per_seed, dtype, device))


def build_mlp(spec, tasks, init_rngs, dtype, device, optimizer_kind) -> StackedModel:
    layers = mlp_layout(spec, tasks[0].d_in, tasks[0].d_out, optimizer_kind)
    weights = _stack(
        [
            [layer["std"] * rng.standard_normal(layer["shape"]) for layer in layers]
            for rng in init_rngs
        ],
        dtype,
        device,
    )
    biases: list[torch.Tensor | None] = [
        torch.zeros((len(tasks), layer["shape"][0]), dtype=dtype, device=device).requires_grad_(
            True
        )
        if spec["bias"]
        else None
        for layer in layers
    ]
    # biases take the input layer's rate (fan-in 1), the output bias its own layer's
    bias_lr = [layer["lr"] if layer["role"] == "output" else layers[0]["lr"] for layer in layers]
    lr_factors = [layer["lr"] for layer in layers] + [
        f for f, b in zip(bias_lr, biases) if b is not None
    ]
    multipliers = [layer["multiplier"] for layer in layers]
    model = MLPStack(weights, biases, multipliers, spec["activation"], spec["norm"], lr_factors)
    if spec.get("center", False):
        model.center()
    return model


BUILDERS: Registry = Registry("torch model builder")
"""``model kind → "module:function"``; a builder takes ``(spec, tasks, init_rngs, dtype, device,
optimizer_kind)`` and returns a :class:`StackedModel`. A new model adds one line here."""
BUILDERS.register("linear", "harness.engines.torch.models:build_linear")
BUILDERS.register("deep_linear", "harness.engines.torch.models:build_deep_linear")
BUILDERS.register("mlp", "harness.engines.torch.models:build_mlp")
BUILDERS.register("soft_committee", "harness.engines.torch.committee:build_soft_committee")


def build_model(
    spec: Mapping[str, Any],
    tasks: Sequence[Task],
    init_rngs: Sequence[np.random.Generator],
    dtype: torch.dtype,
    device: torch.device,
    optimizer_kind: str = "gd",
) -> StackedModel:
    """Build the stacked model of ``setting.model`` for the seeds whose tasks and init streams are given."""
    if spec["kind"] not in BUILDERS:
        raise ValueError(f"the torch engine has no iterative model {spec['kind']!r}")
    spec = {"init": {"kind": "zeros"}, **spec}
    return BUILDERS.get(spec["kind"])(spec, tasks, init_rngs, dtype, device, optimizer_kind)
