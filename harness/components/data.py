"""Data generators: the population a benchmark trains on, in numpy float64.

A data generator (the ``setting.data`` block) builds a :class:`Task` from a random stream:
``draw(rng)`` makes one draw of the learning problem (for example a random teacher), and
``task.sample(n, rng)`` draws ``n`` labelled examples from it. The same code serves the measuring
engine (training data, with each seed's ``data``/``sgd`` streams) and the predictors (the
population handle of a :class:`~harness.predictor.Problem`, seeded apart from training), so theory
and measurement see the same distribution by construction and no framework is needed to sample it.

Tasks may offer *capabilities* that observables and predictors rely on:

- ``exact_linear_risk``: :meth:`Task.population_half_mse` gives the population loss of a linear map
  exactly (no test-set noise);
- ``finite_pool``: the population is the uniform distribution over a finite pool, returned by
  :meth:`Task.evaluation_set`, so a test error over the pool *is* the population error;
- ``teacher_svd``: :meth:`Task.teacher_svd` gives the singular value decomposition of a linear teacher;
- ``chunked_sampling``: ``sample(k * n)`` consumes the stream exactly like ``k`` calls of
  ``sample(n)``, so engines may draw many online batches at once;
- ``noise_free_labels``: :meth:`Task.noise_free` gives the labels without their noise,
  ``E[y | x]``, so a test loss can be measured without the label-noise floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..schema import Bool, Checker, Enum, Float, Int, ListOf, Param

__all__ = [
    "DataGenerator",
    "Digits",
    "GaussianLinear",
    "GaussianTanhTeacher",
    "SphereReluTeacher",
    "Task",
    "WhitenedLinearTeacher",
    "haar_orthogonal",
]


def haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed random orthogonal ``d × d`` matrix (QR of a Gaussian, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


class Task:
    """One draw of a learning problem. Subclasses implement :meth:`sample`.

    Attributes:
        d_in: input dimension.
        d_out: output dimension.
        noise_variance: variance of the label noise added to each output coordinate.
        capabilities: names of the optional methods this task supports (see module docstring).
    """

    d_in: int
    d_out: int
    noise_variance: float = 0.0
    capabilities: frozenset[str] = frozenset()

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` examples: inputs ``(n, d_in)`` and noisy labels ``(n, d_out)``, float64."""
        raise NotImplementedError

    def population_half_mse(self, weights: np.ndarray) -> np.ndarray:
        """Exact ``½ E‖W x − y‖²`` for linear maps ``weights`` of shape ``(..., d_out, d_in)``."""
        raise NotImplementedError(f"{type(self).__name__} has no exact linear risk")

    def evaluation_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole finite population: inputs and *noise-free* labels, each example weighted equally."""
        raise NotImplementedError(f"{type(self).__name__} is not a finite pool")

    def noise_free(self, x: np.ndarray) -> np.ndarray:
        """The noise-free labels ``E[y | x]`` of inputs ``x`` ``(..., d_in)``: ``(..., d_out)``."""
        raise NotImplementedError(f"{type(self).__name__} has no noise-free labels")

    def teacher_svd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(U, s, V)`` with teacher ``T = U diag(s) Vᵀ``; ``U: (d_out, r)``, ``V: (d_in, r)``."""
        raise NotImplementedError(f"{type(self).__name__} has no linear teacher")


class DataGenerator:
    """Base class of the ``setting.data`` components.

    Subclasses declare ``kind``, ``PARAMS`` (the YAML schema) and ``capabilities``, and implement
    :meth:`draw`.
    """

    kind: ClassVar[str]
    PARAMS: ClassVar[dict[str, Param]]
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = {k: v for k, v in params.items() if k != "kind"}

    def draw(self, rng: np.random.Generator | None) -> Task:
        """One draw of the problem; data generators with a fixed teacher ignore ``rng``."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# Gaussian linear regression with power-law spectrum (online SGD benchmarks)


class _GaussianLinearTask(Task):
    capabilities = frozenset({"exact_linear_risk", "chunked_sampling"})

    def __init__(self, eigenvalues: np.ndarray, teacher: np.ndarray, noise_std: float) -> None:
        self.eigenvalues = eigenvalues
        self.teacher = teacher
        self.noise_std = noise_std
        self.noise_variance = noise_std**2
        self.d_in = eigenvalues.size
        self.d_out = 1
        self._scale = np.sqrt(eigenvalues)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        # One array per call (inputs and the noise in its last column) keeps chunked draws identical
        # to consecutive ones.
        z = rng.standard_normal((n, self.d_in + 1))
        x = z[:, : self.d_in] * self._scale
        y = x @ self.teacher + self.noise_std * z[:, self.d_in]
        return x, y[:, None]

    def population_half_mse(self, weights: np.ndarray) -> np.ndarray:
        err = np.asarray(weights)[..., 0, :] - self.teacher
        return 0.5 * (np.sum(self.eigenvalues * err**2, axis=-1) + self.noise_variance)


class GaussianLinear(DataGenerator):
    """Gaussian inputs with a power-law covariance and a fixed linear teacher.

    ``x ~ N(0, Λ)``, ``Λ = diag(λ_k)``, ``λ_k = k^{-b}`` (``b`` = ``spectrum_exponent``), ``k = 1..d``;
    ``y = w*·x + σ ε`` with ``λ_k w*_k² = k^{-a}`` (``a`` = ``target_exponent``, all ``w*_k > 0``) and
    ``ε ~ N(0, 1)``. The population loss of a linear predictor ``w`` is exact:
    ``½[(w − w*)ᵀ Λ (w − w*) + σ²]``. Setting of Bordelon & Pehlevan 2022 and Paquette et al. 2021.
    With ``signal_variance`` the teacher is rescaled so that ``E[(w*·x)²] = Σ_k λ_k w*_k²`` equals it
    (``b = a = 0`` and ``signal_variance: 1`` is isotropic data with ``w*_k = 1/√d``, ``‖w*‖ = 1``).
    """

    kind = "gaussian_linear"
    capabilities = _GaussianLinearTask.capabilities
    PARAMS = {
        "d": Param(Int(ge=1), doc="input dimension"),
        "spectrum_exponent": Param(Float(ge=0), doc="b in λ_k = k^-b (0: isotropic)"),
        "target_exponent": Param(Float(ge=0), doc="a in λ_k w*_k² = k^-a"),
        "noise_std": Param(Float(ge=0), 0.0, doc="label noise σ"),
        "signal_variance": Param(
            Float(gt=0), None, doc="if given, rescale w* so that Σ_k λ_k w*_k² equals it"
        ),
    }

    @cached_property
    def _task(self) -> _GaussianLinearTask:
        k = np.arange(1, self.params["d"] + 1, dtype=np.float64)
        eigenvalues = k ** (-self.params["spectrum_exponent"])
        teacher = np.sqrt(k ** (-self.params["target_exponent"]) / eigenvalues)
        if self.params.get("signal_variance") is not None:
            teacher *= np.sqrt(self.params["signal_variance"] / np.sum(eigenvalues * teacher**2))
        return _GaussianLinearTask(eigenvalues, teacher, self.params["noise_std"])

    def draw(self, rng: np.random.Generator | None) -> Task:
        return self._task


# --------------------------------------------------------------------------------------------
# Whitened inputs and a random-orthogonal linear teacher (deep linear networks)


class _WhitenedTeacherTask(Task):
    capabilities = frozenset({"exact_linear_risk", "teacher_svd"})

    def __init__(self, u: np.ndarray, s: np.ndarray, v: np.ndarray, noise_std: float) -> None:
        self.u, self.s, self.v = u, s, v
        self.teacher = (u * s) @ v.T
        self.d_out, self.d_in = self.teacher.shape
        self.noise_std = noise_std
        self.noise_variance = noise_std**2

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if n < self.d_in:
            raise ValueError(f"exact whitening needs at least d_in={self.d_in} samples, got {n}")
        z = rng.standard_normal((n, self.d_in))
        chol = np.linalg.cholesky(z.T @ z / n)
        x = np.linalg.solve(chol, z.T).T  # x = z L^{-T}, so xᵀx/n = I exactly (to rounding)
        y = x @ self.teacher.T
        if self.noise_std > 0:
            y = y + self.noise_std * rng.standard_normal((n, self.d_out))
        return x, y

    def population_half_mse(self, weights: np.ndarray) -> np.ndarray:
        err = np.asarray(weights) - self.teacher
        return 0.5 * (np.sum(err**2, axis=(-2, -1)) + self.d_out * self.noise_variance)

    def teacher_svd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.u, self.s, self.v


class WhitenedLinearTeacher(DataGenerator):
    """Exactly whitened Gaussian inputs and a linear teacher with prescribed singular values.

    Each draw picks Haar-random orthogonal ``U`` (``d_out × d_out``) and ``V`` (``d_in × d_in``) and
    sets ``T = U_r diag(s) V_rᵀ`` with the first ``r = len(singular_values)`` columns. A training set
    of ``n`` inputs is whitened exactly, ``X ← Z L^{-T}`` with ``L Lᵀ = ZᵀZ/n``, so ``XᵀX/n = I``
    and full-batch gradient descent decouples into the teacher's singular modes (Saxe, McClelland
    & Ganguli 2014, section 2).
    """

    kind = "whitened_linear_teacher"
    capabilities = _WhitenedTeacherTask.capabilities
    PARAMS = {
        "d_in": Param(Int(ge=1), doc="input dimension"),
        "d_out": Param(Int(ge=1), doc="output dimension"),
        "singular_values": Param(
            ListOf(Float(ge=0), min_len=1), doc="the teacher's singular values s_1..s_r"
        ),
        "noise_std": Param(Float(ge=0), 0.0, doc="label noise σ"),
    }

    @classmethod
    def check_params(cls, params: dict[str, Any], path: str, checker: Checker) -> None:
        r = len(params["singular_values"])
        if r > min(params["d_in"], params["d_out"]):
            checker.issue(
                f"{path}.singular_values",
                f"has {r} values but min(d_in, d_out) = {min(params['d_in'], params['d_out'])}",
            )

    def draw(self, rng: np.random.Generator | None) -> Task:
        if rng is None:
            raise ValueError("whitened_linear_teacher draws a random teacher: pass a random stream")
        p = self.params
        r = len(p["singular_values"])
        u = haar_orthogonal(p["d_out"], rng)[:, :r]
        v = haar_orthogonal(p["d_in"], rng)[:, :r]
        return _WhitenedTeacherTask(
            u, np.asarray(p["singular_values"], dtype=np.float64), v, p["noise_std"]
        )


# --------------------------------------------------------------------------------------------
# Finite pools (kernel regression): the population is the uniform distribution over the pool


class PoolTask(Task):
    """A finite population: ``sample`` draws pool points uniformly *with replacement* (i.i.d.), or,
    with ``replace=False``, ``n`` distinct points in random order (``n`` at most the pool size)."""

    capabilities = frozenset({"finite_pool"})

    def __init__(
        self, x: np.ndarray, y: np.ndarray, noise_std: float, replace: bool = True
    ) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.y = np.ascontiguousarray(y, dtype=np.float64).reshape(len(x), -1)
        self.d_in = self.x.shape[1]
        self.d_out = self.y.shape[1]
        self.noise_std = noise_std
        self.noise_variance = noise_std**2
        self.replace = replace

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if self.replace:
            idx = rng.integers(0, len(self.x), size=n)
        elif n > len(self.x):
            raise ValueError(f"cannot draw {n} distinct points from a pool of {len(self.x)}")
        else:
            idx = rng.permutation(len(self.x))[:n]
        y = self.y[idx]
        if self.noise_std > 0:
            y = y + self.noise_std * rng.standard_normal(y.shape)
        return self.x[idx], y

    def evaluation_set(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, self.y


class SphereReluTeacher(DataGenerator):
    """A pool of points uniform on the sphere of radius √d, labelled by a random ReLU teacher.

    The teacher is ``f*(x) = Σ_j a_j ReLU(w_j·x/√d)`` with ``w_j ~ N(0, I_d)``, ``a_j ~ N(0, 1)``,
    ``j = 1..teacher_width``, rescaled so that its mean square over the pool is 1. Pool and teacher
    are fixed by ``seed``; the population is the uniform distribution over the pool, so the test
    error over the pool is the exact population error (no test-set noise).
    """

    kind = "sphere_relu_teacher"
    capabilities = PoolTask.capabilities
    PARAMS = {
        "d": Param(Int(ge=1), doc="input dimension"),
        "pool_size": Param(Int(ge=1), doc="number of points in the population"),
        "teacher_width": Param(Int(ge=1), 3, doc="hidden units of the ReLU teacher"),
        "noise_std": Param(Float(ge=0), 0.0, doc="label noise σ"),
        "seed": Param(Int(ge=0), 0, doc="seed of the pool and the teacher (part of the setting)"),
    }

    @cached_property
    def _task(self) -> PoolTask:
        p = self.params
        rng = np.random.default_rng([p["seed"], 0x5EED])
        z = rng.standard_normal((p["pool_size"], p["d"]))
        x = np.sqrt(p["d"]) * z / np.linalg.norm(z, axis=1, keepdims=True)
        w = rng.standard_normal((p["teacher_width"], p["d"]))
        a = rng.standard_normal(p["teacher_width"])
        f = np.maximum(x @ w.T / np.sqrt(p["d"]), 0.0) @ a
        f = f / np.sqrt(np.mean(f**2))
        return PoolTask(x, f, p["noise_std"])

    def draw(self, rng: np.random.Generator | None) -> Task:
        return self._task


class Digits(DataGenerator):
    """scikit-learn's bundled ``load_digits`` (1,797 8×8 images) as a finite population.

    Inputs are the 64 pixel values divided by ``scale`` (16 maps them to [0, 1]); with
    ``standardize: true`` each pixel is instead shifted and scaled to mean 0 and variance 1 over the
    population (pixels that are constant there are left at 0). ``subset: N`` keeps only the first
    ``N`` images (in the file's order) as the population. Targets: ``parity`` gives ±1 for even/odd
    digits; ``onehot`` gives the 10-dimensional one-hot vector of the digit (0/1 entries).
    ``label_flip`` replaces the class of that fraction of the population, chosen once by
    ``flip_seed``, with a uniformly random *other* class (parity: the other sign) — persistent label
    noise that the population keeps (its labels are the flipped ones). ``replace: false`` draws a
    training set of distinct images (a random subset; ``train_size`` equal to the population size
    then trains on all of it) instead of i.i.d. with replacement. The data ship inside
    scikit-learn; nothing is downloaded.
    """

    kind = "digits"
    capabilities = PoolTask.capabilities
    PARAMS = {
        "target": Param(Enum(("parity", "onehot")), "parity", doc="what to predict"),
        "scale": Param(Float(gt=0), 16.0, doc="divide pixel values by this"),
        "noise_std": Param(Float(ge=0), 0.0, doc="label noise σ"),
        "subset": Param(Int(ge=0, le=1797), 0, doc="use only the first N images (0: all 1,797)"),
        "standardize": Param(
            Bool(), False, doc="z-score each pixel over the population (instead of /scale)"
        ),
        "replace": Param(
            Bool(), True, doc="draw training examples with replacement (false: distinct images)"
        ),
        "label_flip": Param(
            Float(ge=0, lt=1), 0.0, doc="fraction of the population whose class is replaced"
        ),
        "flip_seed": Param(Int(ge=0), 0, doc="seed of the flipped labels (part of the setting)"),
    }

    @cached_property
    def _task(self) -> PoolTask:
        from sklearn.datasets import load_digits  # bundled data; lazy import

        p = self.params
        digits = load_digits()
        count = p.get("subset", 0) or len(digits.target)
        pixels = digits.data[:count].astype(np.float64)
        labels = digits.target[:count].astype(np.int64)
        if p.get("standardize", False):
            std = pixels.std(axis=0)
            x = (pixels - pixels.mean(axis=0)) / np.where(std > 0, std, 1.0)
        else:
            x = pixels / p["scale"]
        flip = p.get("label_flip", 0.0)
        if flip > 0:
            rng = np.random.default_rng([p["flip_seed"], 0xF11B])
            chosen = rng.random(labels.size) < flip
            if p["target"] == "parity":
                # move to a random digit of the other parity: the parity label changes sign
                other = 2 * rng.integers(0, 5, size=labels.size) + (1 - labels % 2)
            else:
                other = (labels + rng.integers(1, 10, size=labels.size)) % 10
            labels = np.where(chosen, other, labels)
        y = np.eye(10)[labels] if p["target"] == "onehot" else np.where(labels % 2 == 0, 1.0, -1.0)
        return PoolTask(x, y, p["noise_std"], replace=p.get("replace", True))

    def draw(self, rng: np.random.Generator | None) -> Task:
        return self._task


# --------------------------------------------------------------------------------------------
# Nonlinear teacher regression (reference MLP, hyperparameter benchmarks)


class _TanhTeacherTask(Task):
    capabilities = frozenset({"chunked_sampling", "noise_free_labels"})

    def __init__(
        self, directions: np.ndarray, coefficients: np.ndarray, gain: float, noise_std: float
    ) -> None:
        self.directions = directions
        self.coefficients = coefficients
        self.gain = gain
        self.noise_std = noise_std
        self.noise_variance = noise_std**2
        self.d_in = directions.shape[1]
        self.d_out = 1

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, self.d_in + 1))
        x = z[:, : self.d_in]
        return x, self.noise_free(x) + self.noise_std * z[:, self.d_in :]

    def noise_free(self, x: np.ndarray) -> np.ndarray:
        y = (
            np.tanh(self.gain * x @ self.directions.T)
            @ self.coefficients
            / np.sqrt(len(self.coefficients))
        )
        return y[..., None]


class GaussianTanhTeacher(DataGenerator):
    """``x ~ N(0, I_d)``, ``y = m^{-1/2} Σ_j c_j tanh(g u_j·x) + σ ε`` with unit vectors ``u_j``.

    A non-saturating regression task: ``u_j`` uniform on the unit sphere, ``c_j ~ N(0, 1)``, both
    fixed by ``seed``.
    """

    kind = "gaussian_tanh_teacher"
    capabilities = _TanhTeacherTask.capabilities
    PARAMS = {
        "d": Param(Int(ge=1), doc="input dimension"),
        "units": Param(Int(ge=1), 8, doc="number of tanh units m"),
        "gain": Param(Float(gt=0), 2.0, doc="g"),
        "noise_std": Param(Float(ge=0), 0.0, doc="label noise σ"),
        "seed": Param(Int(ge=0), 0, doc="seed of the teacher (part of the setting)"),
    }

    @cached_property
    def _task(self) -> _TanhTeacherTask:
        p = self.params
        rng = np.random.default_rng([p["seed"], 0x7A4])
        u = rng.standard_normal((p["units"], p["d"]))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        c = rng.standard_normal(p["units"])
        return _TanhTeacherTask(u, c, p["gain"], p["noise_std"])

    def draw(self, rng: np.random.Generator | None) -> Task:
        return self._task
