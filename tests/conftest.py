"""Fixtures shared by the command-line tests, and the ``slow`` mark.

``pytest -m "not slow"`` is the fast subset: every module is exercised there by unit tests
and small in-process studies. The files in ``SLOW`` start real processes or servers (worker
kills, PostgreSQL outages, Dask clusters, the MLflow UI in Chromium, ``mlflow models serve``,
a Jupyter kernel) or run several studies each (advice, registry, export); they run in the
whole suite (``pytest``).
"""

from __future__ import annotations

import pytest

SLOW = {
    "test_advise_bias.py", "test_advise_edges.py", "test_advise_expert.py",
    "test_advise_variance.py", "test_dashboard.py",
    "test_inspect_export.py", "test_inspect_pareto.py", "test_invocations_concurrent.py",
    "test_deep_networks.py", "test_registry.py",
    "test_tracking_template.py",
    "test_after_search.py", "test_api.py", "test_cluster.py", "test_journal_lock.py",
    "test_notebook.py", "test_same_process.py", "test_search_concurrent.py",
    "test_search_e2e.py", "test_search_exit_codes.py", "test_search_interrupt.py",
    "test_search_kill.py", "test_search_pg_faults.py", "test_search_signals.py",
    "test_search_tracking_lost.py", "test_stores_concurrency.py", "test_stores_disk.py",
    "test_stores_journal.py", "test_stores_secrets.py", "test_tables_search.py",
    "test_ui.py", "test_ui_browser.py", "test_records_survive.py", "test_warm_start.py",
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.name in SLOW:
            item.add_marker(pytest.mark.slow)


def _work_in(directory, monkeypatch):
    """``directory`` as the working directory (its default stores) with no tracking URI set."""
    monkeypatch.chdir(directory)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return directory


@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    """A fresh working directory (so the default ``mlruns/`` is new) with no tracking URI set."""
    return _work_in(tmp_path, monkeypatch)


@pytest.fixture()
def here(made, monkeypatch):
    """The directory of the test module's study, as the working directory with no tracking URI
    set; the module defines ``made`` (``inspect_helpers.study_fixture``)."""
    return _work_in(made, monkeypatch)


@pytest.fixture()
def postgres_databases():
    """A factory of fresh, empty PostgreSQL databases: each call creates one
    (``nnexp_t_<random>``) and returns its SQLAlchemy URL; all are dropped after the test.

    The server comes from ``NNEXP_TEST_POSTGRES_URL`` (e.g.
    ``postgresql+psycopg://postgres@127.0.0.1:5432/test``; ``.ci/run`` sets it); the test is
    skipped when it is not set.
    """
    import os
    import uuid

    base = os.environ.get("NNEXP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("NNEXP_TEST_POSTGRES_URL is not set (the PostgreSQL server for this test)")
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(base)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    created: list[str] = []

    def new() -> str:
        name = f"nnexp_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    yield new
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def postgres_url(postgres_databases):
    """A fresh, empty PostgreSQL database for this test, as a SQLAlchemy URL (dropped after);
    skipped unless ``NNEXP_TEST_POSTGRES_URL`` names the server."""
    return postgres_databases()
