"""Training settings in YAML: checking one value, and resolving a trial to a ``TrainConfig``.

The valid names (activations, initialisers, ...) and ranges come from ``nnexp.core``; this
module only adds YAML-facing types and did-you-mean hints on top of ``TrainConfig.validate``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from typing import Any, get_type_hints

import numpy as np
from pydantic import TypeAdapter, ValidationError

from nnexp.config.errors import did_you_mean
from nnexp.core.activations import ACTIVATIONS
from nnexp.core.config import DTYPES, FIELD_NAMES, OUTPUT_CHOICES, TrainConfig
from nnexp.core.initializers import INITIALIZERS
from nnexp.core.optimizers import OPTIMIZERS
from nnexp.core.schedules import SCHEDULES

CHOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "activation": tuple(ACTIVATIONS),
    "output": tuple(OUTPUT_CHOICES),
    "init": tuple(INITIALIZERS),
    "optimizer": tuple(OPTIMIZERS),
    "schedule": tuple(SCHEDULES),
    "dtype": tuple(DTYPES),
}
"""Training settings that take a name, with the names the core accepts."""

SEED_HIGH = 2**32
"""Seeds are whole numbers in [0, 2**32): what Optuna's samplers, NumPy's legacy generators
and scikit-learn's ``random_state`` accept."""

MAX_EPOCHS = 1_000_000
"""The most epochs a trial may ask for: more would run for days without a sign of life."""

DEPTH, WIDTH = "depth", "width"
"""Search-space parameters that build ``hidden_layers``: depth layers of width units."""

PER_LAYER = ("width", "keep_prob")
"""Parameters that may be sampled once per hidden layer, as ``width_1`` .. ``width_<depth>``."""

_LAYER_NAME = re.compile(rf"^({'|'.join(PER_LAYER)})_([1-9][0-9]*)$")


def layer_name(name: str, layer: int) -> str:
    """'width', 2 -> 'width_2' (the trial parameter of the second hidden layer)."""
    return f"{name}_{layer}"


def split_layer_name(name: str) -> tuple[str, int] | None:
    """'width_2' -> ('width', 2); None for any other name."""
    match = _LAYER_NAME.match(name)
    return (match.group(1), int(match.group(2))) if match else None


@cache
def _adapter(name: str) -> TypeAdapter:
    return TypeAdapter(get_type_hints(TrainConfig)[name])


def check_setting(name: str, value: Any) -> tuple[Any, str | None]:
    """Coerce ``value`` to the type of ``TrainConfig.<name>`` and check it on its own.

    Returns (the coerced value, None) or (value, a message saying what is allowed).
    Rules that tie two settings together are checked later, on a whole config.
    """
    if name not in FIELD_NAMES:
        return value, f"unknown training setting{did_you_mean(name, FIELD_NAMES)}"
    if name in ("seed", "epochs") and isinstance(value, int) and not isinstance(value, bool):
        error = check_seed(value, "seed") if name == "seed" else _check_epochs(value)
        if error:
            return value, error
    expected = get_type_hints(TrainConfig)[name]
    if isinstance(value, bool) or (
            isinstance(value, list | tuple) and any(isinstance(v, bool) for v in value)):
        return value, f"expected {_type_name(expected)}, got a boolean {value!r}"
    if name in CHOICE_FIELDS and isinstance(value, str) and value not in CHOICE_FIELDS[name]:
        valid = sorted(CHOICE_FIELDS[name])
        return value, (f"unknown {name} {value!r}{did_you_mean(value, valid)}; "
                       f"valid: {', '.join(valid)}")
    try:
        value = _adapter(name).validate_python(value)
    except ValidationError:
        return value, f"expected {_type_name(expected)}, got {value!r}"
    context: dict[str, Any] = {name: value}
    if name == "min_learning_rate" and value > 0:  # only its own range, not its tie to the lr
        context["learning_rate"] = max(value, 1.0)
    try:
        TrainConfig(**context)
    except (ValueError, TypeError) as err:
        if str(err).startswith((f"{name}=", f"{name}[")):
            return value, str(err)
    return value, None


def number_kind(name: str) -> str | None:
    """'float' or 'int' when parameter ``name`` is numeric (helpers may be), else None."""
    if name in (DEPTH, WIDTH):
        return "int"
    if name not in FIELD_NAMES:
        return "float"
    for kind, probe in (("float", 0.5), ("int", 1)):
        try:
            _adapter(name).validate_python(probe)
            return kind
        except ValidationError:
            pass
    return None


def _type_name(hint: Any) -> str:
    return (str(hint).replace("typing.", "").replace("NoneType", "null")
            .replace("<class '", "").replace("'>", ""))


def to_train_config(params: dict[str, Any], fixed: dict[str, Any], seed: int) -> TrainConfig:
    """The ``TrainConfig`` of one trial: fixed settings, then sampled ``params`` on top.

    ``fixed`` holds the experiment's ``train`` settings merged with the search space's fixed
    values; ``params`` are the sampled values exactly as ``trial.params`` stores them.
    ``seed`` is the training seed unless ``seed`` itself is fixed or sampled.
    ``depth`` with ``width`` (or ``width_1`` .. ``width_<depth>``) become ``hidden_layers``;
    ``keep_prob_1`` .. ``keep_prob_<depth>`` become a per-layer ``keep_prob``. Any other name
    that is not a ``TrainConfig`` field is a helper parameter (used only in conditions) and is
    dropped. Raises ``ValueError`` if the result is not a valid configuration.
    """
    values = {"seed": seed, **fixed, **params}
    depth = values.get(DEPTH)
    if depth is not None:
        if WIDTH in values:
            values["hidden_layers"] = (values[WIDTH],) * depth
        else:
            values["hidden_layers"] = tuple(values[layer_name(WIDTH, i)]
                                            for i in range(1, depth + 1))
        if layer_name("keep_prob", 1) in values:
            values["keep_prob"] = tuple(values[layer_name("keep_prob", i)]
                                        for i in range(1, depth + 1))
    return TrainConfig.from_dict({k: v for k, v in values.items() if k in FIELD_NAMES})


def check_seed(value: Any, where: str, jobs: int = 1) -> str | None:
    """Why ``value`` cannot be a seed (``where`` names it, e.g. 'study.seed' or '--seed'), or
    None. Seeds are whole numbers in [0, 2**32); with ``jobs`` worker processes the study
    seed s seeds the workers' samplers with s .. s + jobs - 1, which must fit too."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return f"{where}={value!r}: a seed is a whole number in [0, 2**32)"
    if not 0 <= value < SEED_HIGH - (jobs - 1):
        top = SEED_HIGH - jobs
        extra = f" (with {jobs} worker processes: at most {top})" if jobs > 1 else ""
        return (f"{where}={value}: a seed must be a whole number from 0 to {SEED_HIGH - 1}"
                f"{extra}, the range Optuna's samplers and NumPy accept; use one in that range")
    return None


def _check_epochs(value: int) -> str | None:
    if value > MAX_EPOCHS:
        return (f"epochs={value}: at most {MAX_EPOCHS:,} (more would train for days with no "
                "output); use fewer epochs, or patience to stop early")
    return None


def trial_seed(study_seed: int | None, number: int) -> int:
    """The training seed of trial ``number``: determined by the study seed and the number."""
    seq = np.random.SeedSequence([0 if study_seed is None else study_seed, number])
    return int(seq.generate_state(1)[0])


def for_task(config: TrainConfig, task: str | None) -> TrainConfig:
    """Pin ``output: auto`` to linear for a regression dataset (whole-number real targets
    would otherwise look like classes); the recorded config then retrains the same way."""
    if task == "regression" and config.output == "auto":
        return replace(config, output="linear")
    return config
