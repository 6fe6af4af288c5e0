"""Dates as numbers a network can use: a scikit-learn transformer (imported only by a table's
preparation, so importing ``nnexp.data`` does not import scikit-learn).

A date becomes its year and day of year, and month, day of month and weekday as sine/cosine
pairs (December sits next to January; Sunday next to Monday); a time of day adds the hour as
a pair. A missing date (NaT) gives NaN in every feature, for the imputer after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

CYCLES = {"month": 12, "day": 31, "weekday": 7, "hour": 24}


class DatetimeFeatures(TransformerMixin, BaseEstimator):
    """One datetime column (m,) -> (m, 8) float64, or (m, 10) when the training dates had a
    time of day (``hours_``): year, day_of_year, then (sin, cos) of month, day, weekday
    [, hour]."""

    def fit(self, X, y=None) -> DatetimeFeatures:
        times = _series(X).dropna()
        self.hours_ = bool(len(times)) and bool((times != times.dt.normalize()).any())
        self.name_ = str(getattr(X, "name", None) or "date")
        return self

    def transform(self, X) -> np.ndarray:
        t = _series(X)
        parts = {"month": t.dt.month - 1, "day": t.dt.day - 1, "weekday": t.dt.day_of_week}
        if self.hours_:
            parts["hour"] = t.dt.hour
        columns = [t.dt.year.to_numpy(np.float64, na_value=np.nan),
                   t.dt.day_of_year.to_numpy(np.float64, na_value=np.nan)]
        for unit, values in parts.items():
            angle = 2 * np.pi * values.to_numpy(np.float64, na_value=np.nan) / CYCLES[unit]
            columns += [np.sin(angle), np.cos(angle)]
        return np.stack(columns, axis=1)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        units = ["month", "day", "weekday"] + (["hour"] if self.hours_ else [])
        names = ["year", "day_of_year"] + [f"{u}_{f}" for u in units for f in ("sin", "cos")]
        return np.array([f"{self.name_}_{n}" for n in names], dtype=object)


def _series(X) -> pd.Series:
    """A datetime64 Series from a Series, a one-column DataFrame or array."""
    if isinstance(X, pd.DataFrame):
        X = X.iloc[:, 0]
    return pd.Series(pd.to_datetime(np.asarray(X).reshape(-1) if not isinstance(X, pd.Series)
                                    else X))
