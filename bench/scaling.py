"""Does a study scale with workers? The quickstart with 1 and 2 workers on the journal, on
PostgreSQL and on a Dask LocalCluster, side by side in one run.

Each case is a real ``nnexp search`` process in a fresh folder (fresh ``mlruns/``, a new
study): ``--jobs 1`` and ``--jobs 2`` on the embedded journal, the same with ``--storage`` a
fresh PostgreSQL database, and ``--dask`` on a ``LocalCluster`` of 1 worker x 2 threads (one
task, 2 BLAS threads, like ``--jobs 1``) and 2 workers x 1 thread (two tasks). The study is
the quickstart (digits, 30 epochs, TPE over its learning rate and initialisation) with
pruning off and depth and width fixed at its baseline's 2 x 64, so that every trial does the
same work whichever worker samples it (``--as-is``: the quickstart's whole space, where a
trial's cost depends on the sampled depth and width); MLflow is the embedded SQLite store.
Measured from the study itself: completed trials per minute
over the trial loop (first trial start to last trial end: imports, start-up and the summary
do not scale with workers and are left out), and the command's wall time. The speed-up is
each case's rate over the same placement's 1-worker rate (target >= 1.8x with 2 workers on 2
cores). Cases are interleaved, ``--rounds`` times; run it on a quiet machine, the ratios are
what matters.

    python bench/scaling.py                        # 60 trials per case, 1 round
    python bench/scaling.py --trials 60 --rounds 2 --postgres ""   # no PostgreSQL cases

Options: --trials N per case (60), --rounds N (1), --postgres URL (a server where the
benchmark creates and drops its own database; default NNEXP_TEST_POSTGRES_URL or
postgresql+psycopg://postgres@127.0.0.1:5432/test; "" skips), --no-dask, --as-is, --keep.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = os.environ.get("NNEXP_TEST_POSTGRES_URL",
                                  "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def experiment(folder: Path, as_is: bool) -> Path:
    """The quickstart experiment with pruning off; unless ``as_is``, depth and width fixed at
    its baseline's (2 x 64) so that every trial does the same work."""
    import yaml

    source = REPO / "experiments" / "quickstart.yaml"
    content = yaml.safe_load(source.read_text())
    space = yaml.safe_load((source.parent / content["search_space"]).read_text())
    if not as_is:
        space["parameters"].update(depth=2, width=64)
        content["baselines"] = [{k: v for k, v in point.items() if k not in ("depth", "width")}
                                for point in content.get("baselines", [])]
    content["name"] = "quickstart"
    content["search_space"] = {"parameters": space["parameters"]}
    content["study"] = {**content["study"], "pruner": "none"}
    path = folder / "quickstart.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


class Postgres:
    """Fresh databases on a server, dropped at the end."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(url)
        self.admin = self.server.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.created: list[str] = []

    def new(self) -> str:
        import psycopg

        name = f"nnexp_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.server.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(folder: Path, trials: int, jobs: int, storage: str | None,
            dask: str | None, as_is: bool) -> dict:
    """Run one case in ``folder``; its trial-loop rate and wall time."""
    import optuna

    from nnexp.stores.study_storage import open_storage

    exp = experiment(folder, as_is)
    command = [sys.executable, "-m", "nnexp.cli", "search", str(exp), "--n-trials", str(trials),
               "--jobs", str(jobs), "--quiet"]
    command += ["--storage", storage] if storage else []
    command += ["--dask", dask] if dask else []
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = storage or f"journal:{folder / 'mlruns' / 'optuna.journal'}"
    study = optuna.load_study(study_name="quickstart", storage=open_storage(url))
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    complete = [t for t in finished if t.state.name == "COMPLETE"]
    loop = (max(t.datetime_complete for t in finished) -
            min(t.datetime_start for t in finished)).total_seconds()
    return {"complete": len(complete), "trials": len(finished), "loop": loop, "wall": wall,
            "rate": 60 * len(complete) / loop}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--as-is", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nnexp-scaling-"))
    pg = Postgres(args.postgres) if args.postgres else None
    clusters = {}
    if not args.no_dask:
        from distributed import LocalCluster

        clusters = {1: LocalCluster(processes=True, n_workers=1, threads_per_worker=2,
                                    dashboard_address=":0"),
                    2: LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                    dashboard_address=":0")}
    cases = [("journal", None), *([("PostgreSQL", "pg")] if pg else []),
             *([("Dask LocalCluster + PostgreSQL", "dask")] if clusters and pg else [])]
    results: dict[tuple[str, int], list[dict]] = {}
    try:
        for r in range(args.rounds):
            for name, kind in cases:
                for jobs in (1, 2):
                    folder = root / f"{r}-{kind or 'journal'}-{jobs}"
                    folder.mkdir()
                    storage = pg.new() if kind in ("pg", "dask") else None
                    dask = clusters[jobs].scheduler_address if kind == "dask" else None
                    out = measure(folder, args.trials, jobs, storage, dask, args.as_is)
                    results.setdefault((name, jobs), []).append(out)
                    print(f"round {r + 1} {name} x{jobs}: {out['complete']}/{out['trials']} "
                          f"complete, loop {out['loop']:.1f} s, {out['rate']:.1f} trials/min, "
                          f"wall {out['wall']:.1f} s", file=sys.stderr, flush=True)
    finally:
        for cluster in clusters.values():
            cluster.close()
        if pg:
            pg.drop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{args.trials} trials per case, {args.rounds} round(s), {os.cpu_count()} cores\n")
    print("| placement | workers | complete trials / min (trial loop) | speed-up | "
          "command wall time s |")
    print("|---|---|---|---|---|")
    for name, _ in cases:
        base = sum(o["rate"] for o in results[(name, 1)]) / len(results[(name, 1)])
        for jobs in (1, 2):
            rows = results[(name, jobs)]
            rate = sum(o["rate"] for o in rows) / len(rows)
            rates = "-".join(f"{o['rate']:.0f}" for o in rows) if len(rows) > 1 else f"{rate:.1f}"
            walls = "-".join(f"{o['wall']:.1f}" for o in rows)
            print(f"| {name} | {jobs} | {rates} | {rate / base:.2f}x | {walls} |")


if __name__ == "__main__":
    main()
