"""Options and number formatting shared by the inspection commands (studies, show, trials,
export, compare)."""

from __future__ import annotations

import click

storage_option = click.option(
    "--storage", help="Optuna storage URL (default: the journal file mlruns/optuna.journal).")
tracking_option = click.option(
    "--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or "
    "sqlite:///mlruns/mlflow.db).")


def fmt(value) -> str:
    """A number for a terminal line: integers plain, others to 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)
