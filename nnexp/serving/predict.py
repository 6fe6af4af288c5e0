"""``nnexp predict``'s use case: a model (a model directory, a run's ``model/`` artifact or a
registered ``models:/`` model) applied to raw rows from a CSV or Parquet file.

The rows hold the original columns, raw (extra columns are ignored; a missing one is an error
naming it); the model's own preparation (``nnexp.data.Preparation``) turns them into inputs as
in training: missing values imputed, dates encoded, an unseen category counted as infrequent
(or refused, as trained). The result has a ``prediction`` column with the original labels
and, for classifiers, one ``proba_<label>`` column per class. ``predict_frame`` is also what
the registered pyfunc model (``nnexp.serving.pyfunc``) runs, so both predict alike.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nnexp.errors import NnexpError

TABLES = (".csv", ".parquet", ".pq")


def frame_to_X(frame, saved, where: str = "the input", first_line: int | None = None):
    """Raw rows (a DataFrame of the original columns; extra columns ignored) -> X (m, n_x) as
    the model was trained on: a table's preparation (``nnexp.data.Preparation``), or the
    numeric feature columns of a model of arrays. Missing columns and values the model cannot
    read raise ``DataError``, every one at once.

    where, first_line : name the rows in messages (a file, and the line of row 0)."""
    import numpy as np
    import pandas as pd

    from nnexp.data import DataError
    from nnexp.errors import listing

    frame = frame.rename(columns=str)
    if saved.preparation is not None:
        return saved.preparation.transform(frame, where, first_line)
    columns = saved.features["columns"]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where} lacks the column(s) {listing(missing)} that the model "
                        f"needs; it reads {listing(columns, 50)} (other columns are ignored). "
                        "Add the missing columns.")
    problems = []
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if bad.any():
            rows = frame.index[bad.to_numpy()]
            lines = listing([int(r) + (first_line or 0) for r in rows])
            problems.append(f"column {column!r} needs numbers, but "
                            f"{'lines' if first_line else 'rows'} {lines} hold "
                            f"{listing(sorted({str(v) for v in frame[column][bad]}))}")
    if problems:
        raise DataError(f"{where}: " + "; ".join(problems) + ". This model was trained on "
                        "arrays, so every value must be a number; fix or remove those rows.")
    return frame[columns].apply(pd.to_numeric).to_numpy(dtype=np.float64)


def predict_frame(saved, frame, where: str = "the input", first_line: int | None = None):
    """Predictions of a ``SavedModel`` for the rows of ``frame``: a ``prediction`` column
    with the original labels (or values, for regression) and, for classifiers, one
    ``proba_<label>`` column per class."""
    import pandas as pd

    model = saved.model
    X = frame_to_X(frame, saved, where, first_line)
    out = pd.DataFrame({"prediction": model.predict(X)})
    if model.is_classifier:
        proba = model.predict_proba(X)
        for j, label in enumerate(model.classes):
            out[f"proba_{label}"] = proba[:, j]
    return out


def load_model(reference: str | Path, tracking_uri: str | None, directory: Path):
    """The ``SavedModel`` of ``reference``: a model directory (``nnexp train -o DIR``, a
    downloaded ``model/``), a run id or ``runs:/<run_id>`` (its ``model/`` artifact, into
    ``directory``), or ``models:/<name>/<version>`` / ``models:/<name>@<alias>``."""
    from nnexp.serving.models import find_model_dir, load_model_dir
    from nnexp.stores.recorded import (
        MODEL_PATH,
        download,
        download_model_uri,
        get_run,
        open_store,
        run_id_of,
    )
    from nnexp.stores.tracking_store import resolve_tracking_uri

    path = Path(reference)
    reference = str(reference)
    if path.exists():
        found = find_model_dir(path if path.is_dir() else path.parent)
        if found is None:
            raise NnexpError(f"{reference!r} is not an nnexp model directory (it needs "
                             "model.npz, model.json and features.json, as nnexp train -o DIR "
                             "writes). Give such a directory, a run id or a models:/ URI.")
        return load_model_dir(found)
    uri = resolve_tracking_uri(tracking_uri)
    if reference.startswith("models:/"):
        open_store(uri)
        root = download_model_uri(uri, reference, directory)
    else:
        run_id = run_id_of(reference)
        if run_id is None:
            raise NnexpError(
                f"MODEL {reference!r} is neither an existing model directory, an MLflow run id "
                "nor a model URI: give a directory written by nnexp train -o, a trial's run id "
                "(runs:/<run_id>), or models:/<study>@champion.")
        client = open_store(uri)
        get_run(client, run_id, uri)
        root = download(client, run_id, MODEL_PATH, directory, "saved model")
    found = find_model_dir(root)
    if found is None:
        raise NnexpError(f"{reference!r} holds no nnexp model directory (model.npz and "
                         "features.json); it was not saved by nnexp.")
    return load_model_dir(found)


def read_rows(path: str | Path):
    """The rows of a CSV or Parquet file as a DataFrame."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLES:
        raise NnexpError(f"INPUT {str(path)!r}: the suffix {path.suffix or '(none)'!r} is not "
                         f"one nnexp predict reads; give a {', '.join(TABLES)} file.")
    if not path.is_file():
        raise NnexpError(f"INPUT {str(path)!r} does not exist; give the path of a CSV or "
                         "Parquet file of rows with the model's columns.")
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input
        from nnexp.errors import first_line

        raise NnexpError(f"INPUT {str(path)!r} could not be read ({first_line(err)}); check "
                         "that it is a valid CSV or Parquet file.") from None


def predict(model: str | Path, rows: str | Path, tracking_uri: str | None = None):
    """Predictions (a DataFrame, see the module docstring) of ``model`` for ``rows``."""
    frame = read_rows(rows)
    with tempfile.TemporaryDirectory(prefix="nnexp-model-") as tmp:
        saved = load_model(model, tracking_uri, Path(tmp))
    csv = Path(rows).suffix.lower() == ".csv"
    return predict_frame(saved, frame, repr(str(rows)), 2 if csv else None)


def check_output(output: str | Path | None) -> None:
    """An ``-o`` name must end in .csv or .parquet (checked before anything is computed)."""
    if output is not None and Path(output).suffix.lower() not in TABLES:
        raise NnexpError(f"-o {str(output)!r}: give a file name ending in .csv or .parquet "
                         "(or no -o for CSV on stdout).")


def write_predictions(frame, output: str | Path | None) -> str | None:
    """Write to ``output`` (CSV or Parquet by its suffix); without one, return the CSV text."""
    if output is None:
        return frame.to_csv(index=False)
    check_output(output)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".csv":
        frame.to_csv(output, index=False)
    else:
        frame.to_parquet(output, index=False)
    return None
