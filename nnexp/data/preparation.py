"""A table's preparation: raw rows -> the network's inputs X, fitted on the training rows only.

Each used column (``nnexp.data.roles``) gets its own small scikit-learn transformer inside one
``ColumnTransformer``:

- numeric: the training median fills missing values, plus a 0/1 missing-indicator column
  when training had missing values (``SimpleImputer(add_indicator=True)``);
- categorical: missing values become the level ``missing``, then ``OneHotEncoder`` with at
  most ``max_categories`` columns (rarer levels share an ``infrequent`` column; an unseen
  level counts as infrequent, or is refused with ``unseen_categories: error``);
- datetime: ``nnexp.data.datetimes.DatetimeFeatures`` (year, day of year, and month, day of
  month and weekday as sine/cosine pairs; the hour too when the times have one), the
  training median for missing dates, plus one missing-indicator column when training had
  missing dates;
- text: ``TfidfVectorizer`` over character 3-4-grams, then ``TruncatedSVD`` (the method of
  skrub's ``StringEncoder``).

The fitted ``ColumnTransformer`` is stored with skops (``preparation.skops``), a format made
for scikit-learn objects that loads only the types listed in ``TRUSTED`` (no pickle). The
decisions (one ``Column`` per column) are JSON. A ``Preparation`` pickles as those bytes, so
a worker process carries it without importing scikit-learn.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnexp.data.errors import DataError
from nnexp.data.roles import Column, TableSettings, file_lines
from nnexp.errors import listing

if TYPE_CHECKING:
    import pandas as pd

PREPARATION_FILE = "preparation.skops"
DECISIONS_FILE = "preparation.json"
TEXT_COMPONENTS = 30

TRUSTED = [
    "numpy.dtype",
    "nnexp.data.preparation.is_missing",
    "nnexp.data.preparation.indicator_name",
    "nnexp.data.datetimes.DatetimeFeatures",
]
"""The types (beyond scikit-learn's, NumPy's and SciPy's, which skops trusts itself) that
loading a ``preparation.skops`` accepts: nnexp's own date features and missing-value
indicator; a file holding any other type is refused."""


def is_missing(X: Any) -> np.ndarray:
    """(m, 1) column -> (m, 1) float 0/1, 1 where the value is missing (a date's indicator)."""
    import pandas as pd

    return pd.DataFrame(X).isna().to_numpy(dtype=np.float64)[:, :1]


class Preparation:
    """A fitted preparation of a table's feature columns.

    columns : every feature column of the training table with its role (used or dropped).
    settings : the ``dataset:`` choices it was fitted with.
    feature_names : the n_x names of the columns of X.
    widths : used column -> how many features it yields.
    flags : n_x booleans, True for a 0/1 feature (one-hot, missing indicator), which the
        scaler leaves as it is: a rare indicator standardised becomes a +10-sigma input that
        decides the prediction alone.
    """

    def __init__(self, columns: list[Column], settings: TableSettings, blob: bytes,
                 feature_names: list[str], widths: dict[str, int],
                 encodings: dict[str, str], transformer: Any = None,
                 flags: list[bool] | None = None) -> None:
        self.columns = columns
        self.settings = settings
        self.blob = blob
        self.feature_names = feature_names
        self.widths = widths
        self.encodings = encodings
        self._transformer = transformer
        self.flags = flags if flags is not None else [False] * len(feature_names)

    # ----- fitting --------------------------------------------------------------------------

    @classmethod
    def fit(cls, columns: list[Column], settings: TableSettings,
            frame: pd.DataFrame) -> Preparation:
        """Fit on the training rows ``frame`` (the feature columns, m_train rows)."""
        import skops.io as sio
        from sklearn.compose import ColumnTransformer

        used = [c for c in columns if c.used]
        typed = _coerce(frame, used, "the training rows", None)
        steps, encodings = [], {}
        for i, column in enumerate(used):
            transformer, encodings[column.name] = _transformer(column, settings, typed)
            steps.append((f"c{i}", transformer,
                          column.name if column.role in ("datetime", "text") else [column.name]))
        extra = [(f"m{i}", _indicator(), [c.name]) for i, c in enumerate(used)
                 if c.role == "datetime" and typed[c.name].isna().any()]
        ct = ColumnTransformer(steps + extra, remainder="drop", sparse_threshold=0.0)
        ct.fit(typed)
        names = [_feature_name(n) for n in ct.get_feature_names_out()]
        for i, column in enumerate(used):
            if column.role == "text":  # the SVD's components, named after their column
                piece = ct.output_indices_[f"c{i}"]
                names[piece] = [f"{column.name}_text{j}" for j in range(piece.stop - piece.start)]
        widths = {c.name: 0 for c in used}
        flags = np.zeros(len(names), dtype=bool)
        for key, piece in ct.output_indices_.items():
            if key[0] in "cm" and key[1:].isdigit():
                column = used[int(key[1:])]
                widths[column.name] += piece.stop - piece.start
                if key[0] == "m" or column.role == "categorical":
                    flags[piece] = True
                elif column.role == "numeric" and piece.stop - piece.start == 2:
                    flags[piece.stop - 1] = True  # its missing indicator
        for i, column in enumerate(used):
            if column.role == "categorical":
                encodings[column.name] = _categories_text(ct.named_transformers_[f"c{i}"])
        blob = sio.dumps(ct, compression=zipfile.ZIP_DEFLATED)
        return cls(columns, settings, blob, names, widths, encodings, ct, flags.tolist())

    # ----- applying -------------------------------------------------------------------------

    @property
    def inputs(self) -> list[str]:
        """The raw columns the preparation reads (others are ignored)."""
        return [c.name for c in self.columns if c.used]

    def transform(self, frame: pd.DataFrame, where: str = "the input",
                  first_line: int | None = None) -> np.ndarray:
        """Raw rows (a DataFrame with at least the ``inputs`` columns; m rows) -> X (m, n_x)
        float64. Missing columns, values a numeric or datetime column cannot read and (with
        ``unseen_categories: error``) unseen categories raise ``DataError``, every one at
        once."""
        frame = frame.rename(columns=str)
        lacking = [c for c in self.inputs if c not in frame.columns]
        if lacking:
            raise DataError(f"{where} lacks the column(s) {listing(lacking)} that the model "
                            f"needs; it reads {listing(self.inputs, 50)} (other columns are "
                            "ignored). Add the missing columns.")
        used = [c for c in self.columns if c.used]
        typed = _coerce(frame, used, where, first_line)
        if self.settings.unseen_categories == "error":
            self._check_unseen(typed, where, first_line)
        X = self.transformer.transform(typed)
        return np.asarray(X, dtype=np.float64)

    @property
    def transformer(self):
        if self._transformer is None:
            self._transformer = _load_blob(self.blob)
        return self._transformer

    def _check_unseen(self, typed: pd.DataFrame, where: str, first_line: int | None) -> None:
        problems = []
        for i, column in enumerate(c for c in self.columns if c.used):
            if column.role != "categorical":
                continue
            known = set(self.transformer.named_transformers_[f"c{i}"][-1].categories_[0])
            values = typed[column.name].fillna("missing")
            unseen = ~values.isin(known)
            if unseen.any():
                rows = values.index[unseen.to_numpy()]
                shown = ["(empty)" if v == "missing" and typed[column.name].isna().any()
                         else v for v in sorted(set(values[unseen]))]
                problems.append(f"column {column.name!r} has value(s) training never saw "
                                f"({listing(shown)}; "
                                f"{file_lines(rows, first_line)}); known: {listing(sorted(known))}")
        if problems:
            raise DataError(f"{where}: " + "; ".join(problems) + ". Use known values, or "
                            "train with dataset.unseen_categories: group to count them as "
                            "infrequent.")

    # ----- the record -----------------------------------------------------------------------

    def report(self) -> list[dict[str, Any]]:
        """One row per feature column: column, role, missing, encoding, features."""
        rows = []
        for c in self.columns:
            encoding = self.encodings.get(c.name, c.note) if c.used else c.note
            if c.used and c.note and c.role in ("numeric", "datetime"):
                encoding = f"{encoding}; {c.note}"
            rows.append({"column": c.name, "role": _role_text(c), "missing": c.missing,
                         "encoding": encoding, "features": self.widths.get(c.name, 0),
                         "hint": c.hint})
        return rows

    def describe(self) -> dict[str, Any]:
        """The decisions as JSON (without the fitted transformer)."""
        return {"columns": [c.as_dict() for c in self.columns],
                "settings": self.settings.describe(), "feature_names": self.feature_names,
                "widths": self.widths, "encodings": self.encodings, "flags": self.flags}

    def save(self, directory: Path) -> None:
        """Write ``preparation.skops`` and ``preparation.json`` into ``directory``."""
        (directory / PREPARATION_FILE).write_bytes(self.blob)
        (directory / DECISIONS_FILE).write_text(json.dumps(self.describe(), indent=1,
                                                           default=str) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Preparation | None:
        """The preparation saved in a model ``directory``, or None when it has none (a model
        of arrays: NPZ, HDF5 or a built-in dataset)."""
        if not (directory / PREPARATION_FILE).is_file():
            return None
        d = json.loads((directory / DECISIONS_FILE).read_text())
        s = d["settings"]
        settings = TableSettings(missing=s["missing"], max_categories=s["max_categories"],
                                 unseen_categories=s["unseen_categories"], text=s["text"],
                                 drop=tuple(s["drop"]), columns=dict(s["columns"]))
        blob = (directory / PREPARATION_FILE).read_bytes()
        return cls([Column.from_dict(c) for c in d["columns"]], settings, blob,
                   d["feature_names"], d["widths"], d["encodings"], _load_blob(blob),
                   d["flags"])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_transformer": None}


def _feature_name(name: str) -> str:
    """A ColumnTransformer output name without its transformer prefix, with the indicator
    of column ``x`` as ``x_missing``: ``c0__missingindicator_x`` -> ``x_missing``."""
    name = name.split("__", 1)[1]
    return f"{name.removeprefix('missingindicator_')}_missing" \
        if name.startswith("missingindicator_") else name


def report_lines(rows: list[dict[str, Any]]) -> list[str]:
    """A column report (``Preparation.report()``) as text lines: one per column, then the
    total of features."""
    from nnexp.textfmt import text_table

    header = ("COLUMN", "ROLE", "MISSING", "ENCODING", "FEATURES")
    body = [(r["column"], r["role"], str(r["missing"]) if r["missing"] else "-",
             r["encoding"] or "-", str(r["features"])) for r in rows]
    total = sum(r["features"] for r in rows)
    used = sum(1 for r in rows if r["features"])
    warnings = [f"warning: column {r['column']!r} {r['encoding']}; {r['hint']}"
                for r in rows if r.get("hint")]
    return [*text_table([header, *body]),
            f"{total} features from {used} of {len(rows)} columns", *warnings]


def _load_blob(blob: bytes):
    import skops.io as sio

    untrusted = [t for t in sio.get_untrusted_types(data=blob) if t not in TRUSTED]
    if untrusted:
        raise DataError(f"the model's {PREPARATION_FILE} holds types nnexp does not trust "
                        f"({listing(untrusted)}); it was not written by this version of nnexp. "
                        "Train the model again.")
    return sio.loads(blob, trusted=TRUSTED)


def _transformer(column: Column, settings: TableSettings, typed: pd.DataFrame):
    """(the scikit-learn transformer of one used column, how it encodes, in words)."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    values = typed[column.name]
    has_missing = bool(values.isna().any())
    if column.role == "numeric":
        words = "as a number" + (", missing: training median + indicator" if has_missing
                                 else "")
        return SimpleImputer(strategy="median", add_indicator=True,
                             keep_empty_features=True), words
    if column.role == "categorical":
        from sklearn.preprocessing import OneHotEncoder

        unknown = "infrequent_if_exist" if settings.unseen_categories == "group" else "error"
        return make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing", missing_values=np.nan),
            OneHotEncoder(handle_unknown=unknown, max_categories=settings.max_categories,
                          sparse_output=False, dtype=np.float64)), ""
    if column.role == "datetime":
        from nnexp.data.datetimes import DatetimeFeatures

        times = values.dropna()
        timed = bool(len(times)) and bool((times != times.dt.normalize()).any())
        words = ("year, day of year; month, day, weekday" + (", hour" if timed else "")
                 + " as sin/cos" + (" (missing: training median + indicator)" if has_missing
                                    else ""))
        return make_pipeline(DatetimeFeatures(),
                             SimpleImputer(strategy="median", keep_empty_features=True)), words
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = max(1, min(TEXT_COMPONENTS, int(values.nunique()) - 1))
    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True),
        TruncatedSVD(n_components=n, random_state=0)), \
        f"text: tf-idf of character 3-4-grams + SVD, {n} components"


def indicator_name(transformer, names) -> list[str]:
    """The feature name of a date's missing indicator: ``<column>_missing``."""
    return [f"{names[0]}_missing"]


def _indicator():
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(is_missing, feature_names_out=indicator_name)


def _categories_text(pipeline) -> str:
    encoder = pipeline[-1]
    levels = [str(c) for c in encoder.categories_[0]]
    infrequent = encoder.infrequent_categories_[0] if hasattr(
        encoder, "infrequent_categories_") else None
    n_rare = 0 if infrequent is None else len(infrequent)
    text = f"one-hot, {len(levels)} levels"
    if n_rare:
        text = (f"one-hot, {len(levels) - n_rare} levels + 'infrequent' ({n_rare} rarer "
                f"levels, max_categories {encoder.max_categories})")
    if "missing" in levels:
        text += ", missing as a level"
    return text


def _role_text(column: Column) -> str:
    if column.role == "categorical":
        return f"categorical ({column.levels} levels)"
    if column.source != "inferred" and column.role != "drop":
        return f"{column.role} (set)"
    return column.role


def _coerce(frame: pd.DataFrame, used: list[Column], where: str,
            first_line: int | None) -> pd.DataFrame:
    """The used columns typed as their transformers expect: numbers as float64 (missing,
    infinite and placeholder values as NaN), categories as str objects (NaN for missing;
    a whole float 3.0 as '3', as a CSV writes it), datetimes as timezone-naive datetime64
    (UTC; NaT for missing and placeholder values), text as str. Values a numeric or
    datetime column cannot read are a ``DataError`` naming them, every column at once."""
    import pandas as pd

    out: dict[str, Any] = {}
    problems = []
    for column in used:
        values = frame[column.name]
        if column.role == "numeric":
            out[column.name], bad = _numbers(values, column.placeholders)
            if bad.any():
                problems.append(_unreadable(column, "numbers", values, bad, first_line))
        elif column.role == "categorical":
            out[column.name] = _categories(values)
        elif column.role == "datetime":
            out[column.name], bad = _dates(values, column.date_format, column.placeholders)
            if bad.any():
                spelling = f"{column.date_format} or ISO 8601" if column.date_format \
                    else "ISO 8601"
                problems.append(_unreadable(column, f"dates ({spelling})", values, bad,
                                            first_line))
        else:
            out[column.name] = values.astype(object).where(values.notna(), "").astype(str)
    if problems:
        raise DataError(f"{where}: " + "; ".join(problems) + ". Fix or remove those values "
                        "(an empty cell is a missing value).")
    return pd.DataFrame(out, index=frame.index)


def _unreadable(column: Column, kind: str, values: pd.Series, bad: np.ndarray,
                first_line: int | None) -> str:
    """One problem of ``_coerce``, such as: column 'x' needs numbers, but lines 3, 5 of the
    file hold 'four', 'two'."""
    return (f"column {column.name!r} needs {kind}, but {file_lines(values.index[bad], first_line)}"
            f" hold {listing(sorted({str(v) for v in values[bad]}))}")


def _numbers(values: pd.Series, placeholders: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64), np.zeros(len(values), bool)
    if pd.api.types.is_numeric_dtype(values):
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.zeros(len(x), bool)
    else:
        text = values.astype(object).where(values.notna(), None)
        stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
        blank = stripped.isna() | stripped.isin(["", *placeholders])
        x = pd.to_numeric(stripped.where(~blank, None), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
        bad = (np.isnan(x) & ~blank.to_numpy())
    x = np.where(np.isfinite(x), x, np.nan)
    return x, bad


def _categories(values: pd.Series) -> pd.Series:
    def text(v):
        if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, bool | np.bool_):
            return str(bool(v))
        return str(v).strip()

    present = values.notna() & values.astype(str).str.strip().ne("")
    return values.astype(object).where(present, np.nan).map(
        lambda v: v if v is np.nan or (isinstance(v, float) and np.isnan(v)) else text(v))


def _dates(values: pd.Series, date_format: str | None,
           placeholders: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """(m,) datetime64[ns], timezone-naive (UTC): the values read in ``date_format`` or in
    ISO 8601; NaT where missing or one of the column's ``placeholders``. And (m,) bool: the
    other values, dates in neither spelling."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values):
        return _naive(values).astype("datetime64[ns]"), np.zeros(len(values), bool)
    text = values.astype(object).where(values.notna(), None)
    stripped = text.map(lambda v: None if v is None else str(v).strip())
    blank = (stripped.isna() | stripped.isin(["", *placeholders])).to_numpy()
    text = text.where(~blank, None)
    parsed = pd.to_datetime(text, format=date_format, errors="coerce") if date_format \
        else pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    rest = parsed.isna() & text.notna()
    if rest.any():  # rows in another spelling (ISO 8601 at predict time)
        again = pd.to_datetime(text[rest], format="ISO8601", errors="coerce", utc=True)
        parsed = _naive(parsed).astype("datetime64[ns]")
        parsed[rest] = _naive(again).astype("datetime64[ns]")
    parsed = _naive(parsed).astype("datetime64[ns]")
    return parsed, parsed.isna().to_numpy() & ~blank


def _naive(parsed: pd.Series) -> pd.Series:
    if getattr(parsed.dt, "tz", None) is not None:
        return parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed
