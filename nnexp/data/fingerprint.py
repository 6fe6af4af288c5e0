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
