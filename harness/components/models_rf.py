"""Linear random-feature models, fitted in closed form (declarative; each engine implements them).

Random-feature regression trains only the last layer of a network whose first layer is frozen at
its random initialization (Rahimi & Recht 2007); with a linear first layer it is the setting of the
random-feature eigenframework (Simon, Karkada, Ghosh & Belkin 2024), of the double-descent analysis
in the number of features, and of the solvable scaling-law models (Maloney, Roberts & Sully 2022).
"""

from __future__ import annotations

from ..schema import Enum, Int, OneOf, Param
from .models import ModelSchema

__all__ = ["RandomFeatures"]


class RandomFeatures(ModelSchema):
    """Linear random features ``φ(x) = F x/√k``, the readout fitted by ridge regression (``ridge_solve``).

    ``F`` is ``k × d_in`` with i.i.d. ``N(0, 1)`` entries, drawn per seed from its ``init`` stream
    (row-major, so the first ``k`` features of a larger ``k'`` are the same: sweeps in ``k`` are
    nested). With ``Φ`` the ``n × k`` feature matrix of the training inputs the readout is
    ``a = Φᵀ(ΦΦᵀ + δ I_n)⁻¹ y`` — ridge ``δ`` on the *unnormalized* feature Gram matrix, whose
    ``k → ∞`` limit is the linear kernel ``x·x'`` — and ``δ = 0`` gives the minimum-norm least-squares
    solution ``a = Φ⁺ y``. ``features: identity`` uses ``φ(x) = x`` (plain ridge regression on the
    inputs, the kernel limit ``k = ∞``; ``δ = 0`` is min-norm least squares). The fitted predictor is
    the linear map ``f(x) = (Fᵀ a/√k)·x`` (capability ``end_to_end``), so data with an exact linear
    risk give its exact population error.
    """

    kind = "random_features"
    capabilities = frozenset({"closed_form", "end_to_end"})
    PARAMS = {
        "features": Param(
            OneOf((Int(ge=1), Enum(("identity",)))),
            doc="number of random features k, or identity (φ(x) = x, the k → ∞ kernel)",
        ),
    }
