"""The built-in predictors: theories and baselines, one module per theory.

Names map to ``"module:Class"`` strings, imported only when a predictor is used (so listing
predictors imports none of them). Third-party predictors register through the entry-point group
``theorybench.predictors`` instead; see README "Submitting a predictor".
"""

from __future__ import annotations

BUILTIN: dict[str, str] = {
    # sgd-linreg-curves
    "sgd-recursion": "predictors.sgd_linreg:SGDRecursion",
    "gd-population": "predictors.baselines:GDPopulation",
    # krr-learning-curves
    "eigenlearning": "predictors.eigenlearning:Eigenlearning",
    "no-learning": "predictors.baselines:NoLearning",
    # dln-modes
    "saxe-gradient-flow": "predictors.saxe:SaxeGradientFlow",
    "saxe-discrete": "predictors.saxe:SaxeDiscrete",
    "shallow-regression": "predictors.baselines:ShallowRegression",
    # committee-machine, committee-machine-escape
    "saad-solla-ode": "predictors.committee:SaadSollaODE",
    "exponential-decay": "predictors.committee:ExponentialDecay",
    # ntk-wide-net
    "ntk-gp": "predictors.ntk:NTKGaussianProcess",
    "initial-function": "predictors.ntk:InitialFunction",
    # width-scaling-exponents
    "tensor-programs": "predictors.tensor_programs:TensorProgramsExponents",
    "width-independent": "predictors.tensor_programs:WidthIndependent",
    # catapult-phases
    "catapult-theory": "predictors.catapult:CatapultTheory",
    "catapult-relu-12": "predictors.catapult:CatapultReluTwelve",
    "quadratic-stability": "predictors.catapult:QuadraticStability",
}
