"""What each column of a table is: its role, inferred from its values or set by the user.

A role says how a column becomes features (``nnexp.data.preparation`` does it):

- ``numeric``: numbers (a few placeholder strings such as ``?`` are read as missing);
- ``categorical``: a few distinct values (k levels), one-hot encoded;
- ``datetime``: dates or times (a datetime dtype, or strings in one date format);
- ``text``: long or high-cardinality strings, dropped unless ``text: encode`` (or the user
  names the column's role ``text``);
- ``id``: identifier-like, almost every value distinct (a name, a row number); dropped;
- ``constant``: one value, or empty in every row; dropped;
- ``drop``: dropped because the user said so.

``infer_columns`` is pure pandas and cheap; it decides, it fits nothing (the training split's
medians and categories are fitted later, on the training rows only).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nnexp.errors import did_you_mean, listing

if TYPE_CHECKING:
    import pandas as pd

ROLES = ("numeric", "categorical", "datetime", "text", "id", "constant", "drop")
USER_ROLES = ("numeric", "categorical", "datetime", "text", "id", "drop")
"""The roles ``dataset.columns`` may set (``constant`` is only ever inferred)."""
USED = ("numeric", "categorical", "datetime", "text")

MIN_ROWS_FOR_ID = 20
"""Columns of fewer distinct values are never called identifiers."""
ID_SHARE = 0.5
"""A string column whose distinct values are at least this share of its rows is id-like."""
HIGH_CARDINALITY = 100
"""A string column with more distinct values than this is free text."""
TEXT_LENGTH = 40
"""A string column whose values average this many characters (or 6 words) is free text."""
NUMBER_SHARE = 0.9
"""A string column whose values are numbers in this share of rows is numeric ..."""
MAX_PLACEHOLDERS = 3
"""... when the rest are at most this many distinct placeholders (``?``, ``n/a``)."""
DATE_SHARE = 0.9
"""A string column whose values parse as dates in one format in this share of rows is one."""
DATE_SAMPLE = 30
"""The format is guessed from this many values (the most common guess is then tried on all)."""


@dataclass(frozen=True)
class TableSettings:
    """The ``dataset:`` section's choices about columns (see the README's data section).

    missing : ``"impute"`` (numbers: the training median plus an indicator; categories: a
        ``missing`` level) or ``"error"`` (refuse missing values).
    max_categories : at most this many one-hot columns per categorical column; rarer
        categories share one ``infrequent`` column.
    unseen_categories : ``"group"`` (a category training never saw counts as infrequent) or
        ``"error"``.
    text : ``"drop"`` or ``"encode"`` inferred free-text columns.
    drop : columns to leave out.
    columns : column -> one of ``USER_ROLES``, the user's decision over the inferred one.
    """

    missing: str = "impute"
    max_categories: int = 20
    unseen_categories: str = "group"
    text: str = "drop"
    drop: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: Any) -> TableSettings:
        """The settings of a ``dataset:`` section (any object with these attributes; the
        defaults for the ones it lacks)."""
        defaults = cls()
        return cls(missing=getattr(spec, "missing", defaults.missing),
                   max_categories=getattr(spec, "max_categories", defaults.max_categories),
                   unseen_categories=getattr(spec, "unseen_categories",
                                             defaults.unseen_categories),
                   text=getattr(spec, "text", defaults.text),
                   drop=tuple(getattr(spec, "drop", ()) or ()),
                   columns=dict(getattr(spec, "columns", {}) or {}))

    def describe(self) -> dict[str, Any]:
        """JSON-able, for the fingerprint and the model's record."""
        return {"missing": self.missing, "max_categories": self.max_categories,
                "unseen_categories": self.unseen_categories, "text": self.text,
                "drop": list(self.drop), "columns": dict(sorted(self.columns.items()))}


@dataclass(frozen=True)
class Column:
    """The decision about one feature column of a table.

    role : one of ``ROLES``.
    missing : rows where it is missing (empty, NaN, inf or a placeholder).
    levels : distinct non-missing values.
    source : ``"inferred"`` or ``"dataset.columns"`` / ``"dataset.drop"``.
    note : why it is dropped, or what was read as missing ('' if nothing to say).
    hint : for a column dropped by inference, how to keep it.
    placeholders : strings of a numeric or datetime column read as missing (``?``,
        ``unknown``).
    date_format : the strptime format of a string datetime column (None: a datetime dtype,
        or let pandas read ISO 8601).
    """

    name: str
    role: str
    missing: int
    levels: int
    source: str = "inferred"
    note: str = ""
    placeholders: tuple[str, ...] = ()
    date_format: str | None = None
    keep: bool = True
    hint: str = ""

    @property
    def used(self) -> bool:
        """Whether the column becomes features (a text column only when ``keep``)."""
        return self.role in USED and self.keep

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "missing": self.missing,
                "levels": self.levels, "source": self.source, "note": self.note,
                "placeholders": list(self.placeholders), "date_format": self.date_format,
                "keep": self.keep, "hint": self.hint}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Column:
        return cls(name=d["name"], role=d["role"], missing=d["missing"], levels=d["levels"],
                   source=d["source"], note=d["note"], placeholders=tuple(d["placeholders"]),
                   date_format=d["date_format"], keep=d["keep"], hint=d["hint"])


def infer_columns(frame: pd.DataFrame, settings: TableSettings, where: str,
                  first_line: int | None) -> tuple[list[Column], list[tuple[str, str]]]:
    """The role of every column of ``frame`` (the features, without the target), and the
    problems found: (``dataset:`` field, message) pairs, every one of them.

    where : the file, for messages ("'data.csv'").
    first_line : the file line of row 0 (2 for a CSV with a header), None for Parquet.
    """
    problems: list[tuple[str, str]] = []
    names = list(frame.columns)
    for key, given in (("drop", settings.drop), ("columns", list(settings.columns))):
        unknown = [c for c in given if c not in names]
        for c in unknown:
            problems.append((key, f"{where}: dataset.{key} names the column {c!r}, which the "
                                  f"file does not have{did_you_mean(c, names)}; columns: "
                                  f"{listing(names)}."))
    for c, role in settings.columns.items():
        if role not in USER_ROLES:
            problems.append(("columns", f"dataset.columns.{c}: {role!r} is not a role; use one "
                                        f"of: {', '.join(USER_ROLES)}."))
    columns = []
    for name in names:
        column, problem = _decide(frame[name], settings, where, first_line)
        columns.append(column)
        if problem:
            problems.append(problem)
    if not any(c.used for c in columns) and not problems:
        dropped = "; ".join(f"{c.name!r}: {c.note or c.role}" for c in columns)
        problems.append(("columns", f"{where}: no column is left to learn from ({dropped}). "
                                    "Set a column's role in dataset.columns to keep it."))
    return columns, problems


def _decide(values: pd.Series, settings: TableSettings, where: str,
            first_line: int | None) -> tuple[Column, tuple[str, str] | None]:
    name = str(values.name)
    given = settings.columns.get(name)
    if name in settings.drop or given == "drop":
        source = "dataset.drop" if name in settings.drop else "dataset.columns"
        return Column(name, "drop", int(missing_values(values).sum()), _levels(values), source,
                      f"dropped ({source})"), None
    inferred = _infer(values, settings)
    if given is None or given not in USER_ROLES:
        column = inferred
    else:
        column, problem = _as_role(values, given, inferred, where, first_line)
        if problem:
            return column, problem
    if settings.missing == "error" and column.used and column.missing:
        rows = values.index[missing_values(values, column.placeholders).to_numpy()]
        return column, ("missing", f"{where}: column {name!r} is missing in {len(rows)} "
                                   f"row{'s' if len(rows) != 1 else ''} "
                                   f"({file_lines(rows, first_line)}). Fill them, or remove "
                                   "`missing: error` to impute them.")
    return column, None


def _infer(values: pd.Series, settings: TableSettings) -> Column:
    import pandas as pd

    name = str(values.name)
    missing = missing_values(values)
    present = values[~missing]
    n_missing, n = int(missing.sum()), len(present)
    if n == 0:
        return Column(name, "constant", n_missing, 0, note="empty in every row: dropped")
    if pd.api.types.is_bool_dtype(values):
        return _constant_or(Column(name, "categorical", n_missing, _levels(present)))
    if pd.api.types.is_datetime64_any_dtype(values):
        return _constant_or(Column(name, "datetime", n_missing, _levels(present)))
    if pd.api.types.is_numeric_dtype(values):
        column = _constant_or(Column(name, "numeric", n_missing, _levels(present)))
        if column.role == "numeric" and _row_number(present):
            return Column(name, "id", n_missing, column.levels,
                          note=f"dropped: a row number ({column.levels} distinct whole "
                               "numbers in a run)",
                          hint="set dataset.columns: {" + name + ": numeric} to keep it")
        return column
    text = present.astype(str).str.strip()
    levels = int(text.nunique())
    numbers = pd.to_numeric(text, errors="coerce")
    is_number = numbers.notna().to_numpy()
    others = sorted(set(text[~is_number]))
    if is_number.mean() >= NUMBER_SHARE and len(others) <= MAX_PLACEHOLDERS:
        n_placeholder = int((~is_number).sum())
        note = (f"{n_placeholder} value(s) {listing(others)} read as missing"
                if others else "")
        return _constant_or(Column(name, "numeric", n_missing + n_placeholder,
                                   int(numbers.nunique()), note=note,
                                   placeholders=tuple(others)))
    if levels == 1:
        return Column(name, "constant", n_missing, 1,
                      note=f"one value ({text.iloc[0]!r}) in every row: dropped")
    date_format = _date_format(text)
    if date_format is not None:
        unparsed = _unparsed_dates(text, date_format)
        others = sorted(set(text[unparsed]))
        note = f"{int(unparsed.sum())} value(s) {listing(others)} read as missing" \
            if others else ""
        return Column(name, "datetime", n_missing + int(unparsed.sum()), levels - len(others),
                      note=note, placeholders=tuple(others), date_format=date_format)
    if text.str.len().mean() >= TEXT_LENGTH or text.str.split().str.len().mean() >= 6:
        return _text(name, n_missing, levels, settings, "long strings")
    if levels >= MIN_ROWS_FOR_ID and levels >= ID_SHARE * n:
        return Column(name, "id", n_missing, levels,
                      note=f"dropped: identifier-like ({levels} distinct values in {n} rows)",
                      hint="set dataset.columns: {" + name + ": categorical} (or text) to "
                           "keep it")
    if levels > HIGH_CARDINALITY:
        return _text(name, n_missing, levels, settings, f"{levels} distinct strings")
    return Column(name, "categorical", n_missing, levels)


def _text(name: str, n_missing: int, levels: int, settings: TableSettings, why: str) -> Column:
    if settings.text == "encode":
        return Column(name, "text", n_missing, levels, note=f"free text ({why})")
    return Column(name, "text", n_missing, levels, keep=False,
                  note=f"dropped: free text ({why})",
                  hint="set dataset.text: encode (or dataset.columns: {" + name + ": text}) "
                       "to encode it")


def _as_role(values: pd.Series, role: str, inferred: Column, where: str,
             first_line: int | None) -> tuple[Column, tuple[str, str] | None]:
    """The column as the user's ``role``; a problem if its values cannot be that."""
    import pandas as pd

    name = str(values.name)
    base = dict(name=name, role=role, missing=inferred.missing, levels=inferred.levels,
                source="dataset.columns")
    missing = missing_values(values)
    if role == "numeric" and inferred.role != "numeric":
        if pd.api.types.is_datetime64_any_dtype(values):
            bad = ~missing
        else:
            bad = pd.to_numeric(values.astype(object), errors="coerce").isna() & ~missing
        if bad.any():
            rows = values.index[bad.to_numpy()]
            shown = listing([str(v) for v in values[bad].unique()])
            return Column(**base), ("columns", f"{where}: dataset.columns sets {name!r} to "
                                               f"numeric, but {len(rows)} rows hold other "
                                               f"values ({shown}; {file_lines(rows, first_line)}). "
                                               "Fix those values or choose another role.")
    if role == "numeric":
        return Column(**{**base, "note": inferred.note if inferred.role == "numeric" else ""},
                      placeholders=inferred.placeholders if inferred.role == "numeric"
                      else ()), None
    if role == "datetime":
        if inferred.role == "datetime":
            return Column(**base, note=inferred.note, placeholders=inferred.placeholders,
                          date_format=inferred.date_format), None
        return Column(**base), ("columns", f"{where}: dataset.columns sets {name!r} to "
                                           "datetime, but its values are not dates in one "
                                           "format; give dates such as 2012-01-31, or choose "
                                           "another role.")
    if role == "text":
        return Column(**base, note="free text"), None
    if role == "id":
        return Column(**base, note="dropped: an identifier (dataset.columns)"), None
    return Column(**base), None


def _constant_or(column: Column) -> Column:
    if column.levels == 1:
        return Column(column.name, "constant", column.missing, 1, note="one value in every "
                      "row: dropped")
    return column


def _row_number(present: pd.Series) -> bool:
    """Whole numbers, all distinct, forming (nearly) one run: 1, 2, ..., n in any order, a
    few perhaps left out with the rows whose target is missing."""
    if len(present) < MIN_ROWS_FOR_ID or present.dtype.kind not in "iu":
        return False
    span = int(present.max()) - int(present.min()) + 1
    return bool(present.is_unique and span <= 1.05 * len(present))


def _levels(values: pd.Series) -> int:
    return int(values[~missing_values(values)].astype(str).nunique())


def missing_values(values: pd.Series, placeholders: tuple[str, ...] = ()) -> pd.Series:
    """True where a value is missing: None, NaN, NaT, +-inf, an empty string or one of the
    column's ``placeholders``."""
    import pandas as pd

    out = values.isna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out |= ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
    elif values.dtype == object or pd.api.types.is_string_dtype(values):
        stripped = values.astype(str).str.strip()
        out |= stripped.eq("") | (stripped.isin(placeholders) if placeholders else False)
    return out


def _date_format(text: pd.Series) -> str | None:
    """The one date format of a string column's values (``%Y-%m-%d``, ``%Y/%m/%d``,
    ``%d.%m.%Y %H:%M``...), or None if they are not dates. Values without a digit, or shorter
    than 6 characters (``May``, ``2012``, ``?``), are never dates; a few of them (a placeholder
    for a missing date) leave the others dates."""
    import pandas as pd
    from pandas.tseries.api import guess_datetime_format

    if not (text.str.contains(r"\d").mean() >= DATE_SHARE
            and (text.str.len() >= 6).mean() >= DATE_SHARE):
        return None
    sample = text.iloc[:DATE_SAMPLE]
    guesses: dict[str, int] = {}
    for value in sample:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fmt = guess_datetime_format(value)
        if fmt is not None:
            guesses[fmt] = guesses.get(fmt, 0) + 1
    if not guesses:
        return None
    fmt = max(guesses, key=guesses.get)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    return fmt if parsed.notna().mean() >= DATE_SHARE else None


def _unparsed_dates(text: pd.Series, date_format: str) -> np.ndarray:
    """(m,) bool: the values of a string datetime column that are dates neither in its
    ``date_format`` nor in ISO 8601 (the two spellings the preparation reads)."""
    import pandas as pd

    unparsed = pd.to_datetime(text, format=date_format, errors="coerce").isna().to_numpy(
        copy=True)
    if unparsed.any():
        unparsed[unparsed] = pd.to_datetime(text[unparsed], format="ISO8601", errors="coerce",
                                            utc=True).isna().to_numpy()
    return unparsed


def file_lines(rows: Any, first_line: int | None) -> str:
    """'lines 3, 7, 12' (CSV: a row's index plus ``first_line``, its line in the file) or
    'rows 1, 5, 10' (Parquet, or rows not from a file), at most 10 listed. ``rows``: the
    frame's index values of the rows (a file's rows keep their position as index)."""
    if first_line is None:
        return "rows " + listing([int(r) for r in rows])
    return "lines " + listing([int(r) + first_line for r in rows]) + " of the file"
