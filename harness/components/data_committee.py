"""Teacher–student data for soft committee machines (Saad & Solla 1995; Biehl & Schwarze 1995).

Inputs ``x ~ N(0, I_N)``; the teacher is a soft committee of ``M`` erf units,

    y = φ*(x) + σ ε,   φ*(x) = Σ_m g(B_m·x/√N),   g(z) = erf(z/√2),   ε ~ N(0, 1).

Each draw of the task picks the teacher rows as ``√N`` times ``M`` orthonormal vectors (the
orthonormal columns of the QR factor of a Gaussian ``N × M`` matrix), so the teacher overlaps
``T_nm = B_n·B_m/N = δ_nm`` hold exactly, not only as ``N → ∞`` (Saad & Solla's ``T = I``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import erf

from ..schema import Checker, Float, Int, Param
from .data import DataGenerator, Task

__all__ = ["ErfCommitteeTeacher", "erf_unit"]


def erf_unit(z: np.ndarray) -> np.ndarray:
    """``g(z) = erf(z/√2)`` (the committee machine's activation, ``E g(u)g(v)`` has an arcsin form)."""
    return erf(np.asarray(z) / np.sqrt(2.0))


class _CommitteeTask(Task):
    capabilities = frozenset({"chunked_sampling", "committee_teacher"})

    def __init__(self, teacher: np.ndarray, noise_std: float) -> None:
        self.teacher = teacher  # (M, N), rows of squared norm N
        self.d_in = teacher.shape[1]
        self.d_out = 1
        self.noise_std = noise_std
        self.noise_variance = noise_std**2

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        # one array per call (inputs and the noise in the last column): chunked draws equal
        # consecutive ones
        z = rng.standard_normal((n, self.d_in + 1))
        x = z[:, : self.d_in]
        fields = x @ self.teacher.T / np.sqrt(self.d_in)
        y = erf_unit(fields).sum(axis=1) + self.noise_std * z[:, self.d_in]
        return x, y[:, None]

    def teacher_overlaps(self) -> np.ndarray:
        """``T = B Bᵀ / N`` (the identity up to rounding)."""
        return self.teacher @ self.teacher.T / self.d_in


class ErfCommitteeTeacher(DataGenerator):
    """Gaussian inputs labelled by a soft committee of erf units with orthogonal teacher vectors.

    ``x ~ N(0, I_d)``, ``y = Σ_{m=1}^{M} erf(B_m·x/√(2d)) + σ ε`` with ``B_m·B_n = d δ_mn`` exactly
    (``√d`` times orthonormal rows, drawn per seed from its ``data`` stream). Capability
    ``committee_teacher``: the task exposes ``teacher`` (``B``, shape ``(M, d)``), so observables
    can compute the order parameters ``R = W Bᵀ/d`` and ``T = B Bᵀ/d`` (Saad & Solla 1995).
    """

    kind = "erf_committee_teacher"
    capabilities = _CommitteeTask.capabilities
    PARAMS: ClassVar[dict[str, Param]] = {
        "d": Param(Int(ge=1), doc="input dimension N"),
        "teacher_units": Param(Int(ge=1), 2, doc="hidden units of the teacher M"),
        "noise_std": Param(Float(ge=0), 0.0, doc="output noise σ"),
    }

    @classmethod
    def check_params(cls, params: dict[str, Any], path: str, checker: Checker) -> None:
        if params["teacher_units"] > params["d"]:
            checker.issue(
                f"{path}.teacher_units",
                f"{params['teacher_units']} orthogonal teacher vectors need d >= {params['teacher_units']}",
            )

    def draw(self, rng: np.random.Generator | None) -> Task:
        if rng is None:
            raise ValueError("erf_committee_teacher draws a random teacher: pass a random stream")
        d, m = self.params["d"], self.params["teacher_units"]
        q, r = np.linalg.qr(rng.standard_normal((d, m)))
        q = q * np.sign(np.diag(r))
        return _CommitteeTask(np.sqrt(d) * q.T, self.params["noise_std"])
