"""Per-layer signals through a real ``nnexp search``: 4_layer_<ii>/* metrics at the sampled epochs
of each trial run, the ``nnexp.signal`` tag with its evidence, and ``tracking.signals: false``."""

from __future__ import annotations

import pytest
from search_helpers import client, diverging, runs, write_experiment

from nnexp.config import ConfigError, load_experiment
from nnexp.study.runner import SearchOptions, run_search
from nnexp.tracking.records import curve
from nnexp.tracking.signals import LAYER_PREFIX, layer_key

FIXED_RELU = {"hidden_layers": [8, 8], "activation": "relu", "learning_rate": 0.01}


def only_run(workdir, name):
    (run,) = runs(workdir, name, child=True)
    return run


def test_zero_initialised_relu_net_is_a_dead_layer_with_its_signals_per_sampled_epoch(workdir):
    exp = write_experiment(workdir, name="dead",
                           search_space={"parameters": {**FIXED_RELU, "init": "zeros"}},
                           train={"epochs": 7, "batch_size": 32, "optimizer": "adam"},
                           study={"n_trials": 1, "seed": 0},
                           tracking={"log_models": "none", "signals_every": 3})
    run_search(exp, SearchOptions(quiet=True))
    run = only_run(workdir, "dead")
    assert run.data.tags["nnexp.state"] == "complete"
    assert run.data.tags["nnexp.signal"] == "dead_layer"
    assert run.data.tags["nnexp.signal_evidence"] == "epoch 1, layer 1, dead_fraction 1"
    keys = {k for k in run.data.metrics if k.startswith(LAYER_PREFIX)}
    assert keys == {layer_key(i, m) for i in (1, 2) for m in
                    ("act_mean", "act_std", "dead_fraction", "grad_norm", "update_ratio")} \
        | {layer_key(3, "grad_norm"), layer_key(3, "update_ratio")}
    assert layer_key(1, "dead_fraction") == "4_layer_01/dead_fraction"
    history = client(workdir).get_metric_history(run.info.run_id, layer_key(1, "dead_fraction"))
    assert [(h.step, h.value) for h in history] == [(1, 1.0), (3, 1.0), (6, 1.0), (7, 1.0)]


def test_diverged_trial_is_tagged_with_its_epoch_and_a_healthy_one_is_not(workdir):
    exp = write_experiment(workdir, name="boom", **diverging("relu"))
    run_search(exp, SearchOptions(quiet=True))
    by_state = {r.data.tags["nnexp.state"]: r for r in runs(workdir, "boom", child=True)}
    bad = by_state["diverged"]
    epoch = bad.data.tags["nnexp.diverged_epoch"]
    assert bad.data.tags["nnexp.signal"] == "diverged"
    assert bad.data.tags["nnexp.signal_evidence"].startswith(f"epoch {epoch}, ")
    assert "nnexp.signal" not in by_state["complete"].data.tags
    assert layer_key(2, "grad_norm") in by_state["complete"].data.metrics


def test_signals_off_in_the_experiment_file_records_none(workdir):
    exp = write_experiment(workdir, name="quiet",
                           search_space={"parameters": {**FIXED_RELU, "init": "zeros"}},
                           study={"n_trials": 1, "seed": 0},
                           tracking={"log_models": "none", "signals": False})
    run_search(exp, SearchOptions(quiet=True))
    run = only_run(workdir, "quiet")
    assert run.data.tags["nnexp.state"] == "complete"
    assert curve("dev", "accuracy") in run.data.metrics
    assert not [k for k in run.data.metrics if "layer_" in k]
    assert not [k for k in run.data.tags if k.startswith("nnexp.signal")]


@pytest.mark.parametrize("tracking", [{"signals_every": 0}, {"signals": "sometimes"}])
def test_bad_signal_settings_are_refused(workdir, tracking):
    exp = write_experiment(workdir, tracking=tracking)
    with pytest.raises(ConfigError, match="signals"):
        load_experiment(exp)
