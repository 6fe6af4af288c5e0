"""A short content hash of a dataset's arrays, recorded with every run."""

from __future__ import annotations

import hashlib

import numpy as np

FINGERPRINT_LENGTH = 16


def fingerprint(*arrays: np.ndarray | None) -> str:
    """Hex sha256 (first 16 characters) of the arrays' dtypes, shapes and values, in order.

    ``None`` counts as a position of its own, so ``fingerprint(X, y, None, None)`` differs from
    ``fingerprint(X, y)`` only by design, never by accident. Object arrays are hashed through
    their string form. Same arrays -> same fingerprint; any changed value, shape or dtype ->
    a different one.
    """
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"None;")
            continue
        array = np.asarray(array)
        if array.dtype.kind == "O":
            array = array.astype(str)
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def table_fingerprint(frame, y: np.ndarray, decisions: dict) -> str:
    """Hex sha256 (first 16 characters) of a table's raw feature columns (names, dtypes and
    values, in order; not the index), its target values and ``decisions`` (JSON-able: the
    target's name, the column roles and settings), so the same file read with other column
    decisions has another fingerprint."""
    import json

    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(frame[c].dtype)] for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    y = np.asarray(y)
    digest.update(f"{y.dtype.str}{y.shape};".encode())
    digest.update(np.ascontiguousarray(y.astype(str) if y.dtype.kind == "O" else y).tobytes())
    digest.update(json.dumps(decisions, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]
