"""nnexp: hyperparameter experiments for NumPy L-layer networks.

The data flow is visible from the layout:
``config`` (YAML -> validated settings) -> ``data`` (load, split, scale) ->
``search`` (search space -> Optuna trial) -> ``core`` (NumPy training with per-epoch
callbacks) -> ``tracking`` (MLflow) -> ``export``.
"""

__version__ = "0.1.0"
