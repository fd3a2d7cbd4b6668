"""A predictor template: copy this file, rename the class, put your formula in ``predict``.

It runs as it is: it forecasts kernel ridge regression's test error with a deliberately crude
formula (below), good enough to see every part of the pipeline and bad enough to fail the
benchmarks. The guide, docs/submitting-a-predictor.md, walks through the commands:

    theorybench validate -p my_theory.py:MyTheory         # fields, shapes, NaN, determinism, time
    theorybench run -p my_theory.py:MyTheory              # verdicts, from the committed results
    theorybench show krr-learning-curves -p my_theory.py:MyTheory --plot krr.png
    theorybench leaderboard -p my_theory.py:MyTheory      # a preview board with your row

Nothing is trained: the committed measurements in leaderboard/results are reused.

The rules (the board enforces what it can and shows the rest):

- Forecast from the spec alone. Never train the benchmark's model on the benchmark's data; a
  predictor may sample the *population* (``problem.population()``) and run Monte Carlo on it.
- If a constant was fitted to any measurement, list the benchmark in ``fitted_on``: the board
  then shows the row as "not zero-shot".
- Be deterministic: the same problem must give the same forecast (seed any randomness with
  ``problem.rng()``), and stay within the benchmark's time budget (``budget.predict_seconds`` in
  its spec, 60 s by default) per sweep point.
"""

from __future__ import annotations

import numpy as np

from harness.predictor import Abstain, Forecast, Problem


class MyTheory:
    """Crude dimension count: a kernel machine learns about one of d directions per sample.

    The first line of this docstring is the one-line description the board shows (or set a
    ``description`` attribute). The formula: with ``n`` training samples in ``d`` input
    dimensions, test MSE ≈ E[y²] · d / (d + n) — the shape of a linear-regression learning curve,
    with no kernel, spectrum or ridge in it. The real theory of this benchmark (eigenlearning,
    predictors/eigenlearning.py) replaces ``d`` by the kernel's eigenvalues and the target's
    coefficients.
    """

    # --- Identity --------------------------------------------------------------------------
    # name: unique on the board, lowercase letters, digits and hyphens. Rename it.
    name = "my-theory"
    # version: bump it when your numbers change for a reason the code cannot show (a data file
    # you read, a package you call). Editing this file already recomputes the forecasts: their
    # cache key holds a hash of this module.
    version = "1"
    # kind: "theory" (a forecast from a theory) or "baseline" (a trivial reference guess).
    kind = "theory"

    # --- Scope -----------------------------------------------------------------------------
    # quantities: the target quantities you forecast, a tuple of names (`theorybench list
    # quantities`). The predictor runs on every benchmark whose target is one of them, and on
    # no other; return Abstain(...) at points outside your theory's regime.
    quantities = ("test_mse",)

    # --- Provenance ------------------------------------------------------------------------
    # fitted_on: benchmark ids whose measurements were used to fit any constant. Empty means
    # zero-shot: a prediction, not a post-diction.
    fitted_on = ()
    # references: papers, with the equation numbers of the formula.
    references = ("Template: a deliberately crude learning curve, not from a paper",)

    def predict(self, problem: Problem) -> Forecast | Abstain:
        """The forecast at one sweep point of one benchmark.

        ``problem`` (see harness/predictor.py) has:

        - ``benchmark``, ``label`` (the sweep point in words), ``coords`` (the swept values);
        - ``setting``, the complete resolved training setting, and ``get("dotted.path")`` to read
          it, e.g. ``problem.get("optimizer.ridge")``, ``problem.get("train_size")``;
        - ``target``: ``quantity``, ``params`` (e.g. a fraction for event times) and
          ``statistic``, the across-seed statistic you forecast (``mean``, ``median``,
          ``logmean``);
        - ``grid`` (the training steps of a curve target, else None), ``shape`` (the shape your
          forecast must have: ``()`` for a scalar, ``(len(grid),)`` for a curve, one entry per
          event), ``horizon`` (training steps; events later than it are censored);
        - ``population()``: the data population (inputs, teacher, spectrum…), drawn from a
          random stream separate from training; ``rng()``: a generator for Monte Carlo.

        Return ``Forecast(mean=..., std=None, notes="")`` with ``mean`` a float or an array of
        shape ``problem.shape`` (``+inf`` is allowed: an event that never happens, a loss that
        diverges; NaN is an error), or ``Abstain("reason")`` where the theory does not apply.
        """
        if problem.get("model.kind") != "kernel_machine":
            return Abstain("the dimension count is meant for kernel regression")
        task = problem.population()
        if "finite_pool" not in task.capabilities:
            return Abstain("needs a finite data pool to compute E[y²]")
        x, y = task.evaluation_set()  # the whole population: inputs and noise-free labels
        signal = float(np.mean(np.sum(y**2, axis=1)))  # E‖f*(x)‖² over the population
        noise = task.d_out * task.noise_variance  # label noise of a fresh test example
        n = problem.get("train_size")
        d = x.shape[1]
        return Forecast(
            mean=signal * d / (d + n) + noise,
            notes=f"d={d}, n={n}, E[y²]={signal:.3g}",
        )
