"""Feature scaling as one affine map ``X' = (X - shift) / scale``, fitted on train only.

Standardisation (shift = mean, scale = std) and min-max scaling (shift = min,
scale = max - min) are both affine, so a fitted scaler is two vectors of length n_x that the
model stores and applies again at prediction time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnexp.data.errors import DataError

SCALERS = ("standard", "minmax", "none")


@dataclass(frozen=True, eq=False)
class Scaler:
    """A fitted affine feature map.

    kind : one of ``SCALERS``.
    shift, scale : ndarray of shape (n_x,), float64; ``scale`` has no zeros.
    """

    kind: str
    shift: np.ndarray
    scale: np.ndarray

    def transform(self, X: np.ndarray) -> np.ndarray:
        """X: (m, n_x) -> (X - shift) / scale: (m, n_x), float64 (a new array)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.shift.shape[0]:
            raise DataError(
                f"The {self.kind} scaler was fitted on {self.shift.shape[0]} features but got "
                f"an array of shape {X.shape}; give X of shape (m, {self.shift.shape[0]})."
            )
        return (X - self.shift) / self.scale


def fit_scaler(X_train: np.ndarray, kind: str, flags: np.ndarray | None = None) -> Scaler:
    """Fit a scaler of ``kind`` on X_train: (m_train, n_x), m_train >= 1.

    Features whose scale would be zero (constant on train) get scale 1, so they are only
    shifted. flags: (n_x,) booleans, True for 0/1 features (one-hot columns, missing
    indicators) that keep their values (shift 0, scale 1).
    """
    if kind not in SCALERS:
        raise DataError(f"scale={kind!r} is not known; use one of: {', '.join(SCALERS)}.")
    n_x = X_train.shape[1]
    if kind == "standard":
        shift, scale = X_train.mean(axis=0), X_train.std(axis=0)
    elif kind == "minmax":
        shift = X_train.min(axis=0)
        scale = X_train.max(axis=0) - shift
    else:
        shift, scale = np.zeros(n_x), np.ones(n_x)
    scale = np.where(scale > 0, scale, 1.0)
    if flags is not None:
        flags = np.asarray(flags, dtype=bool)
        shift, scale = np.where(flags, 0.0, shift), np.where(flags, 1.0, scale)
    return Scaler(kind=kind, shift=shift.astype(np.float64), scale=scale.astype(np.float64))
