"""The soft committee machine (declarative; engines implement it)."""

from __future__ import annotations

from ..schema import Component, Int, Param
from . import INITS
from .models import ModelSchema

__all__ = ["SoftCommittee"]


class SoftCommittee(ModelSchema):
    """A soft committee machine ``φ(x) = Σ_{k=1}^{K} g(w_k·x/√N)``, ``g(z) = erf(z/√2)``.

    ``N`` is the input dimension; only the first-layer vectors ``w_k`` are trained (the output
    weights are fixed to 1), as in Saad & Solla 1995. With the loss ``½(φ(x) − y)²`` and ``sgd`` at
    learning rate ``η``, batch 1, one step is exactly Saad & Solla's rule

        w_k ← w_k + (η/√N) g'(λ_k) (y − φ(x)) x,   λ_k = w_k·x/√N,

    so ``η`` here is their ``η`` and the time ``α = t/N``. Init ``gaussian``: every entry of ``w_k``
    i.i.d. ``N(0, std²)``, so ``Q_kk(0) = ‖w_k‖²/N ≈ std²``. Capability ``soft_committee``: the
    engine's probe returns ``W`` (``parameters()[0]``, shape ``(S, K, N)``).
    """

    kind = "soft_committee"
    capabilities = frozenset({"soft_committee"})
    inits = ("gaussian",)
    PARAMS = {
        "units": Param(Int(ge=1), doc="hidden units of the student K"),
        "init": Param(Component(INITS), doc="gaussian (std): i.i.d. N(0, std²) entries"),
    }
