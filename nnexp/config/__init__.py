"""Experiment, search-space and run files: reading them, validating them, resolving trials.

Files are validated before anything trains: every mistake is collected and reported together
(``ConfigError``), each naming its file, line, field path and what is allowed.
"""

from nnexp.config.dataset import DatasetSpec
from nnexp.config.errors import ConfigError, Problem
from nnexp.config.experiment import Experiment, load_experiment
from nnexp.config.metrics import METRICS
from nnexp.config.names import check_name
from nnexp.config.run import RunConfig, load_run_config
from nnexp.config.sections import Tracking
from nnexp.config.space import SearchSpace, load_space
from nnexp.config.study import StudySettings, pruner_options
from nnexp.config.train import check_seed, for_task, to_train_config, trial_seed

__all__ = [
    "METRICS",
    "ConfigError",
    "DatasetSpec",
    "Experiment",
    "Problem",
    "RunConfig",
    "SearchSpace",
    "StudySettings",
    "Tracking",
    "check_name",
    "check_seed",
    "for_task",
    "load_experiment",
    "load_run_config",
    "load_space",
    "pruner_options",
    "to_train_config",
    "trial_seed",
]
