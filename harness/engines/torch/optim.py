"""Optimizers of the torch engine on stacked parameters (conventions in
:mod:`harness.components.optimizers`).

Every update is elementwise, so seeds stacked on the leading axis stay independent. Each parameter
may carry its own learning-rate factor (a parameterization's per-layer scaling, e.g. μP).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["Optimizer", "make_optimizer"]


class Optimizer:
    """``step(grads)`` updates ``params`` in place. ``state`` exposes what observables may need
    (Adam's second moments for the preconditioned sharpness)."""

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        spec: Mapping[str, Any],
        lr_factors: Sequence[float],
        seed_scale: torch.Tensor | None = None,
    ) -> None:
        self.params = list(params)
        self.spec = spec
        self.lrs: list[Any] = [spec["lr"] * f for f in lr_factors]
        if seed_scale is not None:  # one learning rate per seed: (S,) broadcast over each parameter
            self.lrs = [
                (lr * seed_scale).reshape((-1,) + (1,) * (p.dim() - 1))
                for lr, p in zip(self.lrs, self.params)
            ]
        self.steps = 0
        self.state: dict[str, list[torch.Tensor]] = {}

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        raise NotImplementedError


class HeavyBall(Optimizer):
    """gd / sgd: ``g ← g + λθ``; ``b ← μb + g`` (``b = g`` first); ``θ ← θ − η b``."""

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        decay, momentum = self.spec.get("weight_decay", 0.0), self.spec.get("momentum", 0.0)
        grads = list(grads)
        if decay:
            grads = torch._foreach_add(grads, self.params, alpha=decay)
        if momentum:
            if "momentum" not in self.state:
                self.state["momentum"] = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.state["momentum"], momentum)
                torch._foreach_add_(self.state["momentum"], grads)
            grads = self.state["momentum"]
        if isinstance(self.lrs[0], torch.Tensor):  # per-seed learning rates
            for p, g, lr in zip(self.params, grads, self.lrs):
                p.sub_(g * lr)
        elif len(set(self.lrs)) == 1:
            torch._foreach_add_(self.params, grads, alpha=-self.lrs[0])
        else:
            for p, g, lr in zip(self.params, grads, self.lrs):
                p.add_(g, alpha=-lr)
        self.steps += 1


class Adam(Optimizer):
    """Adam with bias correction; coupled (L2) or decoupled (AdamW) weight decay."""

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        s = self.spec
        b1, b2, eps, decay = s["beta1"], s["beta2"], s["eps"], s["weight_decay"]
        grads = list(grads)
        if decay and not s["decoupled"]:
            grads = torch._foreach_add(grads, self.params, alpha=decay)
        if "exp_avg" not in self.state:
            self.state["exp_avg"] = [torch.zeros_like(p) for p in self.params]
            self.state["exp_avg_sq"] = [torch.zeros_like(p) for p in self.params]
        m, v = self.state["exp_avg"], self.state["exp_avg_sq"]
        torch._foreach_mul_(m, b1)
        torch._foreach_add_(m, grads, alpha=1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        self.steps += 1
        c1, c2 = 1 - b1**self.steps, 1 - b2**self.steps
        for p, mi, vi, lr in zip(self.params, m, v, self.lrs):
            if decay and s["decoupled"]:
                p.mul_(1 - lr * decay)
            denominator = (vi / c2).sqrt_().add_(eps)
            p.addcdiv_(mi, denominator, value=-lr / c1)

    def preconditioner(self) -> list[torch.Tensor]:
        """Adam's diagonal preconditioner ``P = (1 − β₁ᵗ)(√v̂ + ε)`` per parameter (Cohen et al. 2022,
        the effective step being ``θ ← θ − η P⁻¹ m``)."""
        s = self.spec
        c1, c2 = 1 - s["beta1"] ** self.steps, 1 - s["beta2"] ** self.steps
        return [c1 * ((v / c2).sqrt() + s["eps"]) for v in self.state["exp_avg_sq"]]


def make_optimizer(
    spec: Mapping[str, Any],
    params: Sequence[torch.Tensor],
    lr_factors: Sequence[float],
    seed_scale: torch.Tensor | None = None,
) -> Optimizer:
    """The optimizer of ``spec``; ``seed_scale`` (``(S,)``) multiplies the learning rate per seed
    (gd/sgd only: an ``lr_unit`` other than ``absolute``)."""
    if spec["kind"] in ("gd", "sgd"):
        return HeavyBall(params, spec, lr_factors, seed_scale)
    if seed_scale is not None:
        raise ValueError(f"per-seed learning rates are not implemented for {spec['kind']!r}")
    if spec["kind"] == "adam":
        return Adam(params, spec, lr_factors)
    raise ValueError(f"the torch engine has no iterative optimizer {spec['kind']!r}")
