"""A password in a storage or tracking URL never appears in any output, file, MLflow param or
tag, or Optuna attribute; URLs that do not name a host and a database are refused. Runs against
the machine's PostgreSQL (trust auth: any password is accepted) in fresh databases dropped
afterwards; skipped when PostgreSQL or psycopg is not available."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from search_helpers import write_experiment

from nnexp.errors import NnexpError
from nnexp.stores.study_storage import open_storage, resolve_storage_url
from nnexp.stores.tracking_store import connect

SECRET = "s3cr3t-pw"
SERVER = "127.0.0.1:5432"


def _admin():
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(f"postgresql://postgres@{SERVER}/test", connect_timeout=3,
                               autocommit=True)
    except Exception as err:  # noqa: BLE001 - no server here
        pytest.skip(f"PostgreSQL is not reachable on {SERVER}: {err}")


@pytest.fixture()
def databases():
    """Two fresh databases (Optuna's and MLflow's: both use an alembic_version table)."""
    admin = _admin()
    names = [f"nnexp_secret_{uuid.uuid4().hex[:10]}_{what}" for what in ("optuna", "mlflow")]
    for name in names:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [f"postgresql://postgres:{SECRET}@{SERVER}/{name}" for name in names]
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _run(directory, args, env_extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "NNEXP_STORAGE")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "nnexp.cli", *args], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("via", ["options", "environment"])
def test_a_password_in_the_urls_appears_nowhere(tmp_path, databases, via):
    storage, tracking = databases
    exp = write_experiment(tmp_path, name="secret", study={"n_trials": 2, "seed": 1},
                           tracking={"log_models": "all"})
    if via == "options":
        args, env = ["--storage", storage, "--tracking-uri", tracking], {}
    else:
        args, env = [], {"NNEXP_STORAGE": storage, "MLFLOW_TRACKING_URI": tracking}
    outputs = []
    for extra in ([], ["--quiet"]):  # with the progress display, then resumed
        done = _run(tmp_path, ["search", str(exp), *extra, *args], env)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    for text in outputs:
        assert SECRET not in text
    assert "postgres:***@" in "".join(outputs)

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path

    import optuna
    from mlflow import MlflowClient

    study = optuna.load_study(study_name="secret", storage=open_storage(storage))
    assert len(study.trials) == 4
    assert SECRET not in repr(study.user_attrs)
    for t in study.trials:
        assert SECRET not in repr(t.user_attrs) + repr(t.system_attrs) + repr(t.params)

    client = MlflowClient(tracking_uri=tracking)
    exp_id = client.get_experiment_by_name("secret").experiment_id
    found = client.search_runs([exp_id], max_results=1000)
    assert len(found) == 6  # 2 parents, 4 trials
    for run in found:
        assert SECRET not in repr(run.data.params) + repr(run.data.tags), run.info.run_id
        assert run.info.status != "RUNNING"
    parents = [r for r in found if r.data.tags.get("nnexp.role") == "parent"]
    assert {r.data.tags["nnexp.storage"] for r in parents} == \
        {storage.replace(SECRET, "***")}
    children = [r for r in found if r.data.tags.get("nnexp.role") != "parent"]
    for run in children:  # the artifacts (config.yaml, the model) as stored
        target = tmp_path / "downloaded" / run.info.run_id
        target.mkdir(parents=True)
        local = Path(client.download_artifacts(run.info.run_id, "", str(target)))
        stored = [p for p in local.rglob("*") if p.is_file()]
        assert stored
        for path in stored:
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_unreachable_url_with_a_password_is_masked_in_the_error(workdir):
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:1/nothing"
    for opening in (open_storage, connect):
        with pytest.raises(NnexpError) as caught:
            opening(url)
        assert SECRET not in str(caught.value) and "postgres:***@127.0.0.1:1" in str(caught.value)
    exp = write_experiment(workdir, name="away")
    done = _run(workdir, ["search", str(exp), "--quiet", "--storage", url], {})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr and "***" in done.stderr


@pytest.mark.parametrize("url", ["postgresql://", "postgresql://user:pw@host:5432",
                                 "postgresql://user@/", "postgresql+psycopg:///db"])
def test_a_database_url_without_host_or_database_is_refused(workdir, url):
    with pytest.raises(NnexpError) as caught:
        open_storage(url)
    assert "does not name" in str(caught.value) and "pw" not in str(caught.value)
    with pytest.raises(NnexpError) as caught:
        connect(url)
    assert "does not name" in str(caught.value) and "--tracking-uri" in str(caught.value)


def test_a_local_socket_is_given_as_a_host_parameter():
    from nnexp.errors import incomplete_database_url

    assert incomplete_database_url("postgresql://u@/db?host=/var/run/postgresql") is None
    assert incomplete_database_url("postgresql://u@h/db") is None
    assert incomplete_database_url("postgresql://u@h") == "the database name"
    assert incomplete_database_url("sqlite:///x.db") is None


def test_the_storage_url_precedence(monkeypatch):
    monkeypatch.setenv("NNEXP_STORAGE", "sqlite:///env.db")
    assert resolve_storage_url("sqlite:///cli.db", "sqlite:///file.db") == "sqlite:///cli.db"
    assert resolve_storage_url(None, "sqlite:///file.db") == "sqlite:///env.db"
    monkeypatch.delenv("NNEXP_STORAGE")
    assert resolve_storage_url(None, "sqlite:///file.db") == "sqlite:///file.db"
    assert resolve_storage_url(None, None) is None
