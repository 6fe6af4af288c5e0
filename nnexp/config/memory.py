"""Will the largest network of a search space fit in memory? An estimate before training.

At the largest point of the space (highest depth x highest width, largest batch, widest
dtype) training holds: the parameters four times (weights, gradients and an optimiser's two
moments), the activations of one batch (Z and A of every layer), and the data (float64 as
loaded, and the scaled training copy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from nnexp.config.space import SearchSpace
from nnexp.config.train import DEPTH, WIDTH
from nnexp.core.config import TrainConfig

GIB = 2**30
MEMORY_CAP = 8 * GIB
"""The most memory an experiment may plan for, whatever the machine has."""


def memory_limit() -> int:
    """The smaller of this machine's physical memory and ``MEMORY_CAP``, in bytes."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return MEMORY_CAP
    return min(physical, MEMORY_CAP) if physical > 0 else MEMORY_CAP


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed to train the largest network of a space (see the module docstring).

    layer_dims : [n_x, *hidden, n_out] of that network; batch : examples per step;
    dtype_bytes : 4 (float32) or 8; culprit : the setting that drives the size most
    (``width``, ``depth``, ``hidden_layers``, ``batch_size`` or ``data``).
    """

    layer_dims: tuple[int, ...]
    batch: int
    dtype_bytes: int
    model_bytes: int
    activation_bytes: int
    data_bytes: int
    culprit: str

    @property
    def parameters(self) -> int:
        dims = self.layer_dims
        return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))

    @property
    def total(self) -> int:
        return self.model_bytes + self.activation_bytes + self.data_bytes

    def describe(self) -> str:
        """'~12.3 MiB at the largest network 64-128-128-10 (...)'."""
        dims = "-".join(map(str, self.layer_dims))
        return (f"~{human(self.total)} at the largest network {dims} ({self.parameters:,} "
                f"parameters, batch {self.batch}, {8 * self.dtype_bytes}-bit): model "
                f"{human(self.model_bytes)}, activations {human(self.activation_bytes)}, data "
                f"{human(self.data_bytes)}")


def human(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def _largest(space: SearchSpace, fixed: dict[str, Any], name: str, default: Any) -> Any:
    """The largest value ``name`` takes in the space (None counts as largest: full batch)."""
    param = space.get(name)
    if param is None or param.kind == "fixed":
        return fixed.get(name, default)
    values = param.values() if param.values() is not None else [param.low, param.high]
    if any(v is None for v in values):
        return None
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(numbers) if numbers else default


def estimate_memory(space: SearchSpace, fixed: dict[str, Any], n_features: int,
                    n_outputs: int, n_rows: int | None, train_share: float) -> MemoryEstimate:
    """The memory the largest network of ``space`` needs (``fixed``: the shared settings)."""
    if space.get(DEPTH) is not None:
        depth = int(_largest(space, fixed, DEPTH, 1))
        width = int(_largest(space, fixed, WIDTH, 1))
        hidden = (width,) * depth
        culprit = WIDTH
    else:
        hidden = tuple(int(n) for n in fixed.get("hidden_layers", TrainConfig.hidden_layers))
        culprit = "hidden_layers"
    dtypes = [fixed.get("dtype", TrainConfig.dtype)]
    if space.get("dtype") is not None and space.get("dtype").kind == "categorical":
        dtypes = list(space.get("dtype").choices)
    size = 8 if "float64" in dtypes else 4
    rows = n_rows or 0
    n_train = max(1, int(rows * train_share)) if rows else None
    batch = _largest(space, fixed, "batch_size", TrainConfig.batch_size)
    if batch is None:
        batch = n_train or 1
    batch = int(min(batch, n_train)) if n_train else int(batch)
    dims = (n_features, *hidden, n_outputs)
    n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    model = 4 * n_params * size
    activations = 2 * batch * sum(dims) * size
    data = rows * n_features * (8 + 8 + size)
    parts = {culprit: model, "batch_size": activations, "data": data}
    return MemoryEstimate(dims, batch, size, model, activations, data,
                          max(parts, key=parts.get))
