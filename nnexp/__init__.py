"""nnexp: hyperparameter experiments for NumPy L-layer networks.

Run a study from Python as from the command line (``nnexp search``)::

    import nnexp

    study = nnexp.search("experiments/quickstart.yaml", n_trials=10)
    study.trials(state="complete", sort="dev_accuracy", top=5)
    study.best_model().predict(rows)

``search``, ``load_study``, ``load_model``, ``train`` and ``trials_dataframe`` (see
``nnexp.api``), and the scikit-learn estimators in ``nnexp.sklearn`` (``NNClassifier``,
``NNRegressor``). The NumPy network itself is ``nnexp.core``. Everything is imported when
first used, so ``import nnexp`` and ``nnexp --help`` stay fast.
"""

__version__ = "0.1.0"

_API = {
    "search": "nnexp.api", "load_study": "nnexp.api", "load_model": "nnexp.api",
    "train": "nnexp.api", "Study": "nnexp.api", "Model": "nnexp.api",
    "trials_dataframe": "nnexp.inspection.tables",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    """The public API, imported on first use (``_API``: name -> module)."""
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnexp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
