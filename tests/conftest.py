"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import pytest


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    """A fresh working directory (so the default ``mlruns/`` is new) with no tracking URI set."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture()
def postgres_url():
    """A fresh, empty PostgreSQL database for this test, as a SQLAlchemy URL (dropped after).

    The server comes from ``NNEXP_TEST_POSTGRES_URL`` (e.g.
    ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; ``.ci/run`` sets it); the test is
    skipped when it is not set. Each test gets its own database ``nnexp_t_<random>``.
    """
    import os
    import uuid

    base = os.environ.get("NNEXP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("NNEXP_TEST_POSTGRES_URL is not set (a PostgreSQL server for this test)")
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(base)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"nnexp_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
