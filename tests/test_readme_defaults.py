"""The README's "Everything else has a default" block states the code's real defaults."""

from __future__ import annotations

from pathlib import Path

import yaml

from nnexp.config import DatasetSpec, StudySettings, Tracking, load_experiment
from nnexp.core.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"name", "description", "search_space", "baselines"}
"""Fields of the block that are examples, not defaults."""


def readme_defaults() -> dict:
    text = (ROOT / "README.md").read_text()
    after = text.split("Everything else has a default", 1)[1]
    block = after.split("```yaml\n", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


def field_default(model, name: str):
    info = model.model_fields[name]
    return info.default_factory() if info.default_factory else info.default


def test_readme_block_lists_every_section():
    from nnexp.config.experiment import FIELDS

    block = readme_defaults()
    assert set(block) == set(FIELDS)  # every field an experiment file takes
    assert "warm_start" in block


def test_readme_study_tracking_and_dataset_values_are_the_field_defaults():
    block = readme_defaults()
    for section, model in (("study", StudySettings), ("tracking", Tracking)):
        assert set(block[section]) == set(model.model_fields), section
        for key, value in block[section].items():
            assert value == field_default(model, key), (section, key, value)
    for key, value in block["dataset"].items():
        if key != "name":  # the example dataset
            assert value == field_default(DatasetSpec, key), ("dataset", key, value)


def test_readme_train_values_are_train_config_defaults():
    for key, value in readme_defaults()["train"].items():
        assert value == getattr(TrainConfig, key), ("train", key, value)


def test_readme_objective_is_the_default_for_its_dataset(tmp_path):
    block = readme_defaults()
    path = tmp_path / "minimal.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"name": block["dataset"]["name"]},
                                    "search_space": {"parameters": {"epochs": 3}}}))
    experiment = load_experiment(path)
    assert experiment.objective == [(block["objective"]["metric"],
                                     block["objective"]["direction"])]
    assert experiment.study.n_trials == 20 and experiment.study.pruner == "none"
    assert experiment.target_error == block["target_error"]
