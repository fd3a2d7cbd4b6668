"""Model and initialization schemas (declarative; each engine implements them).

Shapes follow the math: a linear layer maps ``x ∈ R^{d_in}`` to ``W x`` with ``W: (d_out, d_in)``.
Engines train a stack of independent seeds at once, so an implementation holds each weight with a
leading seed axis.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..schema import Bool, Checker, Component, Enum, Float, Int, ListOf, Param
from . import INITS, KERNELS

__all__ = ["MLP", "Aligned", "DeepLinear", "FanIn", "Gaussian", "KernelMachine", "Linear", "Zeros"]


class ModelSchema:
    """Base: ``kind``, ``PARAMS``, ``capabilities`` and the init kinds the model accepts."""

    kind: ClassVar[str]
    PARAMS: ClassVar[dict[str, Param]]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    inits: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def check_params(cls, params: dict[str, Any], path: str, checker: Checker) -> None:
        init = params.get("init")
        if init is not None and init["kind"] not in cls.inits:
            checker.issue(
                f"{path}.init.kind",
                f"model {cls.kind!r} takes init {' | '.join(cls.inits)}, got {init['kind']!r}",
            )


class Linear(ModelSchema):
    """``f(x) = W x`` (no bias). Capability ``end_to_end``: the map ``W`` itself."""

    kind = "linear"
    capabilities = frozenset({"end_to_end"})
    inits = ("zeros", "gaussian")
    PARAMS = {"init": Param(Component(INITS), {"kind": "zeros"}, doc="initial weights")}


class DeepLinear(ModelSchema):
    """``f(x) = W_L ⋯ W_1 x`` with hidden width ``width`` (no biases, no nonlinearity).

    Capability ``end_to_end``: the product ``W_L ⋯ W_1``. Init ``aligned`` is the balanced,
    teacher-aligned init of Saxe et al. 2014; ``gaussian`` draws every entry i.i.d. ``N(0, std²)``.
    """

    kind = "deep_linear"
    capabilities = frozenset({"end_to_end"})
    inits = ("aligned", "gaussian")
    PARAMS = {
        "depth": Param(Int(ge=2), doc="number of weight matrices L"),
        "width": Param(Int(ge=1), doc="hidden width N"),
        "init": Param(Component(INITS), doc="aligned (mode_strength) or gaussian (std)"),
    }


class KernelMachine(ModelSchema):
    """A kernel predictor ``f(x) = Σ_i α_i k(x, x_i)``, fitted in closed form (optimizer ``ridge_solve``)."""

    kind = "kernel_machine"
    capabilities = frozenset({"closed_form"})
    PARAMS = {"kernel": Param(Component(KERNELS), doc="the kernel k")}


class MLP(ModelSchema):
    """A fully connected network ``x → φ(N(W_1 x + b_1)) → … → W_{L+1} h_L (+ b_{L+1})``.

    ``N`` is ``layernorm`` (per example over features, no affine: makes the layer's weights
    scale-invariant) or nothing. The parameterization fixes, per layer, the init variance, a
    forward multiplier and a learning-rate factor, with ``g`` the init gain, ``n_in`` the fan-in and
    ``m = width / base_width``:

    ============  =====================  ==================  =========================================
    kind          init variance          forward multiplier  learning-rate factor
    ============  =====================  ==================  =========================================
    ``sp``        ``g²/n_in``            1                   1
    ``ntp``       1                      ``g/√n_in``         1
    ``mup``       ``g²/n_in``; output    1                   SGD: input ``m``, hidden 1, output ``1/m``;
                  ``g²/(n_in m)``                            Adam: input 1, hidden ``1/m``, output ``1/m``
    ============  =====================  ==================  =========================================

    μP as in Yang & Hu 2021 (Table 3, SGD) and Yang et al. 2022 (μTransfer, Adam), written relative to
    a base width so that at ``width = base_width`` it coincides with ``sp``. Biases start at zero and
    take their layer's learning-rate factor (the input layer's for hidden biases). Init
    ``gaussian`` draws every weight i.i.d. ``N(0, std²)`` whatever its fan-in (small-init studies),
    replacing the table's init variance.

    ``center: true`` subtracts the initial function, ``f(x) = f_θ(x) − f_{θ0}(x)`` (the centered
    model of Chizat, Oyallon & Bach 2019): the output starts at zero, its gradients are those of
    ``f_θ``, so the first residual is ``−y`` whatever the random initialization.

    The hidden widths are ``widths``, or ``width`` repeated ``hidden_layers`` times (a scalar to
    sweep, e.g. ``model.width: [64, 256, 1024]`` with ``target.derive.x: model.width``); the
    normalized setting then lists both. Capability ``layers``: the probe returns every layer's
    pre-activations.
    """

    kind = "mlp"
    capabilities = frozenset({"layers"})
    inits = ("fan_in", "gaussian")
    PARAMS = {
        "widths": Param(ListOf(Int(ge=1), min_len=1), None, doc="hidden widths"),
        "width": Param(Int(ge=1), None, doc="every hidden layer's width (instead of widths)"),
        "hidden_layers": Param(Int(ge=1), 1, doc="with width: the number of hidden layers"),
        "activation": Param(Enum(("relu", "tanh", "identity")), "relu", doc="nonlinearity φ"),
        "bias": Param(Bool(), True, doc="whether layers have biases"),
        "init": Param(
            Component(INITS), {"kind": "fan_in", "gain": 1.0}, doc="weight initialization"
        ),
        "parameterization": Param(
            Enum(("sp", "ntp", "mup")),
            "sp",
            doc="width scaling of init, multipliers and learning rates",
        ),
        "base_width": Param(Int(ge=1), 64, doc="μP: the width at which it equals sp"),
        "norm": Param(
            Enum(("none", "layernorm")), "none", doc="normalization after each hidden linear layer"
        ),
        "center": Param(
            Bool(), False, doc="output f_θ(x) − f_θ0(x): training starts from the zero function"
        ),
    }

    @classmethod
    def check_params(cls, params: dict[str, Any], path: str, checker: Checker) -> None:
        super().check_params(params, path, checker)
        width, widths = params["width"], params["widths"]
        if width is None and widths is None:
            checker.issue(f"{path}.widths", "give the hidden widths (widths: [...]) or width: N")
        elif width is not None:
            implied = [width] * params["hidden_layers"]
            if widths is None:
                params["widths"] = implied  # normalized: code reads widths
            elif list(widths) != implied:
                checker.issue(
                    f"{path}.width",
                    f"width {width} × hidden_layers {params['hidden_layers']} contradicts widths {widths}",
                )


class Zeros:
    """All weights start at zero."""

    kind = "zeros"
    PARAMS: ClassVar[dict[str, Param]] = {}


class Gaussian:
    """Every weight entry i.i.d. ``N(0, std²)``, whatever the layer's fan-in."""

    kind = "gaussian"
    PARAMS = {"std": Param(Float(gt=0), doc="standard deviation of each entry")}


class Aligned:
    """Balanced init aligned with the teacher's singular vectors (Saxe, McClelland & Ganguli 2014).

    With teacher ``T = U diag(s) Vᵀ`` and depth ``L``: ``W_1 = c R Vᵀ``, ``W_l = c R Rᵀ`` (hidden),
    ``W_L = c U Rᵀ`` with ``R`` the first columns of the identity and ``c = u0^{1/L}``, so every
    mode starts with strength ``u_α(0) = u0`` and all layers are balanced. Needs a data generator
    with capability ``teacher_svd`` and ``width >= d_in, d_out``.
    """

    kind = "aligned"
    PARAMS = {"mode_strength": Param(Float(gt=0), doc="initial strength u0 of every mode")}


class FanIn:
    """Weights ``N(0, gain² / fan_in)``, biases zero (LeCun/He-style standard init)."""

    kind = "fan_in"
    PARAMS = {"gain": Param(Float(gt=0), 1.0, doc="gain (√2 is He init for ReLU)")}
