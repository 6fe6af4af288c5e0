"""Do the MLflow records keep pace with the search? Run by hand, not by the tests.

Runs ``nnexp search`` on many short trials (iris, 5 epochs, no pruning: the trials people run
while they iterate) in a fresh folder and reports, per store pair:

- trials per second: the trials' span in Optuna (first start to last end) and per second of
  the whole command;
- the main process's CPU per trial (it performs every MLflow write; the workers train);
- the lag: how long the command runs after the last trial ended in Optuna;
- the command's wall time against the target of the issue (1.5 x the span + 4 s).

Each configuration runs ``--repeats`` times, alternating with ``--before TREE`` (another
checkout of nnexp, e.g. ``git worktree add /tmp/before <commit>``) when given, so both are
measured side by side in one run. PostgreSQL for both stores is measured when
``--postgres URL`` names a server (a database is created and dropped per run).

    python bench/records.py                       # journal + SQLite, 400 trials
    python bench/records.py --trials 1000 --repeats 3 --before /tmp/before
    python bench/records.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# the command, with the main process's own CPU time written at exit (its workers excluded)
WRAPPER = textwrap.dedent("""
    import atexit, json, os, resource, sys
    def _cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        with open(os.environ["NNEXP_BENCH_CPU"], "w") as f:
            json.dump({"user": r.ru_utime, "system": r.ru_stime}, f)
    atexit.register(_cpu)
    sys.argv = ["nnexp"] + sys.argv[1:]
    from nnexp.cli import run
    run()
""")

EXPERIMENT = """\
name: records
dataset: {{name: iris}}
search_space: {space}
train: {{epochs: 5}}
study: {{n_trials: {trials}, pruner: none, seed: 0}}
"""


def _postgres_db(url: str) -> tuple[str, callable]:
    """A fresh database on the server of ``url``; returns its URL and a function dropping it."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"nnexp_bench_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base.set(database=name).render_as_string(hide_password=False), drop


def measure(tree: Path, trials: int, postgres: str | None) -> dict:
    """One search of ``trials`` trials with nnexp from ``tree``; the figures above."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="nnexp-records-"))
    (work / "records.yaml").write_text(EXPERIMENT.format(
        space=ROOT / "search_spaces" / "depth_width_lr_init.yaml", trials=trials))
    env = {**os.environ, "PYTHONPATH": str(tree), "NNEXP_BENCH_CPU": str(work / "cpu.json")}
    env.pop("MLFLOW_TRACKING_URI", None)
    args, drops = [], []
    if postgres:
        storage, drop_a = _postgres_db(postgres)
        tracking, drop_b = _postgres_db(postgres)
        drops = [drop_a, drop_b]
        args = ["--storage", storage, "--tracking-uri", tracking]
    try:
        start = time.time()
        done = subprocess.run([sys.executable, "-c", WRAPPER, "search", "records.yaml",
                               "--quiet", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=1800)
        end = time.time()
        if done.returncode != 0:
            raise SystemExit(f"nnexp search failed ({done.returncode}):\n{done.stderr[-3000:]}")
        url = args[1] if postgres else f"journal:{work / 'mlruns' / 'optuna.journal'}"
        sys.path.insert(0, str(tree))
        from nnexp.stores.study_storage import open_storage

        study = optuna.load_study(study_name="records", storage=open_storage(url))
        ended = [t for t in study.trials if t.datetime_complete is not None]
        first = min(t.datetime_start.timestamp() for t in ended)
        last = max(t.datetime_complete.timestamp() for t in ended)
        cpu = json.loads((work / "cpu.json").read_text())
        span, wall = last - first, end - start
        return {"trials": len(ended), "span": span, "wall": wall, "lag": end - last,
                "main_cpu_ms_per_trial": 1000 * (cpu["user"] + cpu["system"]) / len(ended),
                "target": 1.5 * span + 4}
    finally:
        for drop in drops:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--before", type=Path, help="another nnexp checkout to compare with")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: also both stores there")
    args = parser.parse_args()
    trees = [("this tree", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    stores = [("journal + SQLite", None)] + ([("PostgreSQL", args.postgres)]
                                            if args.postgres else [])
    results: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.repeats):
        for store, url in stores:
            for label, tree in trees:  # side by side, alternating
                results.setdefault((store, label), []).append(measure(tree, args.trials, url))
    print(f"{args.trials} iris trials of 5 epochs, --jobs 1, {args.repeats} run(s) each "
          "(medians)")
    print(f"{'stores':18} {'code':10} {'span s':>7} {'wall s':>7} {'lag s':>6} "
          f"{'trials/s':>8} {'main CPU ms/trial':>18} {'target s':>9}")
    for (store, label), runs in results.items():
        def med(key: str, runs: list[dict] = runs) -> float:
            return statistics.median(r[key] for r in runs)
        print(f"{store:18} {label:10} {med('span'):7.1f} {med('wall'):7.1f} {med('lag'):6.1f} "
              f"{args.trials / med('wall'):8.1f} {med('main_cpu_ms_per_trial'):18.1f} "
              f"{med('target'):9.1f}")


if __name__ == "__main__":
    main()
