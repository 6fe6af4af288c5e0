"""nnexp: hyperparameter experiments for NumPy L-layer networks.

The data flow is visible from the layout:
``config`` (YAML -> validated settings) -> ``data`` (load, split, scale) ->
``search`` (search space -> Optuna trial) -> ``core`` (NumPy training with per-epoch
callbacks) -> ``tracking`` (MLflow) -> ``export``.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy public API: ``nnexp.trials_dataframe`` loads pandas and Optuna only when used, so
    ``import nnexp`` and ``nnexp --version`` stay fast."""
    if name == "trials_dataframe":
        from nnexp.export.tables import trials_dataframe

        return trials_dataframe
    raise AttributeError(f"module 'nnexp' has no attribute {name!r}")
