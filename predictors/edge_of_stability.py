"""The edge of stability: full-batch training settles where the optimizer stops being stable.

Cohen, Kaur, Li, Kolter & Talwalkar 2021, "Gradient descent on neural networks typically occurs at
the edge of stability", arXiv:2103.00065. On a quadratic with curvature ``a``, gradient descent
``θ ← θ − η∇L`` is stable iff ``a < 2/η`` (sec. 2). Full-batch GD on a neural network first
sharpens (the top Hessian eigenvalue rises: "progressive sharpening") until the sharpness reaches
``2/η``, then hovers there while the loss keeps decreasing non-monotonically (sec. 3) — the *edge of
stability*. Heavy-ball momentum ``θ_{t+1} = θ_t − η∇L + β(θ_t − θ_{t−1})`` (PyTorch's ``SGD`` with
``momentum=β``, the harness's convention) has the stability threshold ``(2 + 2β)/η`` (their
appendix on momentum; on ``a θ²/2`` the characteristic polynomial ``z² − (1 + β − ηa) z + β`` has a
root outside the unit disk iff ``ηa > 2 + 2β``), and the sharpness settles there.

Cohen, Ghorbani, Krishnan, Agarwal, Medapati, Badura, Suo, Cardoze, Nado, Dahl & Gilmer 2022,
"Adaptive gradient methods at the edge of stability", arXiv:2207.14484, sec. 2–3. Adam is
preconditioned EMA momentum: ``m ← β₁m + (1 − β₁)g``, ``θ ← θ − η P⁻¹ m`` with
``P = (1 − β₁ᵗ) diag(√v̂ + ε)``. For a fixed ``P`` on a quadratic, this is heavy ball with rate
``η(1 − β₁)`` and momentum ``β₁`` in the coordinates ``P^{1/2}θ``, so it is stable iff
``λ_max(P^{-1/2} H P^{-1/2}) < (2 + 2β₁)/((1 − β₁)η)`` (``38/η`` at ``β₁ = 0.9``), and full-batch Adam
trains with its *preconditioned* sharpness at that threshold (the "adaptive edge of stability").

Predictors here:

- ``eos-threshold`` (theory): the optimizer's threshold, ``(2 + 2β)/η`` for GD with momentum ``β``
  (minus the coupled weight decay ``λ``, which shifts the Hessian the update sees by ``λI``), and
  ``(2 + 2β₁)/((1 − β₁)η)`` for the preconditioned sharpness of Adam;
- ``two-over-eta`` (baseline): ``2/η`` whatever the optimizer (momentum and preconditioning ignored);
- ``initial-sharpness`` (baseline): the sharpness at initialization, as if the curvature did not
  change during training. It draws initializations and the training set itself (the benchmark's
  model builder and population, seeded apart from every training stream) and computes ``λ_max`` of
  the Hessian at those weights — no training.
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem

__all__ = ["EoSThreshold", "InitialSharpness", "TwoOverEta", "stability_threshold"]

REFERENCES = (
    "Cohen, Kaur, Li, Kolter & Talwalkar 2021, arXiv:2103.00065, sec. 2-3 and the appendix on momentum",
    "Cohen et al. 2022, Adaptive gradient methods at the edge of stability, arXiv:2207.14484, sec. 2-3",
)


def stability_threshold(optimizer: dict, preconditioned: bool) -> float | None:
    """The largest (preconditioned) curvature at which the full-batch optimizer is stable on a
    quadratic, or ``None`` where no such law is stated here.

    ``gd``: ``(2 + 2β)/η − λ`` (heavy-ball momentum ``β``, coupled weight decay ``λ``);
    ``adam`` (preconditioned): ``(2 + 2β₁)/((1 − β₁)η)`` without weight decay.
    """
    lr = optimizer["lr"]
    if optimizer["kind"] == "gd" and not preconditioned:
        return (2.0 + 2.0 * optimizer.get("momentum", 0.0)) / lr - optimizer.get(
            "weight_decay", 0.0
        )
    if optimizer["kind"] == "adam" and preconditioned and optimizer.get("weight_decay", 0.0) == 0:
        b1 = optimizer["beta1"]
        return (2.0 + 2.0 * b1) / ((1.0 - b1) * lr)
    return None


def _full_batch(problem: Problem) -> bool:
    optimizer = problem.get("optimizer")
    return optimizer["kind"] == "gd" or (
        optimizer["kind"] == "adam"
        and optimizer["batch_size"] in ("full", problem.get("train_size"))
    )


def _uniform_rates(problem: Problem) -> bool:
    return problem.get("model.parameterization", "sp") != "mup"


class EoSThreshold:
    """Cohen et al.: the (preconditioned) sharpness settles at the optimizer's stability threshold."""

    name = "eos-threshold"
    version = "1"
    kind = "theory"
    quantities = ("sharpness_plateau",)
    fitted_on = ()
    references = REFERENCES

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if not _full_batch(problem):
            return Abstain("the edge of stability is stated for full-batch training")
        if not _uniform_rates(problem):
            return Abstain("per-layer learning rates (mup) change the threshold's geometry")
        preconditioned = problem.target.params["preconditioned"]
        threshold = stability_threshold(dict(problem.get("optimizer")), preconditioned)
        if threshold is None:
            return Abstain(
                "no threshold for this optimizer and sharpness (gd: raw Hessian; "
                "adam: preconditioned, without weight decay)"
            )
        return Forecast(mean=threshold, notes=f"threshold {threshold:.6g}")


class TwoOverEta:
    """2/η: the threshold of plain gradient descent, whatever the optimizer."""

    name = "two-over-eta"
    version = "1"
    kind = "baseline"
    quantities = ("sharpness_plateau",)
    fitted_on = ()
    references = ("Cohen et al. 2021, arXiv:2103.00065, sec. 2 (plain GD)",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        return Forecast(mean=2.0 / problem.get("optimizer.lr"))


class InitialSharpness:
    """The sharpness at initialization (no progressive sharpening, no edge of stability)."""

    name = "initial-sharpness"
    version = "1"
    kind = "baseline"
    quantities = ("sharpness_plateau",)
    fitted_on = ()
    references = ("catalogue E1 baseline: the curvature at initialization",)
    draws = 8

    def predict(self, problem: Problem) -> Forecast | Abstain:
        if problem.target.params["preconditioned"]:
            return Abstain("the preconditioner does not exist before training")
        if problem.get("train_size") == "online":
            return Abstain("needs a finite training set")
        # torch is needed for Hessian-vector products; imported only here
        from harness.engines.torch.curvature import sharpness_at_init

        task = problem.population()
        n = problem.get("train_size")
        sets = [task.sample(n, problem.rng(f"train-set-{k}")) for k in range(self.draws)]
        values = sharpness_at_init(
            problem.setting,
            np.stack([x for x, _ in sets]),
            np.stack([y for _, y in sets]),
            [problem.rng(f"init-{k}") for k in range(self.draws)],
        )
        return Forecast(
            mean=float(values.mean()),
            std=float(values.std(ddof=1)),
            notes=f"{self.draws} draws: {values.min():.4g}..{values.max():.4g}",
        )
