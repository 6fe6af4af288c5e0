"""Validation of arrays at the public boundary: every problem is a ``ValueError`` naming the
argument and what was wrong."""

from __future__ import annotations

import numpy as np


def check_X(X, name: str = "X", n_features: int | None = None) -> np.ndarray:
    """Return X as a 2-D float array (m, n_x) after checking shape and finiteness."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D of shape (m, n_x) with examples as rows; "
                         f"got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no examples (shape {X.shape})")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but the network expects {n_features}")
    if np.issubdtype(X.dtype, np.floating):
        bad = ~np.isfinite(X)
        if bad.any():
            rows, cols = np.nonzero(bad)
            raise ValueError(f"{name} contains {bad.sum()} NaN or inf value(s), first at row "
                             f"{rows[0]}, column {cols[0]}; clean or impute the data first")
    return X


def check_y(y, m: int, name: str = "y") -> np.ndarray:
    """Return y as a 1-D array of length m after checking shape and finiteness."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (m,); got shape {y.shape}")
    if y.shape[0] != m:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {m} examples; "
                         "they must match")
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return y
