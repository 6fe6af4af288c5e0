"""The model registry across resumptions, on real stores: one registered model per study
(named after the study, ``--study-name`` included), a new version only when the study's best
improves, the ``champion`` alias on the newest best."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from search_helpers import client, write_experiment

from nnexp.cli import main


def search(experiment, *args: str):
    result = CliRunner().invoke(main, ["search", str(experiment), "--quiet", *args])
    assert result.exit_code == 0, result.output
    return result


FIXED = {  # one fixed configuration per invocation, from worst to best on the moons
    "constant": {"init": "zeros", "learning_rate": 1.0e-9},  # one class for every row
    "fair": {"learning_rate": 0.01},                         # 6 epochs
    "good": {"learning_rate": 0.05, "epochs": 60, "hidden_layers": [16]},
}


def experiment(directory, which: str):
    """The same experiment file (study 'reg' with --study-name) with a fixed configuration."""
    return write_experiment(
        directory, name="regexp",
        search_space={"parameters": {"hidden_layers": [8], **FIXED[which]}},
        study={"n_trials": 1, "seed": 1, "pruner": "none"}, tracking={"log_models": "best"})


def versions(directory, name: str) -> list[str]:
    """The version numbers of registered model ``name``, as text, in order."""
    found = client(directory).search_model_versions(f"name = '{name}'")
    return sorted((str(v.version) for v in found), key=int)


def champion(directory, name: str):
    return client(directory).get_model_version_by_alias(name, "champion")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    directory = tmp_path_factory.mktemp("registry")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        outputs = [search(experiment(directory, "fair"), "--study-name", "reg")]
        yield directory, outputs


def test_study_name_names_the_registered_model(registry):
    directory, outputs = registry
    assert versions(directory, "reg") == ["1"]
    assert versions(directory, "regexp") == []  # not the experiment's name
    assert champion(directory, "reg").tags["nnexp.trial_number"] == "0"
    assert "best model: models:/reg/1 (trial 0, new version)" in outputs[0].output


def test_a_resumption_that_does_not_improve_adds_no_version_one_that_does_moves_champion(
        registry):
    directory, _ = registry
    bad = search(experiment(directory, "constant"), "--study-name", "reg")  # trial 1: worse
    assert versions(directory, "reg") == ["1"]
    assert str(champion(directory, "reg").version) == "1"
    assert "best model: models:/reg/1 (trial 0, unchanged)" in bad.output

    good = search(experiment(directory, "good"), "--study-name", "reg")  # trial 2: better
    assert versions(directory, "reg") == ["1", "2"]
    top = champion(directory, "reg")
    assert str(top.version) == "2" and top.tags["nnexp.trial_number"] == "2"
    assert top.tags["nnexp.study"] == "reg"
    run = client(directory).get_run(top.run_id)
    assert run.data.tags["nnexp.trial_number"] == "2"
    assert run.data.metrics["objective"] > float(
        client(directory).get_model_version("reg", "1").tags["nnexp.value.dev_accuracy"])
    assert "best model: models:/reg/2 (trial 2, new version)" in good.output

    again = search(experiment(directory, "fair"), "--study-name", "reg")  # trial 3: worse
    assert versions(directory, "reg") == ["1", "2"]
    assert str(champion(directory, "reg").version) == "2"
    assert "unchanged" in again.output
