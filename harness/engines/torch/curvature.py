"""Curvature of the training loss of stacked models: Hessian-vector products and the top eigenvalue.

The *sharpness* of a loss ``L(θ)`` is ``λ_max(∇²L(θ))``, the largest eigenvalue of its Hessian
(Cohen et al. 2021, arXiv:2103.00065, sec. 2). For an optimizer with a diagonal preconditioner
``P`` (Adam: ``θ ← θ − η P⁻¹ m``), the *preconditioned sharpness* is
``λ_max(P^{-1/2} ∇²L P^{-1/2}) = λ_max(P⁻¹ ∇²L)`` (Cohen et al. 2022, arXiv:2207.14484, sec. 2).

Both are computed matrix-free from Hessian-vector products (Pearlmutter 1994): with ``g = ∇L`` built
once with ``create_graph=True``, ``Hv = ∇(g·v)`` is one extra backward pass through the gradient's
graph. Seeds are stacked on the leading axis and no operation mixes them, so the Hessian of the
*summed* loss ``Σ_s L_s`` is block-diagonal over seeds: one Hessian-vector product of the summed
loss with a stacked vector ``(v_1, …, v_S)`` returns every seed's ``(H_1 v_1, …, H_S v_S)`` at once.
Everything else (inner products, norms, the Lanczos recurrence) is done per seed.

The top eigenvalue is found by the Lanczos method with full reorthogonalization (Golub & Van Loan,
*Matrix Computations*, 4th ed., sec. 10.1): ``k`` products span the Krylov space
``{v, Av, …, A^{k−1} v}`` and the largest eigenvalue of the ``k × k`` tridiagonal projection (the
top Ritz value) converges to ``λ_max`` much faster than power iteration, and to the largest
*algebraic* eigenvalue (power iteration finds the largest in magnitude, which can be a negative
one). Each seed stops when the residual of its top Ritz pair, ``‖Ay − θy‖``, is at most
``tolerance · |θ|`` (a bound on the distance from ``θ`` to an eigenvalue, read off the recurrence
for free), or after ``iterations`` products, so its result does not depend on the other seeds of its
job. It starts from the previous call's top Ritz vector when one is given (warm start): along a
training run the top eigenvector moves slowly, so later calls converge in a few products.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "SharpnessEstimator",
    "flat",
    "hessian_operator",
    "lanczos_top",
    "sharpness_at_init",
    "unflat",
]

Matvec = Callable[[torch.Tensor], torch.Tensor]


def flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stacked per-parameter tensors ``(S, …)`` → one ``(S, P)`` tensor (seed axis kept)."""
    return torch.cat([t.reshape(t.shape[0], -1) for t in tensors], dim=1)


def unflat(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Inverse of :func:`flat`: ``(S, P)`` → tensors shaped like ``like``."""
    out, start = [], 0
    for t in like:
        size = t[0].numel()
        out.append(vector[:, start : start + size].reshape(t.shape))
        start += size
    return out


def hessian_operator(
    loss: torch.Tensor,
    params: Sequence[torch.Tensor],
    preconditioner: Sequence[torch.Tensor] | None = None,
) -> Matvec:
    """``v ↦ A v`` on stacked flat vectors ``(S, P)`` with ``A = ∇²loss`` (per seed, block-diagonal),
    or ``A = P^{-1/2} ∇²loss P^{-1/2}`` with a diagonal ``preconditioner`` (stacked like ``params``).

    ``loss`` is the *sum* over seeds of each seed's loss, built from ``params`` with autograd on.
    """
    grads = torch.autograd.grad(loss, params, create_graph=True)
    scale = None if preconditioner is None else flat(preconditioner).rsqrt()

    def matvec(v: torch.Tensor) -> torch.Tensor:
        if scale is not None:
            v = v * scale
        # Hv = ∇(g·v); a scalar output keeps autograd's grad_outputs checks (and their imports) away
        dot = sum((g * u).sum() for g, u in zip(grads, unflat(v, params)))
        hv = torch.autograd.grad(dot, params, retain_graph=True)
        out = flat([h.detach() for h in hv])
        return out * scale if scale is not None else out

    return matvec


def _top_ritz(alpha: np.ndarray, beta: np.ndarray) -> tuple[float, np.ndarray]:
    """Largest eigenvalue of the symmetric tridiagonal matrix (``alpha`` diagonal, ``beta`` off) and
    its eigenvector."""
    k = alpha.size
    tri = np.diag(alpha)
    if k > 1:
        tri += np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    values, vectors = np.linalg.eigh(tri)
    return float(values[-1]), vectors[:, -1]


def lanczos_top(
    matvec: Matvec,
    start: torch.Tensor,
    iterations: int = 20,
    tolerance: float = 1e-4,
) -> tuple[np.ndarray, torch.Tensor, int]:
    """Top eigenvalue of a symmetric operator, per seed, by Lanczos with full reorthogonalization.

    Each seed runs its own recurrence and stops on its own (converged, or its Krylov space became
    invariant); a stopped seed is carried along with a zero vector until all have stopped. So a
    seed's result does not depend on the other seeds of the batch.

    Args:
        matvec: ``(S, P) → (S, P)``, symmetric per seed (block-diagonal over seeds).
        start: ``(S, P)`` starting vectors (any nonzero scale; normalized here).
        iterations: the most products per seed (the largest Krylov dimension).
        tolerance: a seed stops when its top Ritz pair's residual ``‖Ay − θy‖`` is at most
            ``tolerance · |θ|``.

    Returns:
        ``(values, vectors, products)``: the top Ritz value per seed ``(S,)`` (float64; NaN where
        the operator was not finite), the normalized top Ritz vectors ``(S, P)`` (to warm-start the
        next call), and the number of batched operator products.
    """
    seeds, size = start.shape
    iterations = max(1, min(iterations, size))
    q = start / start.norm(dim=1, keepdim=True)
    basis = torch.zeros((iterations, seeds, size), dtype=start.dtype, device=start.device)
    alpha = np.zeros((seeds, iterations))
    beta = np.zeros((seeds, iterations))
    length = np.zeros(seeds, dtype=np.int64)  # Krylov dimension reached by each seed
    active = np.ones(seeds, dtype=bool)  # seeds still iterating
    top = np.full(seeds, np.nan)
    coefficients: list[np.ndarray] = [np.zeros(1)] * seeds
    products = 0
    for j in range(iterations):
        basis[j] = q
        w = matvec(q)
        products += 1
        a = (w * q).sum(dim=1)
        # full reorthogonalization against the whole basis (twice is enough: Kahan's rule)
        for _ in range(2):
            overlap = torch.einsum("jsp,sp->js", basis[: j + 1], w)
            w = w - torch.einsum("js,jsp->sp", overlap, basis[: j + 1])
        b = w.norm(dim=1)
        a_np, b_np = a.detach().to("cpu", torch.float64).numpy(), b.to("cpu", torch.float64).numpy()
        for s in np.flatnonzero(active):
            if not (np.isfinite(a_np[s]) and np.isfinite(b_np[s])):  # a diverged run
                top[s], active[s] = np.nan, False
                continue
            alpha[s, j], beta[s, j] = a_np[s], b_np[s]
            length[s] = j + 1
            top[s], coefficients[s] = _top_ritz(alpha[s, : j + 1], beta[s, : j + 1])
            # residual of the top Ritz pair (θ, y): ‖A y − θ y‖ = β_j |last entry of its
            # tridiagonal eigenvector| (Golub & Van Loan, sec. 10.1.4); some eigenvalue lies within
            # it of θ
            residual = b_np[s] * abs(coefficients[s][-1])
            converged = residual <= tolerance * abs(top[s])
            # an (almost) invariant subspace: the Ritz values are exact, the recurrence ends
            invariant = b_np[s] <= 1e-12 * max(abs(top[s]), np.max(np.abs(alpha[s, : j + 1])))
            if converged or invariant:
                active[s] = False
        if not active.any():
            break
        safe = torch.as_tensor(np.where(active, b_np, 1.0), dtype=start.dtype, device=start.device)
        keep = torch.as_tensor(active, device=start.device).unsqueeze(1)
        q = torch.where(keep, w / safe.unsqueeze(1), torch.zeros_like(w))
    vectors = torch.zeros_like(start)
    for s in range(seeds):
        k = int(length[s])
        if k == 0 or not np.isfinite(top[s]):
            vectors[s] = start[s]  # nothing better to warm-start from
            continue
        c = torch.as_tensor(coefficients[s], dtype=start.dtype, device=start.device)
        vectors[s] = torch.einsum("j,jp->p", c, basis[:k, s])
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    return top, vectors, products


class SharpnessEstimator:
    """Top Hessian eigenvalue of the per-seed training loss, warm-started between calls.

    One estimator per operator (raw or preconditioned): each keeps its last top Ritz vector.
    """

    def __init__(self, generator_seed: int = 0) -> None:
        self.vector: torch.Tensor | None = None
        self.generator_seed = generator_seed
        self.products = 0  # operator products used so far (for cost accounting)

    def __call__(
        self,
        loss_fn: Callable[[], torch.Tensor],
        params: Sequence[torch.Tensor],
        iterations: int,
        tolerance: float,
        preconditioner: Sequence[torch.Tensor] | None = None,
    ) -> np.ndarray:
        with torch.enable_grad():
            matvec = hessian_operator(loss_fn(), params, preconditioner)
            start = self.vector
            if start is None:
                # one fixed pseudo-random start (numpy, float64) shared by every seed, so that a
                # seed's result depends neither on torch's RNG nor on the other seeds of its job
                size = sum(p[0].numel() for p in params)
                vector = np.random.default_rng(self.generator_seed).standard_normal(size)
                start = torch.as_tensor(
                    np.broadcast_to(vector, (params[0].shape[0], size)).copy(),
                    dtype=params[0].dtype,
                    device=params[0].device,
                )
            values, self.vector, used = lanczos_top(matvec, start, iterations, tolerance)
        self.products += used
        return values


def sharpness_at_init(
    setting: Mapping[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    init_rngs: Sequence[np.random.Generator],
    iterations: int = 60,
    tolerance: float = 1e-8,
    threads: int | None = 1,
) -> np.ndarray:
    """``λ_max`` of the Hessian of ``½·mean‖f(x) − y‖²`` at initial weights drawn by the harness's own
    model builder from ``init_rngs`` (one model per generator, stacked), float64; ``x``, ``y`` are
    one training set ``(n, d)`` shared by all, or one per generator ``(S, n, d)``. No training happens: this is
    what a predictor may compute from the spec (it draws its own initializations and data).

    ``threads``: torch's intra-op threads during the call (restored after); one thread is what the
    engine uses and avoids the large slowdowns of oversubscribed cores."""
    from ...components.data import Task
    from .models import build_model
    from .training import half_mse

    class _Shape(Task):
        d_in, d_out = x.shape[-1], y.shape[-1]

    count = len(init_rngs)
    dtype, device = torch.float64, torch.device("cpu")
    model = build_model(
        setting["model"], [_Shape()] * count, init_rngs, dtype, device, setting["optimizer"]["kind"]
    )
    xt = torch.as_tensor(x, dtype=dtype)
    yt = torch.as_tensor(y, dtype=dtype)
    estimator = SharpnessEstimator()
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return estimator(
            lambda: half_mse(model.forward(xt), yt).sum(), model.params, iterations, tolerance
        )
    finally:
        torch.set_num_threads(previous)
