"""``nnexp trials`` and ``nnexp.trials_dataframe``: one row per trial, as a pandas DataFrame,
written as a text table, CSV, Parquet, JSON or Markdown.

Columns: ``number``, ``state``, the objective value of complete trials (``value``;
``value_<metric>`` for each of several objectives), the parameters (``params_<name>``), the
final metrics of the trial's MLflow run (``final_*``, ``test_*``, ``n_params``,
``train_seconds``; read with one ``search_runs`` query for the whole study), ``epochs``
(epochs run), ``duration_seconds``, ``run_id`` and ``reason`` (why a trial was pruned or
failed).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from nnexp.errors import NnexpError, did_you_mean
from nnexp.tracking.states import FAILED_STATES

STATES = ("all", "complete", "pruned", "failed")
FORMATS = ("table", "csv", "parquet", "json", "markdown")
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json",
            ".md": "markdown", ".txt": "table"}
HIGHER_IS_BETTER = ("accuracy", "r2")


def trials_dataframe(study, storage: str | None = None, tracking_uri: str | None = None, *,
                     state: str = "all", sort: str | None = None, top: int | None = None):
    """The trials of ``study`` as a DataFrame (columns in the module docstring).

    study : a study name (loaded from ``storage``, default ``mlruns/optuna.journal``) or an
        ``optuna.Study``.
    tracking_uri : the MLflow store holding its runs (default: ``MLFLOW_TRACKING_URI``, else
        ``mlruns/mlflow.db``); without one the MLflow columns are absent.
    state : ``all``, ``complete``, ``pruned`` or ``failed`` (failed and diverged trials).
    sort : a column to sort by, best first (``value``, a metric such as ``final_dev_accuracy``
        or ``dev_accuracy``, a parameter such as ``learning_rate``); None: by objective when
        ``top`` is given, else by trial number.
    top : keep the first ``top`` rows after sorting.
    """
    from nnexp.stores.queries import objective_metrics, resolve_study, study_runs, tracking_client
    from nnexp.tracking.summary import trials_table

    if state not in STATES:
        raise NnexpError(f"unknown trial state {state!r}{did_you_mean(state, STATES)}; choose "
                         f"one of {', '.join(STATES)}.")
    if top is not None and top < 1:
        raise NnexpError(f"--top must be at least 1, got {top}.")
    study = resolve_study(study, storage)
    runs = study_runs(tracking_client(tracking_uri), study.study_name)
    metrics = objective_metrics(study, runs)
    value_columns = ["value"] if len(metrics) == 1 else [f"value_{m}" for m in metrics]
    df = trials_table(study, metrics, runs.trials)
    if df.empty:
        return df
    if state == "failed":
        df = df[df["state"].isin(FAILED_STATES)]
    elif state != "all":
        df = df[df["state"] == state]
    if sort is None and top is not None:
        sort = value_columns[0]
    if sort is not None:
        column = sort_column(sort, list(df.columns))
        descending = _higher_is_better(column, value_columns, study)
        df = df.sort_values(column, ascending=not descending, na_position="last",
                            kind="stable")
    if top is not None:
        df = df.head(top)
    return df.reset_index(drop=True)


def sort_column(name: str, columns: list[str]) -> str:
    """The column ``name`` means: itself, or ``final_<name>``, ``params_<name>``,
    ``value_<name>``; unknown raises ``NnexpError`` naming the columns."""
    for candidate in (name, f"final_{name}", f"params_{name}", f"value_{name}"):
        if candidate in columns:
            return candidate
    sortable = [c for c in columns if c not in ("state", "run_id", "reason")]
    raise NnexpError(
        f"cannot sort by {name!r}: the trials table has no such column"
        f"{did_you_mean(name, sortable)}. Sort by one of: {', '.join(sortable)}.")


def _higher_is_better(column: str, value_columns: list[str], study) -> bool:
    if column in value_columns:
        return study.directions[value_columns.index(column)].name == "MAXIMIZE"
    return any(word in column for word in HIGHER_IS_BETTER) and not column.startswith("params_")


def format_for(fmt: str | None, output: Path | None) -> str:
    """The format to write: ``fmt``, else the one ``output``'s suffix names, else ``table``."""
    if fmt:
        return fmt
    if output is not None and output.suffix.lower() in SUFFIXES:
        return SUFFIXES[output.suffix.lower()]
    return "table"


def write_table(df, fmt: str, output: Path | None = None) -> str | None:
    """Write ``df`` as ``fmt`` to ``output`` (returns None), or return it as text for stdout
    (``output`` None; Parquet is binary and needs a file)."""
    if fmt not in FORMATS:
        raise NnexpError(f"unknown format {fmt!r}{did_you_mean(fmt, FORMATS)}; choose one of "
                         f"{', '.join(FORMATS)}.")
    if fmt == "parquet":
        if output is None:
            raise NnexpError("Parquet is a binary format: give a file with -o, e.g. "
                             "-o trials.parquet.")
        output.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(output, index=False)
        return None
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":
        text = df.to_json(orient="records", indent=2) + "\n"
    elif fmt == "markdown":
        text = to_markdown(df)
    else:
        text = (df.to_string(index=False) if not df.empty else "(no trials)") + "\n"
    if output is None:
        return text
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    return None


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(df) -> str:
    """A GitHub Markdown table of ``df`` (numbers right-aligned). nnexp's own few lines
    instead of ``DataFrame.to_markdown``, which needs the ``tabulate`` package."""
    import pandas as pd

    columns = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
