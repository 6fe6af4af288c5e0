"""Experiment, search-space and run files: reading them, validating them, resolving trials.

Files are validated before anything trains: every mistake is collected and reported together
(``ConfigError``), each naming its file, line, field path and what is allowed.
"""

from nnexp.config.dataset import DatasetSpec
from nnexp.config.errors import ConfigError, Problem
from nnexp.config.experiment import Experiment, StudySettings, load_experiment
from nnexp.config.metrics import METRICS
from nnexp.config.run import RunConfig, load_run_config
from nnexp.config.sections import Tracking
from nnexp.config.space import SearchSpace, load_space
from nnexp.config.train import to_train_config

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
    "load_experiment",
    "load_run_config",
    "load_space",
    "to_train_config",
]
