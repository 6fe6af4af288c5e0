"""The complete training configuration of one network: what a search trial resolves to.

A ``TrainConfig`` plus the data is everything needed to train a model exactly again; the
search layer builds one per trial and ``export`` writes it back as YAML.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from nnexp.core.activations import ACTIVATIONS
from nnexp.core.initializers import INITIALIZERS
from nnexp.core.losses import OUTPUTS
from nnexp.core.optimizers import OPTIMIZERS
from nnexp.core.schedules import SCHEDULES

DTYPES = ("float32", "float64")
OUTPUT_CHOICES = ("auto", *OUTPUTS)


def _choices(name: str, value: str, valid) -> None:
    if value not in valid:
        raise ValueError(f"{name}={value!r} is not known; valid values: {', '.join(sorted(valid))}")


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (architecture, initialisation, optimisation).

    The network has ``layer_dims = [n_x, *hidden_layers, n_out]``: ``hidden_layers=()`` is
    logistic regression, one entry is the shallow network, more is the L-layer network.
    ``n_x`` and ``n_out`` come from the data. ``output="auto"`` picks sigmoid for two classes,
    softmax for more and linear for real-valued targets.
    ``keep_prob`` is one probability for every hidden layer or one per hidden layer.
    ``batch_size=None`` means full-batch gradient descent. ``patience`` enables early stopping
    on the dev metric (restoring the best weights); ``None`` disables it.
    """

    hidden_layers: tuple[int, ...] = (64,)
    activation: str = "relu"
    output: str = "auto"
    init: str = "he"
    init_scale: float = 0.01
    optimizer: str = "adam"
    learning_rate: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    schedule: str = "constant"
    decay_rate: float = 1.0
    decay_steps: int = 1
    min_learning_rate: float = 0.0
    batch_size: int | None = 64
    epochs: int = 50
    l2: float = 0.0
    keep_prob: float | tuple[float, ...] = 1.0
    patience: int | None = None
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_layers", tuple(int(n) for n in self.hidden_layers))
        if isinstance(self.keep_prob, list | tuple):
            object.__setattr__(self, "keep_prob", tuple(float(p) for p in self.keep_prob))
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field and what is allowed if any value is invalid."""
        for i, n in enumerate(self.hidden_layers):
            if n < 1:
                raise ValueError(f"hidden_layers[{i}]={n}: layer sizes must be >= 1")
        _choices("activation", self.activation, ACTIVATIONS)
        _choices("output", self.output, OUTPUT_CHOICES)
        _choices("init", self.init, INITIALIZERS)
        _choices("optimizer", self.optimizer, OPTIMIZERS)
        _choices("schedule", self.schedule, SCHEDULES)
        _choices("dtype", self.dtype, DTYPES)
        positive = {"learning_rate": self.learning_rate, "epsilon": self.epsilon,
                    "decay_rate": self.decay_rate, "init_scale": self.init_scale}
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}={value!r}: must be a finite number > 0")
        for name, value in {"beta1": self.beta1, "beta2": self.beta2}.items():
            if not 0 <= value < 1:
                raise ValueError(f"{name}={value!r}: must be in [0, 1)")
        if not (math.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2={self.l2!r}: must be a finite number >= 0")
        if not 0 <= self.min_learning_rate <= self.learning_rate:
            raise ValueError(
                f"min_learning_rate={self.min_learning_rate!r}: must be in [0, learning_rate]")
        if self.decay_steps < 1:
            raise ValueError(f"decay_steps={self.decay_steps!r}: must be >= 1")
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs!r}: must be >= 1")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(
                f"batch_size={self.batch_size!r}: must be >= 1 (or null for full batch)")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience={self.patience!r}: must be >= 1 (or null to disable)")
        probs = self.keep_prob if isinstance(self.keep_prob, tuple) else (self.keep_prob,)
        if isinstance(self.keep_prob, tuple) and len(probs) != len(self.hidden_layers):
            raise ValueError(
                f"keep_prob has {len(probs)} values but there are {len(self.hidden_layers)} "
                "hidden layers: give one probability, or one per hidden layer")
        for p in probs:
            if not 0 < p <= 1:
                raise ValueError(f"keep_prob={p!r}: must be in (0, 1]")

    def keep_probs(self) -> tuple[float, ...]:
        """Keep probability of each hidden layer, length L - 1."""
        if isinstance(self.keep_prob, tuple):
            return self.keep_prob
        return (float(self.keep_prob),) * len(self.hidden_layers)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-ready dict (tuples become lists)."""
        out = asdict(self)
        out["hidden_layers"] = list(self.hidden_layers)
        if isinstance(self.keep_prob, tuple):
            out["keep_prob"] = list(self.keep_prob)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict such as ``to_dict`` returns; unknown keys raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; valid: {sorted(known)}")
        return cls(**values)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TrainConfig))
