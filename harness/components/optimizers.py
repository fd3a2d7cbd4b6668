"""Training procedures (``setting.optimizer``). Declarative; each engine implements them.

All iterative optimizers minimize the training loss ``setting.loss`` (``half_mse``:
``½ · mean over examples of ‖f(x) − y‖²``). Conventions (those of PyTorch, written out so that a
theory can be checked against them):

- **momentum** (heavy ball): ``b ← μ b + g`` (``b = g`` at the first step), ``θ ← θ − η b``;
  equivalently ``θ_{t+1} = θ_t − η g_t + μ (θ_t − θ_{t−1})``.
- **weight decay** in ``gd``/``sgd`` is coupled (L2): ``g ← g + λ θ`` before the momentum.
- **adam**: ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``, ``θ ← θ − η m̂/(√v̂ + ε)`` with
  ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``; weight decay coupled (``g ← g + λθ``, PyTorch ``Adam``) or,
  with ``decoupled: true``, ``θ ← (1 − ηλ) θ`` before the step (``AdamW``; Loshchilov & Hutter 2019).
- A model's parameterization may scale the learning rate per layer (μP); the rates above are then
  multiplied by the layer's factor.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..schema import Bool, Checker, Enum, Float, Int, OneOf, Param

__all__ = ["GD", "SGD", "Adam", "RidgeSolve"]

_MOMENTUM = Param(Float(ge=0, lt=1), 0.0, doc="heavy-ball momentum μ")
_DECAY = Param(Float(ge=0), 0.0, doc="weight decay λ (coupled: added to the gradient)")


class OptimizerSchema:
    kind: ClassVar[str]
    PARAMS: ClassVar[dict[str, Param]]
    iterative: ClassVar[bool] = True
    full_batch: ClassVar[bool] = False


class GD(OptimizerSchema):
    """Full-batch gradient descent ``θ ← θ − η ∇L(θ)`` on the whole training set (optionally with
    heavy-ball momentum and coupled weight decay).

    ``lr_unit`` says what ``lr`` is measured in. ``absolute`` (the default): ``η = lr``.
    ``ntk_max_eigenvalue``: ``η = lr / λ0`` per seed, with ``λ0 = λ_max(Θ_XX)/n`` the top eigenvalue
    of the model's empirical neural tangent kernel on its training set at initialization, divided by
    the number of examples (``Θ = J P Jᵀ``, ``J = ∂f(X)/∂θ``, ``P`` the parameterization's
    learning-rate factors). ``λ0`` is the curvature of the loss ``½·mean‖f − y‖²`` along the
    function-space direction GD moves fastest in; for the model linearized at initialization GD is
    stable iff ``η < 2/λ0``, i.e. ``lr < 2`` in this unit (Lewkowycz et al. 2020 measure learning
    rates in units of ``1/λ0`` the same way). The engine computes ``λ0`` of each seed before the first
    step.
    """

    kind = "gd"
    full_batch = True
    PARAMS = {
        "lr": Param(Float(gt=0), doc="learning rate η (in units of lr_unit)"),
        "momentum": _MOMENTUM,
        "weight_decay": _DECAY,
        "lr_unit": Param(
            Enum(("absolute", "ntk_max_eigenvalue")),
            "absolute",
            doc="absolute, or ntk_max_eigenvalue: η = lr/λ0 with λ0 = λ_max(NTK at init)/n",
        ),
    }


class SGD(OptimizerSchema):
    """Minibatch SGD ``θ ← θ − η ∇L_B(θ)`` (optionally with momentum and coupled weight decay).

    With ``train_size: online`` every step draws a fresh batch from the population (online SGD);
    with a finite training set each batch is drawn uniformly with replacement from it.
    """

    kind = "sgd"
    PARAMS = {
        "lr": Param(Float(gt=0), doc="learning rate η"),
        "batch_size": Param(Int(ge=1), doc="examples per step B"),
        "momentum": _MOMENTUM,
        "weight_decay": _DECAY,
    }


class Adam(OptimizerSchema):
    """Adam (Kingma & Ba 2015) with bias correction; ``decoupled: true`` makes it AdamW.

    ``batch_size: full`` (the default) uses the whole training set every step.
    """

    kind = "adam"
    PARAMS = {
        "lr": Param(Float(gt=0), doc="learning rate η"),
        "beta1": Param(Float(ge=0, lt=1), 0.9, doc="β₁"),
        "beta2": Param(Float(ge=0, lt=1), 0.999, doc="β₂"),
        "eps": Param(Float(ge=0), 1.0e-8, doc="ε"),
        "weight_decay": Param(Float(ge=0), 0.0, doc="weight decay λ"),
        "decoupled": Param(Bool(), False, doc="decoupled weight decay (AdamW) instead of L2"),
        "batch_size": Param(
            OneOf((Int(ge=1), Enum(("full",)))), "full", doc="examples per step, or full"
        ),
    }

    @classmethod
    def check_params(cls, params: dict[str, Any], path: str, checker: Checker) -> None:
        if params["decoupled"] and params["weight_decay"] == 0:
            checker.issue(f"{path}.decoupled", "decoupled weight decay needs weight_decay > 0")


class RidgeSolve(OptimizerSchema):
    """Closed-form ridge regression: kernel machines ``α = (K_DD + δ I_n)^{-1} y`` (unnormalized ``K``);
    random features ``a = Φᵀ(ΦΦᵀ + δ I_n)^{-1} y`` (``δ = 0``: the minimum-norm least-squares fit)."""

    kind = "ridge_solve"
    iterative = False
    PARAMS = {
        "ridge": Param(Float(ge=0), doc="ridge δ added to the n×n kernel (or feature Gram) matrix")
    }
