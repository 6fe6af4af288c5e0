"""Names that end up in MLflow and Optuna: the study's, the MLflow experiment's, the model's.

The MLflow experiment name is also the registered model's name, so it follows MLflow 3's rules
for both (``mlflow/utils/validation.py``: ``_validate_experiment_name``,
``_validate_model_name``): not empty, at most 500 characters, no ``/`` or ``:``, and not a
path that normalises to another name (``.``, ``..``). The study name is quoted inside
MLflow's run filters, so it cannot hold a single quote.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

MAX_NAME_LENGTH = 500
"""MLflow's longest experiment name."""


def check_name(value: object, roles: Iterable[str]) -> str | None:
    """Why ``value`` cannot serve as the name in each of ``roles`` ('study': the Optuna study
    and nnexp's run filters; 'mlflow': the MLflow experiment and registered model), or None."""
    roles = tuple(roles)
    if not roles:
        return None
    if not isinstance(value, str):
        return f"expected a string, got {value!r}"
    uses = " and ".join({"study": "the study name", "mlflow": "the MLflow experiment and "
                         "registered-model name"}[r] for r in roles)
    if not value.strip():
        return f"{value!r} is empty; it is {uses}: give a name"
    if "mlflow" in roles:
        bad = [c for c in ("/", ":") if c in value]
        if bad:
            return (f"{value!r} contains {' and '.join(repr(c) for c in bad)}, which MLflow "
                    f"does not allow in {uses}; use letters, digits, '-', '_', '.' or spaces")
        norm = posixpath.normpath(value)
        if norm != value or norm in (".", "..") or norm.startswith(".."):
            return (f"{value!r} reads as a path to MLflow (it would resolve to {norm!r}); it is "
                    f"{uses}: choose a name that does not start with '..'")
        if len(value) > MAX_NAME_LENGTH:
            return (f"is {len(value)} characters long; MLflow allows at most "
                    f"{MAX_NAME_LENGTH} for {uses}: shorten it")
    if "study" in roles and "'" in value:
        return (f"{value!r} contains a single quote, which nnexp cannot use in {uses} (MLflow "
                "run filters quote it); remove the quote")
    return None
