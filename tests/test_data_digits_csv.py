"""Digits are read from scikit-learn's bundled CSV with NumPy: same data as its loader."""

from __future__ import annotations

import subprocess
import sys

import numpy as np


def test_digits_csv_matches_sklearn_loader():
    from sklearn.datasets import load_digits

    from nnexp.data.builtin import digits

    ours, theirs = digits(), load_digits()
    assert np.array_equal(ours.X, theirs.data)
    assert np.array_equal(ours.y, theirs.target)
    assert ours.y.dtype == np.int64
    assert ours.feature_names == list(theirs.feature_names)
    assert ours.task == "multiclass"


def test_digits_load_without_importing_sklearn():
    code = ("import sys; from nnexp.data.builtin import digits; d = digits(); "
            "print(d.X.shape, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["(1797,", "64)", "False"]
