"""Training procedures (``setting.optimizer``). Declarative; each engine implements them.

All iterative optimizers minimize the training loss ``setting.loss`` (``half_mse``:
``½ · mean over examples of ‖f(x) − y‖²``).
"""

from __future__ import annotations

from typing import ClassVar

from ..schema import Float, Int, Param

__all__ = ["GD", "SGD", "RidgeSolve"]


class OptimizerSchema:
    kind: ClassVar[str]
    PARAMS: ClassVar[dict[str, Param]]
    iterative: ClassVar[bool] = True


class GD(OptimizerSchema):
    """Full-batch gradient descent ``θ ← θ − η ∇L(θ)`` on the whole training set."""

    kind = "gd"
    PARAMS = {"lr": Param(Float(gt=0), doc="learning rate η")}


class SGD(OptimizerSchema):
    """Minibatch SGD ``θ ← θ − η ∇L_B(θ)``.

    With ``train_size: online`` every step draws a fresh batch from the population (online SGD);
    with a finite training set each batch is drawn uniformly with replacement from it.
    """

    kind = "sgd"
    PARAMS = {
        "lr": Param(Float(gt=0), doc="learning rate η"),
        "batch_size": Param(Int(ge=1), doc="examples per step B"),
    }


class RidgeSolve(OptimizerSchema):
    """Closed-form kernel ridge regression ``α = (K_DD + δ I_n)^{-1} y`` (unnormalized ``K``)."""

    kind = "ridge_solve"
    iterative = False
    PARAMS = {"ridge": Param(Float(ge=0), doc="ridge δ added to the n×n kernel matrix")}
