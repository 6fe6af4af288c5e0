"""Does the Optuna storage hold several worker processes? SQLite vs journal vs PostgreSQL.

For each storage, ``--workers`` processes (spawned, like ``nnexp search --jobs``) share one study
and each runs ``--trials`` trivially fast trials. A trial makes the storage calls an nnexp trial
makes, in miniature: 4 suggests, 4 user attributes, ``--reports`` intermediate values each
followed by ``should_prune`` (median pruner), a ~5 ms sleep, then tell. Storages are opened
with ``nnexp.stores.study_storage.open_storage`` (so SQLite/PostgreSQL get nnexp's heartbeat
settings). Workers import and load the study first, then start together, so the time is the
trial loop alone. Every exception a worker sees (e.g. ``sqlite3.OperationalError: database is
locked``) is counted, and so are the trials recorded in the storage against those expected.
With ``--mlflow`` every trial also creates, logs to and ends an MLflow run in one shared
SQLite tracking store (nnexp's embedded default), to see whether that store holds the workers.

    /work/venv/bin/python bench/storage.py
    /work/venv/bin/python bench/storage.py --workers 4 --trials 50 --rounds 2 --mlflow

Options: --workers N (4), --trials N per worker (50), --reports N per trial (10), --sleep MS
(5), --rounds N (each storage N times, interleaved), --postgres URL (default
postgresql://postgres@127.0.0.1:5432/test; "" skips it; skipped with a note when psycopg2 is
missing or the server is unreachable), --mlflow, --keep.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import socket
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.CRITICAL)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)


def objective_factory(reports: int, sleep_s: float, mlflow_uri: str | None, experiment_id):
    """The trial: nnexp's storage traffic in miniature (optionally with an MLflow run)."""
    import optuna

    client = None
    if mlflow_uri:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=mlflow_uri)

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        y = trial.suggest_int("y", 1, 4)
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.suggest_categorical("init", ["he", "xavier", "random"])
        for key in ("seed", "config", "worker", "state"):
            trial.set_user_attr(key, f"{key}-{trial.number}")
        run_id = None
        if client is not None:
            from mlflow.entities import Metric

            run_id = client.create_run(experiment_id, run_name=f"trial-{trial.number}",
                                       tags={"nnexp.trial_number": str(trial.number)}).info.run_id
        value = x * x + y
        for step in range(reports):
            trial.report(value + 1.0 / (step + 1), step)
            if trial.should_prune():
                if client is not None:
                    client.set_terminated(run_id, "KILLED")
                raise optuna.TrialPruned()
        time.sleep(sleep_s)
        if client is not None:
            metrics = [Metric(f"m{k}", float(step), 0, step) for step in range(reports)
                       for k in range(6)]
            client.log_batch(run_id, metrics=metrics)
            client.set_terminated(run_id, "FINISHED")
        return value

    return objective


def worker(url: str, study_name: str, index: int, trials: int, reports: int, sleep_s: float,
           mlflow_uri: str | None, experiment_id, ready, go, results) -> None:
    """One worker process: load the study, wait for the start signal, run ``trials`` trials."""
    errors: list[str] = []
    done = 0
    elapsed = 0.0
    try:
        import optuna

        from nnexp.stores.study_storage import open_storage

        quiet_optuna()
        study = optuna.load_study(study_name=study_name, storage=open_storage(url),
                                  sampler=optuna.samplers.TPESampler(seed=index),
                                  pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
        objective = objective_factory(reports, sleep_s, mlflow_uri, experiment_id)
    except Exception as err:  # noqa: BLE001 - reported, not raised
        errors.append(_name(err))
        ready.put(index)
        results.put((index, done, errors, elapsed))
        return
    ready.put(index)
    go.wait()
    start = time.perf_counter()
    for _ in range(trials):
        try:
            study.optimize(objective, n_trials=1, catch=())
            done += 1
        except Exception as err:  # noqa: BLE001 - the point is to count them
            errors.append(_name(err))
    elapsed = time.perf_counter() - start
    results.put((index, done, errors, elapsed))


def _name(err: BaseException) -> str:
    first = (str(err).strip().splitlines() or [""])[0][:80]
    where = traceback.extract_tb(err.__traceback__)[-1].name if err.__traceback__ else ""
    return f"{type(err).__name__}: {first} (in {where})"


def run_case(label: str, url: str, workers: int, trials: int, reports: int, sleep_s: float,
             mlflow_uri: str | None) -> dict:
    """Create a study in ``url``, run the workers on it, count what the storage holds."""
    import optuna

    from nnexp.stores.study_storage import open_storage

    quiet_optuna()
    study_name = f"bench-storage-{int(time.time() * 1000)}"
    optuna.create_study(study_name=study_name, storage=open_storage(url), direction="minimize")
    experiment_id = None
    if mlflow_uri:
        from nnexp.stores.tracking_store import connect, ensure_experiment

        experiment_id = ensure_experiment(connect(mlflow_uri), study_name, mlflow_uri)
    spawn = multiprocessing.get_context("spawn")
    ready, results, go = spawn.Queue(), spawn.Queue(), spawn.Event()
    procs = [spawn.Process(target=worker, args=(url, study_name, i, trials, reports, sleep_s,
                                                mlflow_uri, experiment_id, ready, go, results))
             for i in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    start = time.perf_counter()
    go.set()
    outcomes = [results.get(timeout=3600) for _ in procs]
    wall = time.perf_counter() - start
    for p in procs:
        p.join()
    errors = Counter(e for _, _, errs, _ in outcomes for e in errs)
    stored = optuna.load_study(study_name=study_name, storage=open_storage(url))
    states = Counter(t.state.name for t in stored.get_trials(deepcopy=False))
    runs = None
    if mlflow_uri:
        from mlflow import MlflowClient

        found = MlflowClient(tracking_uri=mlflow_uri).search_runs([experiment_id],
                                                                  max_results=50000)
        runs = Counter(r.info.status for r in found)
    if url.startswith("postgresql"):
        optuna.delete_study(study_name=study_name, storage=open_storage(url))
    expected = workers * trials
    return {"label": label, "expected": expected, "states": states, "errors": errors,
            "wall": wall, "per_trial_ms": wall / expected * 1000,
            "worker_ms": sum(e for *_, e in outcomes) / expected * 1000,
            "exit_codes": [p.exitcode for p in procs], "runs": runs}


def postgres_url(url: str) -> tuple[str | None, str]:
    """(the URL to use, a note): SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, so
    with only psycopg2 installed the URL becomes ``postgresql+psycopg2://``. (None, why) if
    PostgreSQL cannot be used."""
    import importlib.util

    parsed = urlparse(url)
    note = ""
    if "+" not in parsed.scheme and importlib.util.find_spec("psycopg") is None:
        if importlib.util.find_spec("psycopg2") is None:
            return None, "neither psycopg (3) nor psycopg2 is installed in this environment"
        url = url.replace(parsed.scheme + "://", parsed.scheme + "+psycopg2://", 1)
        note = ", psycopg2"
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432),
                                 timeout=2).close()
    except OSError as err:
        return None, f"server not reachable ({err})"
    return url, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=50, help="trials per worker")
    parser.add_argument("--reports", type=int, default=10,
                        help="intermediate values (report + should_prune) per trial")
    parser.add_argument("--sleep", type=float, default=5.0, help="ms of 'training' per trial")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every storage this many times, interleaved")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--mlflow", action="store_true",
                        help="each trial also writes an MLflow run to a shared SQLite store")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nnexp-storage-"))
    cases = [("journal file (nnexp default)", "journal"), ("SQLite (Optuna RDB)", "sqlite")]
    skipped, pg_url = None, None
    if args.postgres:
        pg_url, note = postgres_url(args.postgres)
        if pg_url is None:
            skipped = note
        else:
            cases.append((f"PostgreSQL (Optuna RDB{note})", "postgres"))
    results = []
    for round_ in range(args.rounds):
        for label, kind in cases:
            case_dir = workdir / f"{kind}-{round_}"
            case_dir.mkdir()
            url = {"journal": f"journal:{case_dir / 'optuna.journal'}",
                   "sqlite": f"sqlite:///{case_dir / 'optuna.db'}",
                   "postgres": pg_url}[kind]
            mlflow_uri = f"sqlite:///{case_dir / 'mlflow.db'}" if args.mlflow else None
            print(f"running {label}, round {round_ + 1} ...", flush=True)
            results.append(run_case(label, url, args.workers, args.trials, args.reports,
                                    args.sleep / 1000, mlflow_uri))

    print(f"\n{args.workers} worker processes x {args.trials} trials on one study; per trial "
          f"{args.reports} report+should_prune, 4 suggests, 4 user attrs, {args.sleep:g} ms "
          f"sleep{'; + one MLflow run in a shared SQLite store' if args.mlflow else ''}")
    header = ("storage", "expected", "complete", "pruned", "fail", "running", "missing",
              "errors", "wall s", "ms/trial", "worker ms/trial")
    rows = []
    for r in results:
        s = r["states"]
        recorded = sum(s.values())
        rows.append((r["label"], r["expected"], s.get("COMPLETE", 0), s.get("PRUNED", 0),
                     s.get("FAIL", 0), s.get("RUNNING", 0), r["expected"] - recorded,
                     sum(r["errors"].values()), f"{r['wall']:.1f}", f"{r['per_trial_ms']:.1f}",
                     f"{r['worker_ms']:.1f}"))
    widths = [max(len(str(x[i])) for x in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))))
    print("ms/trial: wall time of the trial loop / trials expected (throughput of all workers); "
          "worker ms/trial: one worker's time per trial (latency)")
    for r in results:
        if r["errors"]:
            print(f"\n{r['label']}: exceptions seen by the workers")
            for message, count in r["errors"].most_common(8):
                print(f"  {count:5d} x {message}")
        if r["runs"] is not None:
            print(f"{r['label']}: MLflow runs recorded {sum(r['runs'].values())} "
                  f"{dict(r['runs'])}")
        if any(code != 0 for code in r["exit_codes"]):
            print(f"{r['label']}: worker exit codes {r['exit_codes']}")
    if skipped:
        print(f"\nPostgreSQL skipped: {skipped}")
    elif pg_url and pg_url != args.postgres:
        print(f"\nPostgreSQL: {args.postgres} needs psycopg 3 under SQLAlchemy 2.1; psycopg 3 is "
              "not installed, so it ran as postgresql+psycopg2://...")
    if args.keep:
        print(f"\nkept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
