"""Two invocations of the same study at once: each counts only its own trials, and their
parent runs get distinct names."""

from __future__ import annotations

import re

from fault_helpers import assert_nothing_running, nnexp, start
from search_helpers import runs, write_experiment


def test_concurrent_invocations_count_their_own_trials_and_get_distinct_names(tmp_path):
    exp = write_experiment(tmp_path, name="conc", train={"epochs": 60, "batch_size": 16},
                           study={"n_trials": 3, "seed": 0})
    # the stores are created first (concurrent creation is the store lock's business)
    assert nnexp(tmp_path, "search", str(exp), "--quiet", "--n-trials", "1").returncode == 0
    first = start(tmp_path, "search", str(exp), "--quiet")
    second = start(tmp_path, "search", str(exp), "--quiet", "--n-trials", "4")
    outputs = [p.communicate(timeout=240)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    counts = [int(re.search(r"(\d+) new trial\(s\)", out).group(1)) for out in outputs]
    assert counts == [3, 4], outputs
    trials, _ = assert_nothing_running(tmp_path, "conc")
    assert len(trials) == 8
    parents = runs(tmp_path, "conc", role="parent")
    names = sorted(r.info.run_name for r in parents)
    assert names == ["conc #1", "conc #2", "conc #3"], names
    assert sorted(r.data.tags["nnexp.invocation"] for r in parents) == ["1", "2", "3"]
    by_parent = {}
    for t in trials:
        by_parent.setdefault(t.user_attrs["invocation"], []).append(t.number)
    assert sorted(len(v) for v in by_parent.values()) == [1, 3, 4]
