"""Registries of the building blocks a benchmark spec names.

Each registry maps the ``kind`` written in YAML to a class with a ``PARAMS`` schema
(:class:`harness.schema.Param` objects) and a docstring. Entries are ``"module:Class"`` strings
imported on first use, so listing or validating never imports torch.

- :data:`DATA` — data generators (numpy, float64): the population and how training data is drawn.
- :data:`MODELS`, :data:`INITS`, :data:`KERNELS` — architectures and their initializations
  (declarative; each engine implements them).
- :data:`OPTIMIZERS` — training procedures.
- :data:`QUANTITIES` — target quantities (observables) a benchmark can ask for.

A new component plugs in by adding one class and one line here; the core does not change.
"""

from __future__ import annotations

from ..registry import Registry

__all__ = ["DATA", "INITS", "KERNELS", "MODELS", "OPTIMIZERS", "QUANTITIES"]

DATA: Registry = Registry("data generator")
for _kind, _cls in {
    "gaussian_linear": "GaussianLinear",
    "whitened_linear_teacher": "WhitenedLinearTeacher",
    "sphere_relu_teacher": "SphereReluTeacher",
    "digits": "Digits",
    "gaussian_tanh_teacher": "GaussianTanhTeacher",
}.items():
    DATA.register(_kind, f"harness.components.data:{_cls}")
DATA.register("erf_committee_teacher", "harness.components.data_committee:ErfCommitteeTeacher")

MODELS: Registry = Registry("model")
for _kind, _cls in {
    "linear": "Linear",
    "deep_linear": "DeepLinear",
    "kernel_machine": "KernelMachine",
    "mlp": "MLP",
}.items():
    MODELS.register(_kind, f"harness.components.models:{_cls}")
MODELS.register("random_features", "harness.components.models_rf:RandomFeatures")
MODELS.register("soft_committee", "harness.components.models_committee:SoftCommittee")

INITS: Registry = Registry("initialization")
for _kind, _cls in {
    "zeros": "Zeros",
    "gaussian": "Gaussian",
    "aligned": "Aligned",
    "fan_in": "FanIn",
}.items():
    INITS.register(_kind, f"harness.components.models:{_cls}")

KERNELS: Registry = Registry("kernel")
for _kind, _cls in {"relu_ntk": "ReluNTK", "rbf": "RBF"}.items():
    KERNELS.register(_kind, f"harness.components.kernels:{_cls}")

OPTIMIZERS: Registry = Registry("optimizer")
for _kind, _cls in {"gd": "GD", "sgd": "SGD", "adam": "Adam", "ridge_solve": "RidgeSolve"}.items():
    OPTIMIZERS.register(_kind, f"harness.components.optimizers:{_cls}")

QUANTITIES: Registry = Registry("quantity")
for _kind, _cls in {
    "population_loss": "PopulationLoss",
    "test_mse": "TestMSE",
    "mode_half_times": "ModeHalfTimes",
    "train_loss": "TrainLoss",
    "test_loss": "TestLoss",
}.items():
    QUANTITIES.register(_kind, f"harness.components.quantities:{_cls}")
QUANTITIES.register("sharpness", "harness.components.quantities_laws:Sharpness")
QUANTITIES.register("sharpness_plateau", "harness.components.quantities_laws:SharpnessPlateau")
QUANTITIES.register("balance_ratio", "harness.components.quantities_laws:BalanceRatio")
for _kind, _cls in {
    "angular_update": "AngularUpdate",
    "weight_norm": "WeightNorm",
    "mode_half_times_linear_fit": "ModeHalfTimesLinearFit",
}.items():
    QUANTITIES.register(_kind, f"harness.components.quantities_dynamics:{_cls}")
QUANTITIES.register("committee_error", "harness.components.quantities_committee:CommitteeError")
QUANTITIES.register("plateau_escape", "harness.components.quantities_committee:PlateauEscape")
QUANTITIES.register("feature_updates", "harness.components.quantities_scaling:FeatureUpdates")
QUANTITIES.register("catapult_phase", "harness.components.quantities_catapult:CatapultPhase")
QUANTITIES.register("catapult_dynamics", "harness.components.quantities_catapult:CatapultDynamics")
QUANTITIES.register("excess_test_loss", "harness.components.quantities_excess:ExcessTestLoss")
