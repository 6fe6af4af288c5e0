"""nnexp.core: a NumPy L-layer network (the course's maths, production quality).

Pure NumPy: imports nothing from optuna, mlflow, pandas or click.

    from nnexp.core import TrainConfig, train
    result = train(X_train, y_train, TrainConfig(hidden_layers=(64, 32)), X_dev, y_dev)
    result.model.predict(X_test)
"""

from nnexp.core.activations import ACTIVATIONS, DERIVATIVES
from nnexp.core.config import TrainConfig
from nnexp.core.gradcheck import GradCheck, gradient_check
from nnexp.core.initializers import INITIALIZERS
from nnexp.core.losses import OUTPUTS
from nnexp.core.model import Model, encode_targets
from nnexp.core.network import (
    Parameters,
    backward,
    compute_cost,
    forward,
    initialize_parameters,
    predict_logits,
)
from nnexp.core.optimizers import OPTIMIZERS
from nnexp.core.schedules import SCHEDULES
from nnexp.core.training import (
    DivergenceError,
    EpochMetrics,
    TrainResult,
    flops_per_epoch,
    resolve_output,
    train,
)

__all__ = [
    "ACTIVATIONS", "DERIVATIVES", "INITIALIZERS", "OPTIMIZERS", "OUTPUTS", "SCHEDULES",
    "DivergenceError", "EpochMetrics", "GradCheck", "Model", "Parameters", "TrainConfig",
    "TrainResult", "backward", "compute_cost", "encode_targets", "flops_per_epoch", "forward",
    "gradient_check", "initialize_parameters", "predict_logits", "resolve_output", "train",
]
