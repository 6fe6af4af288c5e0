"""What nnexp relies on from Optuna's and MLflow's private API (``nnexp.library_internals``),
pinned with real storages (a journal file, a SQLite RDB storage) and a real MLflow SQLite
store: an upgrade that changes any of it fails the test named after it."""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import optuna
import pytest
from optuna.samplers._tpe import _truncnorm
from optuna.storages.journal import JournalFileBackend

from nnexp import library_internals as internals
from nnexp.outage import retrying_storage

optuna.logging.set_verbosity(optuna.logging.ERROR)
pytestmark = [pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
              pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")]


@pytest.fixture()
def rdb(tmp_path):
    """A real SQLite RDB storage, with heartbeats every second (stale after one)."""
    return _heartbeats(f"sqlite:///{tmp_path / 'optuna.db'}")


# ---------------------------------------------------------------------- a study's storage


def test_a_study_keeps_the_storage_it_was_given(tmp_path) -> None:
    # runner: ``storage.failed`` of the retrying storage a study runs on; doctor writes to it
    storage = retrying_storage(optuna.storages.InMemoryStorage(), "memory", 1.0)
    study = optuna.create_study(storage=storage)
    assert internals.storage_of(study) is storage
    assert internals.storage_of(study).failed is None


def test_trial_ids_are_storage_ids_of_live_and_frozen_trials(rdb) -> None:
    optuna.create_study(study_name="first", storage=rdb).optimize(lambda t: 0.0, n_trials=3)
    study = optuna.create_study(study_name="second", storage=rdb)
    seen = []
    study.optimize(lambda t: seen.append(internals.trial_id(t)) or 0.0, n_trials=2)
    study_id = rdb.get_study_id_from_name("second")
    expected = [rdb.get_trial_id_from_study_id_trial_number(study_id, n) for n in (0, 1)]
    assert seen == expected == [4, 5]  # ids count across studies, numbers within one
    assert [internals.trial_id(t) for t in study.trials] == expected
    assert [rdb.get_trial(i).number for i in seen] == [0, 1]


def test_a_retried_trial_names_the_trial_it_retries(rdb) -> None:
    # what Optuna does for a stale trial (and nnexp.recovery.doctor.fail_trial does too)
    study = optuna.create_study(storage=rdb)
    first = study.ask()
    assert internals.retry_of(first) is None
    study.tell(first, state=optuna.trial.TrialState.FAIL)
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=2)
    retry(study, copy.deepcopy(study.trials[0]))
    second = study.ask()  # the retry, queued as a WAITING trial
    assert second.number == 1
    assert internals.retry_of(second) == 0


# ---------------------------------------------------------------------- heartbeats, caching


def _heartbeats(url: str):
    """A real SQLite RDB storage of ``url``, heartbeats every second, stale after one."""
    storage = optuna.storages.RDBStorage(url)
    internals.configure_heartbeat(storage, 1, 1, None)
    return storage


@pytest.fixture(scope="module")
def stale(tmp_path_factory) -> tuple[str, int, int]:
    """(URL, quiet, alive): study ``s`` of a SQLite storage with two RUNNING trials (their
    ids), the first of which sent one heartbeat and then none for two seconds (stale); the
    second is kept alive by ``_stale_ids``."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stale') / 'optuna.db'}"
    storage = _heartbeats(url)
    study = optuna.create_study(study_name="s", storage=storage)
    quiet, alive = study.ask(), study.ask()
    storage.record_heartbeat(internals.trial_id(quiet))
    time.sleep(2.1)  # the database's clock counts whole seconds
    return url, internals.trial_id(quiet), internals.trial_id(alive)


def _stale_ids(stale, storage) -> set[int]:
    """``stale_trial_ids`` of the ``stale`` study on ``storage``, the alive trial's heartbeat
    sent just before."""
    _, _, alive = stale
    storage.record_heartbeat(alive)
    return internals.stale_trial_ids(optuna.load_study(study_name="s", storage=storage))


def test_stale_trials_are_found_without_being_failed(stale) -> None:
    url, quiet, _ = stale
    storage = _heartbeats(url)
    assert internals.heartbeat_enabled(storage)
    assert _stale_ids(stale, storage) == {quiet}
    assert storage.get_trial(quiet).state == optuna.trial.TrialState.RUNNING


def test_heartbeat_settings_are_the_storages_attributes(rdb) -> None:
    callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
    internals.configure_heartbeat(rdb, 7, 21, callback)
    assert rdb.get_heartbeat_interval() == 7
    assert rdb.get_heartbeat_stale_trial_callback() is callback
    internals.configure_heartbeat(rdb, 1, 1, None)
    assert rdb.get_heartbeat_stale_trial_callback() is None


def test_a_journal_has_no_heartbeats(tmp_path) -> None:
    journal = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "j")))
    study = optuna.create_study(storage=journal)
    study.ask()
    assert not internals.heartbeat_enabled(journal)
    assert internals.stale_trial_ids(study) == set()


def test_the_cache_writes_through_and_keeps_the_heartbeats(rdb, stale, tmp_path) -> None:
    cached = internals.cached_storage(rdb)
    assert isinstance(cached, optuna.storages.BaseStorage)
    assert internals.heartbeat_enabled(cached) and cached.get_heartbeat_interval() == 1
    study = optuna.create_study(study_name="s", storage=cached)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    fresh = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'optuna.db'}")  # another process
    again = optuna.load_study(study_name="s", storage=fresh)
    assert [t.params.keys() for t in again.trials] == [{"x"}, {"x"}]
    assert [t.value for t in again.trials] == [t.value for t in study.trials]
    url, quiet, _ = stale
    assert _stale_ids(stale, internals.cached_storage(_heartbeats(url))) == {quiet}


def test_a_forwarding_storage_is_taken_for_the_storage_it_wraps(rdb, stale) -> None:
    calls = []

    class Counting(internals.forwarding_storage_class()):
        def _call(self, name, args, kwargs):
            calls.append(name)
            return super()._call(name, args, kwargs)

    interface = optuna.storages.BaseStorage.__abstractmethods__
    assert interface <= set(vars(internals.forwarding_storage_class()))
    storage = Counting(internals.cached_storage(rdb))
    assert internals.heartbeat_enabled(storage)  # so Optuna sends heartbeats through it
    study = optuna.create_study(storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert "record_heartbeat" in calls and "set_trial_state_values" in calls
    assert "create_new_trial" in calls and "set_trial_param" in calls
    assert internals.storage_of(study) is storage
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    url, quiet, _ = stale
    assert _stale_ids(stale, Counting(internals.cached_storage(_heartbeats(url)))) == {quiet}
    assert calls[-1] == "_get_stale_trial_ids"


# ---------------------------------------------------------------------- the journal file


def _recording_backend(path):
    """nnexp's journal backend writing ``journal_records`` itself; the logs it was given."""
    appended: list[list[dict]] = []

    def append(logs: list[dict]) -> None:
        appended.append(copy.deepcopy(logs))
        with open(path, "ab") as f:
            f.write(internals.journal_records(logs))

    return internals.journal_file_backend(str(path), append), appended


def test_optuna_writes_the_journal_through_append_logs_only(tmp_path) -> None:
    path = tmp_path / "optuna.journal"
    backend, appended = _recording_backend(path)
    study = optuna.create_study(study_name="s", storage=optuna.storages.JournalStorage(backend))
    study.optimize(lambda t: t.suggest_int("n", 0, 9), n_trials=3)
    assert path.read_bytes().count(b"\n") == sum(len(logs) for logs in appended) > 3


def test_optuna_reads_the_journal_nnexp_writes_and_nnexp_reads_optunas(tmp_path) -> None:
    path = tmp_path / "optuna.journal"
    backend, _ = _recording_backend(path)
    ours = optuna.create_study(study_name="s", storage=optuna.storages.JournalStorage(backend))
    ours.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    theirs = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(
        JournalFileBackend(str(path))))
    assert [(t.params, t.value) for t in theirs.trials] == \
        [(t.params, t.value) for t in ours.trials]
    theirs.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # Optuna's own append
    again = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(
        _recording_backend(path)[0]))
    assert len(again.trials) == 3 and again.trials[2].value == theirs.trials[2].value


def test_only_the_records_of_a_new_trial_create_a_trial(tmp_path) -> None:
    backend, appended = _recording_backend(tmp_path / "optuna.journal")
    study = optuna.create_study(storage=optuna.storages.JournalStorage(backend))
    before = len(appended)
    trial = study.ask()
    asked = appended[before:]
    assert any(internals.creates_trial(logs) for logs in asked)
    before = len(appended)
    trial.set_user_attr("a", 1)
    trial.report(0.5, step=1)
    study.tell(trial, 1.0)
    assert appended[before:] and not any(internals.creates_trial(logs)
                                         for logs in appended[before:])


# ---------------------------------------------------------------------- TPE's log normal CDF


def optuna_log_ndtr(a: np.ndarray) -> np.ndarray:
    """Optuna's own implementation: its scalar function applied element by element."""
    return np.frompyfunc(_truncnorm._log_ndtr_single, 1, 1)(a).astype(float)


def test_log_ndtr_agrees_with_optunas_everywhere() -> None:
    # both tails (Optuna switches method at -20 and 6), the centre, huge magnitudes
    a = np.concatenate([np.linspace(-80, 80, 40001), [-1e4, -20.0, -19.999, 0.0, 6.0, 6.001,
                                                        1e4, -1e-300, 1e-300]])
    ours, theirs = internals.log_ndtr(a), optuna_log_ndtr(a)
    assert ours.shape == a.shape and ours.dtype == np.float64
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)
    assert internals.log_ndtr(np.zeros((3, 2))).shape == (3, 2)
    assert internals.log_ndtr(0.0) == pytest.approx(np.log(0.5), abs=1e-15)


def _tpe_trials(seed: int) -> list[dict]:
    def objective(trial: optuna.Trial) -> float:
        depth = trial.suggest_int("depth", 1, 4)
        width = trial.suggest_int("width", 16, 256, log=True)
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        init = trial.suggest_categorical("init", ["he", "xavier", "random"])
        return abs(np.log10(lr) + 2) + 0.1 * depth + width / 1000 + (init == "random")

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=60)
    return [t.params for t in study.trials]


def test_vectorised_tpe_samples_the_same_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_truncnorm, "_log_ndtr", optuna_log_ndtr)  # fails if Optuna lost it
    before = _tpe_trials(seed=3)
    assert internals.vectorise_tpe() is True
    assert _truncnorm._log_ndtr is internals.log_ndtr
    after = _tpe_trials(seed=3)
    # the same trials: the integers and choices exactly, the learning rates to the last few
    # bits (SciPy and Optuna round differently in the last place)
    assert [{k: v for k, v in p.items() if k != "learning_rate"} for p in after] == \
        [{k: v for k, v in p.items() if k != "learning_rate"} for p in before]
    np.testing.assert_allclose([p["learning_rate"] for p in after],
                               [p["learning_rate"] for p in before], rtol=1e-12)
    assert len({tuple(p.items()) for p in after}) > 50  # TPE really sampled (not one point)


def test_an_optuna_without_the_function_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(_truncnorm, "_log_ndtr")
    assert internals.vectorise_tpe() is False
    assert not hasattr(_truncnorm, "_log_ndtr")


# ---------------------------------------------------------------------- MLflow


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    """A real MLflow SQLite store made by ``create_sqlite_store`` (a copy of the empty store
    nnexp keeps per MLflow version, made by it once), and its client; the process's tracking
    URI while the module runs."""
    import sqlite3
    from contextlib import closing

    import mlflow
    from mlflow import MlflowClient

    from nnexp.stores.tracking_store import seed_database, use_tracking_uri

    home = tmp_path_factory.mktemp("mlruns")
    database = home / "mlflow.db"
    if not seed_database(database):  # the cache cannot be used (or NNEXP_MLFLOW_TEMPLATE=0)
        internals.create_sqlite_store(database, (home / "artifacts").as_uri())
    with closing(sqlite3.connect(database)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"experiments", "runs", "metrics", "registered_models", "alembic_version"} <= tables
    uri, previous = f"sqlite:///{database}", mlflow.get_tracking_uri()
    use_tracking_uri(uri)
    yield database, MlflowClient(tracking_uri=uri, registry_uri=uri)
    use_tracking_uri(previous)


def test_a_client_writes_through_the_engines_found(mlflow_store) -> None:
    from mlflow import MlflowClient

    database, client = mlflow_store
    engines = internals.sqlalchemy_engines(client)
    assert len(engines) == 2  # tracking and model registry
    assert all(engine.url.database == str(database) for engine in engines)
    for engine in engines:
        engine.dispose()  # what nnexp does when the file was made anew: they reopen it
    assert client.create_experiment("after-dispose")
    # one store per URI for the life of the process: why disposing them is needed at all
    other = MlflowClient(tracking_uri=client.tracking_uri, registry_uri=client.tracking_uri)
    assert [id(e) for e in internals.sqlalchemy_engines(other)] == [id(e) for e in engines]


def test_a_run_artifact_is_logged_and_registered_by_its_uri(mlflow_store, tmp_path) -> None:
    _, client = mlflow_store
    run = client.create_run(client.create_experiment("artifacts"))
    (tmp_path / "note.txt").write_text("hello")
    repo = internals.artifact_repository(run.info.artifact_uri, client.tracking_uri)
    repo.log_artifact(str(tmp_path / "note.txt"), "notes")
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == \
        ["notes/note.txt"]
    assert internals.run_artifact_source(f"runs:/{run.info.run_id}/notes") == \
        f"{run.info.artifact_uri}/notes"


def test_saving_a_model_checks_requirements_through_the_patched_function(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow.pyfunc
    import mlflow.utils.environment as environment

    checked = []
    original = getattr(environment, internals.REQUIREMENTS_CHECK)  # fails if MLflow lost it
    monkeypatch.setattr(environment, internals.REQUIREMENTS_CHECK,
                        lambda requirements: checked.append(requirements) or
                        original(requirements))

    class Model(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    def save(directory) -> None:
        with internals.mlflow_logging_disabled(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlflow.pyfunc.save_model(path=str(directory), python_model=Model(),
                                     pip_requirements=["numpy"])

    save(tmp_path / "checked")
    assert checked  # MLflow calls it while it saves the model
    checked.clear()
    with internals.installed_requirements_trusted():
        save(tmp_path / "trusted")
    assert checked == []
    assert (tmp_path / "trusted" / "MLmodel").is_file()


def test_mlflow_event_log_is_silenced_in_the_block(capsys) -> None:
    from mlflow.utils.logging_utils import eprint

    with internals.mlflow_logging_disabled():
        eprint("inside")
    eprint("outside")
    assert capsys.readouterr().err == "outside\n"
