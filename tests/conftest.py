"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    """A fresh working directory (so the default ``mlruns/`` is new) with no tracking URI set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path
