"""New SQLite tracking stores are copies of an empty one made once per MLflow version."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from nnexp.stores import tracking_store as store


def _schema(path) -> tuple[dict, list, str]:
    """Tables with their columns, index names and the schema version. (Not the CREATE
    statements: MLflow's migrations order a table's constraints differently from one process
    to the next, so two stores MLflow creates itself differ in that text too.)"""
    with closing(sqlite3.connect(path)) as db:
        names = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        tables = {t: sorted((c[1], c[2], c[3], c[5]) for c in
                            db.execute(f"pragma table_info('{t}')")) for t in names}
        indexes = sorted(r[0] for r in db.execute(
            "select name from sqlite_master where type='index'"))
        version = db.execute("select version_num from alembic_version").fetchone()[0]
    return tables, indexes, version


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(store.TEMPLATE_ENV, raising=False)
    return tmp_path / "cache"


def test_seeded_store_is_the_store_mlflow_creates(tmp_path, cache, monkeypatch):
    seeded, plain = tmp_path / "a" / "mlflow.db", tmp_path / "b" / "mlflow.db"
    client = store.connect(f"sqlite:///{seeded}")
    assert store.template_path().is_file()
    assert store.template_path().parent == cache / "nnexp"
    monkeypatch.setenv(store.TEMPLATE_ENV, "0")
    store.connect(f"sqlite:///{plain}")
    assert _schema(seeded) == _schema(plain)
    default = client.get_experiment("0")  # added by MLflow on opening, with its own location
    assert default.name == "Default"
    assert str(seeded.parent) not in str(store.template_path())
    exp = store.ensure_experiment(client, "x", f"sqlite:///{seeded}")
    assert client.get_experiment(exp).artifact_location == store.artifact_root(
        f"sqlite:///{seeded}")


def test_second_store_is_copied_not_migrated(tmp_path, cache):
    store.connect(f"sqlite:///{tmp_path / 'a' / 'mlflow.db'}")
    database = tmp_path / "b" / "mlflow.db"
    database.parent.mkdir()
    assert store.seed_database(database)
    assert not store.seed_database(database)  # an existing store is never replaced
    store.connect(f"sqlite:///{database}").search_experiments()


def test_unusable_cache_falls_back_to_mlflow(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    database = tmp_path / "a" / "mlflow.db"
    client = store.connect(f"sqlite:///{database}")
    assert client.get_experiment("0").name == "Default"
    assert not list(database.parent.glob(".*.partial"))


def test_switched_off(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(store.TEMPLATE_ENV, "0")
    database = tmp_path / "mlflow.db"
    assert not store.seed_database(database)
    assert not database.exists()
