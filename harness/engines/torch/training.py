"""Training loops of the torch engine: iterative (gd, sgd) and closed form (ridge_solve).

The iterative loop, per step ``t = 0..steps``: let observers record at ``t`` (before the update,
so step 0 is the initialization and step ``steps`` the trained model), then take one optimizer step
on ``½·mean‖f(x) − y‖²`` of the step's batch. Seeds are stacked; the summed loss has the per-seed
gradients because no operation mixes seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ...components.data import Task
from ...components.quantities import Observer
from ...registry import Registry
from .curvature import SharpnessEstimator
from .kernels import make_kernel
from .models import StackedModel, build_model
from .optim import make_optimizer

__all__ = ["CLOSED_FORM", "fit_closed_form", "fit_kernel_ridge", "train_iterative"]

ONLINE_CHUNK = 64  # online batches drawn per call when the task allows chunked sampling


class ModelProbe:
    """The :class:`~harness.components.quantities.Probe` of stacked torch models."""

    def __init__(
        self,
        model: StackedModel,
        dtype: torch.dtype,
        device: torch.device,
        optimizer: Any = None,
        train: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        self.model, self.dtype, self.device, self.optimizer = model, dtype, device, optimizer
        self.train = train
        self._estimators: dict[str, SharpnessEstimator] = {}

    def end_to_end(self) -> np.ndarray:
        with torch.no_grad():
            return self.model.end_to_end().detach().to("cpu", torch.float64).numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = self.model.forward(torch.as_tensor(x, dtype=self.dtype, device=self.device))
            return out.to("cpu", torch.float64).numpy()

    def predict_each(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x)  # a stacked input (S, n, d) already pairs seed s with model s

    def train_set(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.train is None:
            return None
        return tuple(t.to("cpu", torch.float64).numpy() for t in self.train)  # type: ignore[return-value]

    def sharpness(
        self, iterations: int = 20, tolerance: float = 1e-4, preconditioned: bool = False
    ) -> np.ndarray:
        """Top eigenvalue of the Hessian of each seed's training loss ``½·mean‖f(x) − y‖²`` over its
        whole training set (weight decay not included), shape ``(S,)``; with ``preconditioned``,
        of ``P^{-1/2} H P^{-1/2}`` with the optimizer's current diagonal preconditioner ``P`` (Adam:
        ``(1 − β₁ᵗ)(√v̂ + ε)``). Lanczos on Hessian-vector products, batched over the stacked seeds,
        warm-started from the previous call's top eigenvector (see :mod:`.curvature`)."""
        if self.train is None:
            raise ValueError("sharpness needs a finite training set (train_size: online has none)")
        preconditioner = None
        if preconditioned:
            if not hasattr(self.optimizer, "preconditioner"):
                raise ValueError(
                    f"the optimizer {self.optimizer.spec['kind']!r} has no preconditioner"
                )
            if self.optimizer.steps == 0:
                raise ValueError("Adam's preconditioner is undefined before its first step")
            preconditioner = self.optimizer.preconditioner()
        key = "preconditioned" if preconditioned else "hessian"
        if key not in self._estimators:
            self._estimators[key] = SharpnessEstimator()
        x, y = self.train
        return self._estimators[key](
            lambda: half_mse(self.model.forward(x), y).sum(),
            self.model.params,
            iterations,
            tolerance,
            preconditioner,
        )

    def layers(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Each layer's weight ``(S, fan_out, fan_in)`` and bias ``(S, fan_out)`` (or ``None``), in
        order from the input, float64 (models made of linear layers: ``linear``, ``deep_linear``,
        ``mlp``); copies, not views of the weights that training updates in place."""
        weights = getattr(self.model, "weights", None)
        biases = getattr(self.model, "biases", None)
        if weights is None:
            weights, biases = self.model.params, [None] * len(self.model.params)
        with torch.no_grad():
            return [
                (
                    w.detach().to("cpu", torch.float64).numpy().copy(),
                    None if b is None else b.detach().to("cpu", torch.float64).numpy().copy(),
                )
                for w, b in zip(weights, biases)
            ]

    def weight_matrices(self) -> list[np.ndarray]:
        """The model's weight matrices, each ``(S, fan_out, fan_in)`` float64, input layer first
        (biases excluded): what norm and angular-update observables read."""
        weights = getattr(self.model, "weights", self.model.params)
        with torch.no_grad():
            return [
                w.detach().to("cpu", torch.float64).numpy().copy() for w in weights if w.dim() == 3
            ]

    def parameters(self) -> list[np.ndarray]:
        """The trained parameters as float64 numpy arrays, each ``(S, ...)``."""
        return [p.detach().to("cpu", torch.float64).numpy() for p in self.model.params]

    def preactivations(self, x: np.ndarray) -> list[np.ndarray]:
        """Pre-activations of every layer (the last is the output), each ``(S, n, width)``."""
        if not hasattr(self.model, "preactivations"):
            raise NotImplementedError(f"{type(self.model).__name__} does not expose its layers")
        with torch.no_grad():
            layers = self.model.preactivations(
                torch.as_tensor(x, dtype=self.dtype, device=self.device)
            )
            return [h.to("cpu", torch.float64).numpy() for h in layers]

    def ntk_max_eigenvalue(self, x: np.ndarray | None = None) -> np.ndarray:
        """``λ_max(J P Jᵀ)/n`` per seed: ``J`` the Jacobian of the outputs on ``x`` (default: each
        seed's training set) with respect to every parameter, ``P`` the per-parameter learning-rate
        factors (1 unless the parameterization scales them), ``n`` the number of inputs; shape ``(S,)``."""
        return ntk_max_eigenvalue(self.model, self._inputs(x))

    def _inputs(self, x: np.ndarray | None) -> torch.Tensor:
        if x is not None:
            return torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if self.train is None:
            raise ValueError("online training has no training set: pass the inputs")
        return self.train[0]


def empirical_ntk(model: StackedModel, x: torch.Tensor) -> torch.Tensor:
    """Per-seed empirical NTK ``Θ = J P Jᵀ`` on inputs ``x`` (``(n, d)`` shared or ``(S, n, d)``),
    shape ``(S, n·d_out, n·d_out)`` (rows ordered example-major), ``P`` the learning-rate factors.

    One backward pass per output row; the seeds' rows come out of the same pass because no operation
    mixes seeds. Cost: ``n·d_out`` backward passes and ``S·(n·d_out)²·P`` flops for the products.
    """
    params = model.params  # leaf tensors that require grad (updated in place under no_grad)
    with torch.enable_grad():
        out = model.forward(x)  # (S, n, d_out)
        s, n, d_out = out.shape
        rows = out.reshape(s, n * d_out)
        jacobians = [
            torch.zeros((s, n * d_out, p[0].numel()), dtype=p.dtype, device=p.device)
            for p in params
        ]
        for r in range(n * d_out):
            grads = torch.autograd.grad(
                rows[:, r].sum(), params, retain_graph=r < n * d_out - 1, allow_unused=True
            )
            for jacobian, g in zip(jacobians, grads):
                if g is not None:
                    jacobian[:, r] = g.reshape(s, -1)
    gram = torch.zeros((s, n * d_out, n * d_out), dtype=out.dtype, device=out.device)
    for jacobian, factor in zip(jacobians, model.lr_factors):
        gram += factor * torch.matmul(jacobian, jacobian.transpose(-1, -2))
    return gram.detach()


def ntk_max_eigenvalue(model: StackedModel, x: torch.Tensor) -> np.ndarray:
    """``λ_max(Θ)/n`` per seed, ``Θ`` from :func:`empirical_ntk`; ``inf`` where the model diverged."""
    gram = empirical_ntk(model, x)
    n = x.shape[-2]
    gram = gram.to("cpu", torch.float64).numpy()
    out = np.full(gram.shape[0], np.inf)
    for s, g in enumerate(gram):
        if np.all(np.isfinite(g)):
            out[s] = np.linalg.eigvalsh(g)[-1] / n
    return out


def half_mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-seed ``½ · mean over examples of ‖f(x) − y‖²``; shape ``(S,)``."""
    return 0.5 * (prediction - target).square().sum(-1).mean(-1)


class _OnlineBatches:
    """Fresh batches from each seed's ``sgd`` stream, drawn ``ONLINE_CHUNK`` steps at a time if allowed."""

    def __init__(
        self,
        tasks: Sequence[Task],
        rngs: Sequence[np.random.Generator],
        batch: int,
        to_tensor: Callable,
    ) -> None:
        self.tasks, self.rngs, self.batch, self.to_tensor = tasks, rngs, batch, to_tensor
        self.chunk = ONLINE_CHUNK if all("chunked_sampling" in t.capabilities for t in tasks) else 1
        self.buffer: tuple[torch.Tensor, torch.Tensor] | None = None
        self.position = self.chunk

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position == self.chunk:
            draws = [
                t.sample(self.batch * self.chunk, rng) for t, rng in zip(self.tasks, self.rngs)
            ]
            self.buffer = (
                self.to_tensor(np.stack([x for x, _ in draws])),
                self.to_tensor(np.stack([y for _, y in draws])),
            )
            self.position = 0
        assert self.buffer is not None
        lo, hi = self.position * self.batch, (self.position + 1) * self.batch
        self.position += 1
        return self.buffer[0][:, lo:hi], self.buffer[1][:, lo:hi]


def train_iterative(
    setting: Mapping[str, Any],
    tasks: Sequence[Task],
    data_rngs: Sequence[np.random.Generator],
    init_rngs: Sequence[np.random.Generator],
    sgd_rngs: Sequence[np.random.Generator],
    observer: Observer,
    dtype: torch.dtype,
    device: torch.device,
) -> None:
    """Train the stacked seeds with gd/sgd and feed the observer."""

    def to_tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype, device=device)

    optimizer = setting["optimizer"]
    model = build_model(setting["model"], tasks, init_rngs, dtype, device, optimizer["kind"])
    params = model.params
    steps = setting["steps"]

    if setting["train_size"] == "online":
        stream = _OnlineBatches(tasks, sgd_rngs, optimizer["batch_size"], to_tensor)
        next_batch = stream.next
        train = None
    else:
        n = setting["train_size"]
        draws = [t.sample(n, rng) for t, rng in zip(tasks, data_rngs)]
        x_all = to_tensor(np.stack([x for x, _ in draws]))
        y_all = to_tensor(np.stack([y for _, y in draws]))
        train = (x_all, y_all)
        if optimizer["kind"] == "gd" or optimizer.get("batch_size") == "full":

            def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
                return x_all, y_all

        else:
            batch = optimizer["batch_size"]
            rows = torch.arange(len(tasks), device=device).unsqueeze(-1)

            def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
                idx = torch.as_tensor(
                    np.stack([rng.integers(0, n, size=batch) for rng in sgd_rngs]), device=device
                )
                return x_all[rows, idx], y_all[rows, idx]

    seed_scale = None
    if optimizer.get("lr_unit", "absolute") == "ntk_max_eigenvalue":
        if train is None:
            raise ValueError("lr_unit ntk_max_eigenvalue needs a finite training set")
        curvature = ntk_max_eigenvalue(model, train[0])  # λ0 of each seed, (S,)
        seed_scale = torch.as_tensor(1.0 / curvature, dtype=dtype, device=device)
    updater = make_optimizer(optimizer, params, model.lr_factors, seed_scale)
    probe = ModelProbe(model, dtype, device, updater, train)
    for step in range(steps + 1):
        if observer.every_step or step in observer.steps:
            observer.record(step, probe)
        if step == steps:
            break
        x, y = next_batch()
        grads = model.half_mse_gradients(x, y)
        if grads is None:
            loss = half_mse(model.forward(x), y).sum()
            grads = torch.autograd.grad(loss, params)
        updater.step(grads)


class _KernelProbe:
    """Probe of ``S`` kernel ridge predictors ``f_s(x) = k(x, X_s) α_s``."""

    def __init__(
        self,
        kernel: Callable,
        x_train: Sequence[torch.Tensor],
        alphas: Sequence[torch.Tensor],
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.kernel, self.x_train, self.alphas, self.dtype, self.device = (
            kernel,
            x_train,
            alphas,
            dtype,
            device,
        )

    def end_to_end(self) -> np.ndarray:
        raise NotImplementedError("a kernel machine is not a linear map")

    def predict_each(self, x: np.ndarray) -> np.ndarray:
        xt = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        out = [
            self.kernel(xt[s], xs) @ a for s, (xs, a) in enumerate(zip(self.x_train, self.alphas))
        ]
        return torch.stack(out).to("cpu", torch.float64).numpy()

    def train_set(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None

    def predict(self, x: np.ndarray) -> np.ndarray:
        xt = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        out = [self.kernel(xt, xs) @ alpha for xs, alpha in zip(self.x_train, self.alphas)]
        return torch.stack(out).to("cpu", torch.float64).numpy()


CLOSED_FORM: Registry = Registry("torch closed-form fit")
"""``model kind → "module:function"``; a fit takes ``(setting, tasks, data_rngs, init_rngs, observer,
dtype, device)``, fits every seed and calls ``observer.record(0, probe)`` once."""
CLOSED_FORM.register("kernel_machine", "harness.engines.torch.training:fit_kernel_ridge")
CLOSED_FORM.register("random_features", "harness.engines.torch.random_features:fit_random_features")


def fit_closed_form(
    setting: Mapping[str, Any],
    tasks: Sequence[Task],
    data_rngs: Sequence[np.random.Generator],
    init_rngs: Sequence[np.random.Generator],
    observer: Observer,
    dtype: torch.dtype,
    device: torch.device,
) -> None:
    """Fit the closed-form model of ``setting.model`` for every seed (see :data:`CLOSED_FORM`)."""
    kind = setting["model"]["kind"]
    if kind not in CLOSED_FORM:
        raise ValueError(f"the torch engine has no closed-form fit for model {kind!r}")
    CLOSED_FORM.get(kind)(setting, tasks, data_rngs, init_rngs, observer, dtype, device)


def fit_kernel_ridge(
    setting: Mapping[str, Any],
    tasks: Sequence[Task],
    data_rngs: Sequence[np.random.Generator],
    init_rngs: Sequence[np.random.Generator],
    observer: Observer,
    dtype: torch.dtype,
    device: torch.device,
) -> None:
    """Kernel ridge regression, ``α = (K_DD + δ I)^{-1} y``, one solve per seed (Cholesky)."""
    kernel = make_kernel(setting["model"]["kernel"])
    ridge = setting["optimizer"]["ridge"]
    n = setting["train_size"]
    x_train, alphas = [], []
    for task, rng in zip(tasks, data_rngs):
        x, y = task.sample(n, rng)
        xs = torch.as_tensor(x, dtype=dtype, device=device)
        ys = torch.as_tensor(y, dtype=dtype, device=device)
        gram = kernel(xs, xs) + ridge * torch.eye(n, dtype=dtype, device=device)
        factor, info = torch.linalg.cholesky_ex(gram)
        if int(info) == 0:
            alpha = torch.cholesky_solve(ys, factor)
        else:  # singular (ridge 0 with repeated points): least squares, i.e. the min-norm interpolant
            alpha = torch.linalg.lstsq(
                gram, ys, driver="gelsd" if device.type == "cpu" else None
            ).solution
        x_train.append(xs)
        alphas.append(alpha)
    observer.record(0, _KernelProbe(kernel, x_train, alphas, dtype, device))
