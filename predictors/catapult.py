"""Learning-rate phases of wide networks under gradient descent (Lewkowycz et al. 2020).

Learning rates are in units of ``1/λ0``, ``λ0 = λ_max(Θ_XX)/n`` the top eigenvalue of the NTK at
initialization divided by the number of examples (``lr_unit: ntk_max_eigenvalue``), so GD on the
loss ``½·mean(f − y)²`` moves the top function-space mode by the factor ``1 − ηλ0``.

*Catapult theory.* Lewkowycz, Bahri, Dyer, Sohl-Dickstein & Gur-Ari 2020 (arXiv:2003.02218,
sec. 2) solve the two-layer linear "uv" model ``f = v·(u x)/√N`` trained on one example: with
``λ = (‖u‖² + ‖v‖²)/N``, GD gives the closed map

    f_{t+1} = f_t (1 − ηλ_t + η² f_t²/N),     λ_{t+1} = λ_t + (η f_t²/N)(ηλ_t − 4)

(derivable in two lines from the updates of ``u`` and ``v``). Hence three phases at large ``N``:

- ``η < 2/λ0``, **lazy**: ``|1 − ηλ| < 1``, ``f`` decays, ``λ`` moves by ``O(1/N)``;
- ``2/λ0 < η < 4/λ0``, **catapult**: ``f`` first grows like ``(ηλ0 − 1)^t`` until ``η²f²/N = O(1)``,
  then ``λ`` falls (``ηλ − 4 < 0``) until ``ηλ < 2`` and the loss converges, at a flatter point;
- ``η > 4/λ0``, **diverged**: ``ηλ − 4 > 0``, so a growing ``f`` *raises* ``λ`` and nothing stops it.

The paper reports the same phases for wide nonlinear networks with ``η_crit = 2/λ0``; the theory
catalogue of this project transcribes its ReLU experiments as ``η_max ≈ 12/λ0`` (from memory: we
could not retrieve the paper's text to check the number). ``catapult-theory`` forecasts the uv
model's boundaries (2, 4) for every network; ``catapult-relu-12`` forecasts ``η_max = 12/λ0`` for
ReLU networks (and 4 otherwise), to put that transcription on the board.

*Baseline* (``quadratic-stability``): the loss is a quadratic with curvature ``λ0`` — GD converges
monotonically iff ``η < 2/λ0`` and diverges otherwise; there is no catapult phase.
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["CatapultReluTwelve", "CatapultTheory", "QuadraticStability", "phase_of"]

LAZY, CATAPULT, DIVERGED = 0.0, 1.0, 2.0


def phase_of(lr_in_units: float, critical: float, maximal: float) -> float:
    """Label of a learning rate (in units of ``1/λ0``): lazy below ``critical``, catapult below
    ``maximal``, diverged from ``maximal`` on."""
    if lr_in_units < critical:
        return LAZY
    return CATAPULT if lr_in_units < maximal else DIVERGED


def _applicable(problem: Problem) -> Abstain | None:
    optimizer = problem.setting["optimizer"]
    if optimizer["kind"] != "gd" or optimizer["lr_unit"] != "ntk_max_eigenvalue":
        return Abstain("needs full-batch GD with the learning rate in units of 1/λ0")
    if optimizer["momentum"] or optimizer["weight_decay"]:
        return Abstain("no momentum or weight decay in the catapult analysis")
    if problem.setting["model"]["kind"] != "mlp":
        return Abstain("the phases are stated for fully connected networks")
    return None


class _PhasePredictor:
    kind = "theory"
    quantities = ("catapult_phase",)
    fitted_on = ()

    def maximal(self, problem: Problem) -> float:
        raise NotImplementedError

    def predict(self, problem: Problem) -> Forecast | Abstain:
        abstain = _applicable(problem)
        if abstain is not None:
            return abstain
        maximal = self.maximal(problem)
        label = phase_of(problem.get("optimizer.lr"), 2.0, maximal)
        return Forecast(
            mean=np.full(problem.shape, label), notes=f"boundaries 2 and {maximal:g} (×1/λ0)"
        )


class CatapultTheory(_PhasePredictor):
    """Lewkowycz et al. 2020: lazy below 2/λ0, catapult up to the uv model's 4/λ0, diverged above."""

    name = "catapult-theory"
    version = "1"
    references = (
        "Lewkowycz, Bahri, Dyer, Sohl-Dickstein & Gur-Ari 2020, arXiv:2003.02218, sec. 2 (uv model)",
    )

    def maximal(self, problem: Problem) -> float:
        return 4.0


class CatapultReluTwelve(_PhasePredictor):
    """As catapult-theory, but η_max = 12/λ0 for ReLU networks (the catalogue's transcription of
    Lewkowycz et al.'s ReLU experiments)."""

    name = "catapult-relu-12"
    version = "1"
    references = (
        "Lewkowycz et al. 2020, arXiv:2003.02218, sec. 3, as transcribed in the theory catalogue (L3)",
    )

    def maximal(self, problem: Problem) -> float:
        return 12.0 if problem.get("model.activation") == "relu" else 4.0


class QuadraticStability(_PhasePredictor):
    """Baseline: GD on a quadratic of curvature λ0 converges iff η < 2/λ0; no catapult phase."""

    name = "quadratic-stability"
    version = "1"
    kind = "baseline"
    references = ("catalogue L3 baseline",)

    def maximal(self, problem: Problem) -> float:
        return 2.0
