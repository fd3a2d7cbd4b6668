"""Checks of the two-layer ReLU NTK (``harness.components.kernels.ReluNTK``, numpy float64).

Definition (Jacot, Gabriel & Hongler 2018; Arora et al. 2019, eq. 4 with one hidden layer): the NTK of
``f(x) = N^{-1/2} Σ_j a_j ReLU(w_j·x/√d)``, ``a_j, w_j ~ N(0, 1)`` i.i.d., both layers trained:
``Θ = K1 + G·K0`` with ``G = x·x'/d``, ``K1 = √(G(x,x)G(x',x')) (sin θ + (π − θ) cos θ)/(2π)``,
``K0 = (π − θ)/(2π)``. Compared with: the torch engine's kernel, the empirical NTK of a wide network
(explicit Jacobian), positive semidefiniteness and closed-form special angles.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.components.kernels import ReluNTK


@pytest.fixture(scope="module", autouse=True)
def _single_threaded_blas():
    """One BLAS thread (the empirical NTK's Jacobian products): OpenBLAS's two threads spin-wait badly
    when other processes load the 2-core machine."""
    try:  # threadpoolctl is a dependency of scikit-learn, hence of theorybench
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _inputs(seed: int, m: int, d: int) -> np.ndarray:
    """Gaussian inputs with row norms spread over a factor ~10 (the kernel is not only on the sphere)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, d)) * np.exp(rng.uniform(-1.2, 1.2, size=(m, 1)))


# ---------------------------------------------------------------------------------------------
# (a) numpy vs torch


def test_numpy_kernel_equals_torch_kernel() -> None:
    """``ReluNTK`` vs ``harness.engines.torch.kernels.relu_ntk`` in float64 on random pairs: 1e-12 relative
    to the kernel's scale (both evaluate the same closed form; for points at an angle θ not close to
    0 or π, arccos is well conditioned and the results differ by a few ulps)."""
    torch = pytest.importorskip("torch")
    from harness.engines.torch.kernels import relu_ntk

    x1, x2 = _inputs(0, 7, 6), _inputs(1, 9, 6)
    expected = ReluNTK()(x1, x2)
    got = relu_ntk(
        torch.tensor(x1, dtype=torch.float64), torch.tensor(x2, dtype=torch.float64)
    ).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


def test_numpy_kernel_equals_torch_kernel_on_coincident_and_zero_points() -> None:
    """Same comparison on the diagonal (θ = 0), for antipodal points (θ = π) and a zero input.

    At θ ≈ 0 the closed form is ill conditioned: ρ = 1 − δ gives θ ≈ √(2δ), so one ulp of ρ (1.1e-16)
    moves θ by up to ~1.5e-8 and ``G·K0`` by ~G·2.4e-9. The two libraries may round ``x·x`` differently
    (different summation order), so the tolerance there is 1e-8 relative, the √ulp scale; everything
    else must still agree to 1e-12.
    """
    torch = pytest.importorskip("torch")
    from harness.engines.torch.kernels import relu_ntk

    x = _inputs(2, 6, 6)
    x = np.vstack([x, -x[:2], np.zeros((1, 6))])
    expected = ReluNTK()(x, x)
    got = relu_ntk(torch.tensor(x), torch.tensor(x)).numpy()
    scale = np.abs(expected).max()
    diagonal = np.eye(len(x), dtype=bool)
    np.testing.assert_allclose(got[diagonal], expected[diagonal], rtol=1e-8, atol=1e-12 * scale)
    np.testing.assert_allclose(got[~diagonal], expected[~diagonal], rtol=1e-12, atol=1e-12 * scale)
    assert np.all(expected[-1] == 0) and np.all(got[-1] == 0)  # zero input: kernel row is 0


# ---------------------------------------------------------------------------------------------
# (b) empirical NTK of a wide network


def empirical_ntk(
    x: np.ndarray, width: int, seed: int, chunk: int = 20_000
) -> tuple[np.ndarray, np.ndarray]:
    """Empirical NTK ``Σ_θ ∂f/∂θ(x) ∂f/∂θ(x')`` of ``f(x) = N^{-1/2} Σ_j a_j ReLU(w_j·x/√d)`` at a random init,
    from the explicit Jacobian, and the standard error of each entry.

    Parameters per hidden unit: ``a_j`` with ``∂f/∂a_j = N^{-1/2} ReLU(h_j)`` and ``w_j`` with
    ``∂f/∂w_j = N^{-1/2} a_j 1[h_j > 0] x/√d``, ``h_j = w_j·x/√d``. The kernel is the mean over units of the
    per-unit terms ``t_j(x, x') = N (J_j(x)·J_j(x'))``, i.i.d. across units, so its standard error is the
    per-unit sample standard deviation over √N. Chunked over units to bound memory.
    """
    rng = np.random.default_rng(seed)
    m, d = x.shape
    total = np.zeros((m, m))
    total_sq = np.zeros((m, m))
    for start in range(0, width, chunk):
        n = min(chunk, width - start)
        w = rng.standard_normal((n, d))
        a = rng.standard_normal(n)
        h = x @ w.T / math.sqrt(d)  # (m, n)
        jac_a = np.maximum(h, 0.0) / math.sqrt(width)  # (m, n)
        jac_w = ((a * (h > 0)) / math.sqrt(width))[:, :, None] * (x / math.sqrt(d))[
            :, None, :
        ]  # (m, n, d)
        jacobian = np.concatenate([jac_a, jac_w.reshape(m, n * d)], axis=1)  # (m, n(d + 1))
        total += jacobian @ jacobian.T
        per_unit = width * (
            jac_a[:, None, :] * jac_a[None, :, :] + np.einsum("xnk,ynk->xyn", jac_w, jac_w)
        )  # (m, m, n): t_j(x, x')
        total_sq += np.sum(per_unit**2, axis=2)
    mean = total  # Σ_j J_j J_jᵀ = (1/N) Σ_j t_j
    variance = total_sq / width - mean**2
    return mean, np.sqrt(np.maximum(variance, 0.0) * width / (width - 1) / width)


WIDTH = 200_000
# Tolerance: each entry's error is a mean of 200 000 i.i.d. per-unit terms, so z = (empirical −
# analytic)/s.e. is N(0, 1) to excellent accuracy (CLT; the terms have all moments). With 8 points
# there are 36 distinct entries: P(max|z| > 4.5) ≤ 36 · 6.8e-6 ≈ 2.4e-4. The s.e. is 0.07–0.4 % of
# each entry's natural scale √(Θ(x,x)Θ(x',x')) here (relative error c/√N with c ≈ 0.3–1.7), so the
# comparison resolves differences of ≲ 1.8 % — the same 1/√N law as neural-tangents' ~4 % at N = 1024.
# (Measured: max|z| = 2.2; the wrong kernels of the power test sit at |z| = 65–132.)
Z_MAX = 4.5


@pytest.fixture(scope="module")
def wide_network_ntk() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = _inputs(3, 8, 5)
    x[1] = math.sqrt(5) * x[1] / np.linalg.norm(x[1])  # one point on the sphere of radius √d
    x[2] = 2.0 * x[3] + 0.05 * x[4]  # a near-parallel pair (θ small)
    mean, se = empirical_ntk(x, WIDTH, seed=7)
    return x, mean, se


def test_empirical_ntk_of_wide_network(wide_network_ntk) -> None:
    """Empirical NTK at N = 200 000 (explicit Jacobian) vs ``ReluNTK``: every entry within 4.5 s.e."""
    x, mean, se = wide_network_ntk
    analytic = ReluNTK()(x, x)
    assert np.all(se > 0)
    scale = np.sqrt(
        np.outer(np.diag(analytic), np.diag(analytic))
    )  # Θ changes sign: use √(Θ(x,x)Θ(x',x'))
    assert (
        np.max(se / scale) < 0.005
    )  # the check resolves every entry to ≲ 2 % of its natural scale
    z = (mean - analytic) / se
    assert np.max(np.abs(z[np.triu_indices(len(x))])) < Z_MAX, np.round(z, 2)


def test_empirical_ntk_rejects_wrong_kernels(wide_network_ntk) -> None:
    """Power: the readout-only kernel ``K1`` (NNGP), ``K1 + G·K0/2`` and ``K1 + 2G·K0`` are rejected by the
    same empirical kernel (max|z| > 4.5), so the test can fail on a wrong coefficient or a missing term."""
    from harness.components.kernels import arccos_kernels

    x, mean, se = wide_network_ntk
    g, k1, k0 = arccos_kernels(x, x)
    for wrong in (k1, k1 + 0.5 * g * k0, k1 + 2 * g * k0):
        assert np.max(np.abs((mean - wrong) / se)) > Z_MAX


# ---------------------------------------------------------------------------------------------
# (c), (d) PSD and special angles


def test_kernel_is_positive_semidefinite() -> None:
    """Gram matrix of 300 random points in d = 10: min eigenvalue ≥ −1e-10 · max eigenvalue (eigh is
    backward stable, so a PSD matrix can show negative eigenvalues only at the ~1e-16 · ‖K‖ · m scale)."""
    x = _inputs(4, 300, 10)
    gram = ReluNTK()(x, x)
    np.testing.assert_allclose(gram, gram.T, rtol=0, atol=1e-15 * np.abs(gram).max())
    eigenvalues = np.linalg.eigvalsh(gram)
    assert eigenvalues.min() >= -1e-10 * eigenvalues.max()


# The diagonal is computed through θ = arccos(G/√(G G)), which is ill conditioned at ρ = 1: rounding
# leaves ρ = 1 − k·1.1e-16 (k a few ulps), so θ = √(2kε) ≈ 1.5e-8·√k instead of 0 and K0 = (π − θ)/(2π)
# drops by θ/(2π) ≈ 2.4e-9·√k (K1 is flat there: ∂K1/∂θ ∝ θ). Measured: Θ(x, x) = 1 − 3.4e-9 on the
# sphere (k = 2). So the diagonal is exact only to ~√ε, and 1e-8 is the justified tolerance; a
# formula error (a missing factor ½, K0 = (π − θ)/π, ...) would be off by O(1).
DIAGONAL_RTOL = 1e-8


def test_diagonal_on_the_sphere_is_one() -> None:
    """On the sphere of radius √d: G = 1, θ = 0, so K1 = (0 + π·1)/(2π) = 1/2, K0 = π/(2π) = 1/2 and
    Θ(x, x) = 1/2 + 1·1/2 = 1. Off the sphere Θ(x, x) = ‖x‖²/d (K1 = G/2, G·K0 = G/2). Tolerance: the
    √ε conditioning of arccos at θ = 0 (comment above), not 1e-14."""
    d = 7
    x = _inputs(5, 20, d)
    on_sphere = math.sqrt(d) * x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(np.diag(ReluNTK()(on_sphere, on_sphere)), 1.0, rtol=DIAGONAL_RTOL)
    np.testing.assert_allclose(
        np.diag(ReluNTK()(x, x)), np.sum(x**2, axis=1) / d, rtol=DIAGONAL_RTOL
    )


def test_orthogonal_and_antipodal_pairs() -> None:
    """θ = π/2: K1 = n n'/(2π), K0 = 1/4, G = 0 ⇒ Θ = n n'/(2π) (n = ‖x‖/√d); θ = π: K1 = K0 = 0 ⇒ Θ = 0."""
    x = np.array([[3.0, 0.0, 0.0, 0.0]])  # d = 4: n = 3/2 and n' = 2/2
    y = np.array([[0.0, 0.0, 2.0, 0.0]])
    expected = (3.0 / 2.0) * (2.0 / 2.0) / (2 * math.pi)
    assert ReluNTK()(x, y)[0, 0] == pytest.approx(expected, rel=1e-14)
    assert ReluNTK()(x, -0.5 * x)[0, 0] == pytest.approx(0.0, abs=1e-15)
