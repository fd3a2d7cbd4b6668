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
    # edge-of-stability, adaptive-edge-of-stability
    "eos-threshold": "predictors.edge_of_stability:EoSThreshold",
    "initial-sharpness": "predictors.edge_of_stability:InitialSharpness",
    "two-over-eta": "predictors.edge_of_stability:TwoOverEta",
    # conservation-laws
    "balance-flow-law": "predictors.conservation:BalanceFlowLaw",
    "balance-no-law": "predictors.conservation:BalanceNoLaw",
    # double-descent, double-descent-rf, scaling-law-*
    "ridgeless-exact": "predictors.ridgeless:RidgelessExact",
    "rf-eigenframework": "predictors.random_features:RFEigenframework",
    "exponent-law": "predictors.scaling_laws:ExponentLaw",
    "no-peak": "predictors.baselines_rf:NoPeak",
    "exponent-half": "predictors.baselines_rf:ExponentHalf",
    # stepwise-universality
    "saxe-stepwise": "predictors.stepwise:SaxeStepwise",
    "linear-network-times": "predictors.stepwise:LinearNetworkTimes",
    # stepwise-order
    "saxe-mode-order": "predictors.stepwise:SaxeModeOrder",
    # mup-lr-transfer
    "width-scaling-law": "predictors.width_transfer:WidthScalingLaw",
    "swapped-width-law": "predictors.width_transfer:SwappedWidthLaw",
    "naive-transfer": "predictors.width_transfer:NaiveTransfer",
    # rotational-equilibrium
    "random-walk-equilibrium": "predictors.rotational:RandomWalkEquilibrium",
    "initial-angular-update": "predictors.rotational:InitialAngularUpdate",
    # batch-size-scaling
    "sgd-recursion-optimum": "predictors.batch_size:RecursionOptimum",
    "critical-batch-size": "predictors.batch_size:CriticalBatchSize",
    "no-rescaling": "predictors.batch_size:NoRescaling",
    # batch-size-rules
    "scaling-rules": "predictors.scaling_rules:ScalingRules",
    "noise-scale-rule": "predictors.noise_scale:NoiseScaleRule",
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
