"""A trained network: architecture, parameters, label encoding and input scaling.

``Model.save(path)`` writes ``path`` (``.npz``, arrays only, loadable with
``allow_pickle=False``) and ``path`` with suffix ``.json`` (architecture and training
configuration); ``Model.load(path)`` reads both back exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnexp.core import metrics
from nnexp.core.config import TrainConfig
from nnexp.core.inputs import check_X, check_y
from nnexp.core.losses import OUTPUTS
from nnexp.core.network import Parameters, predict_logits

FORMAT_VERSION = 1
"""The layout ``save`` writes (the .json's ``format_version``); ``load`` reads this one only."""


@dataclass
class Model:
    """An L-layer network ready to predict.

    layer_dims: (n_x, n_1, ..., n_L). classes: sorted labels (C,) for classification, None for
    regression. x_shift, x_scale: (n_x,) affine input scaling ``(X - shift) / scale`` applied
    before the network (fitted on the training split), or None.
    """

    layer_dims: tuple[int, ...]
    activation: str
    output: str
    params: Parameters
    classes: np.ndarray | None = None
    x_shift: np.ndarray | None = None
    x_scale: np.ndarray | None = None
    config: TrainConfig | None = None

    @property
    def dtype(self) -> np.dtype:
        return self.params.W[0].dtype

    @property
    def n_params(self) -> int:
        return self.params.n_params

    @property
    def is_classifier(self) -> bool:
        return self.output != "linear"

    def _prepare(self, X, scaled: bool) -> np.ndarray:
        X = np.asarray(check_X(X, "X", n_features=self.layer_dims[0]), dtype=self.dtype)
        if not scaled and self.x_shift is not None:
            X = (X - self.x_shift.astype(self.dtype)) / self.x_scale.astype(self.dtype)
        return X

    def logits(self, X, *, scaled: bool = False) -> np.ndarray:
        """X: (m, n_x) raw features (or already scaled ones, ``scaled=True``) -> output logits
        Z_L: (m, n_L), in the model's dtype."""
        return predict_logits(self.params, self._prepare(X, scaled), self.activation)

    def predict_proba(self, X) -> np.ndarray:
        """X: (m, n_x) -> class probabilities (m, C), columns ordered as ``classes``."""
        if not self.is_classifier:
            raise ValueError("predict_proba needs a classifier; this model is a regressor")
        P = OUTPUTS[self.output].activate(self.logits(X))
        return np.hstack([1 - P, P]) if self.output == "sigmoid" else P

    def _class_index(self, Z: np.ndarray) -> np.ndarray:
        """Logits Z (m, n_L) -> predicted class indices (m,) into ``classes``."""
        return (Z[:, 0] > 0).astype(np.intp) if self.output == "sigmoid" else Z.argmax(axis=1)

    def predict(self, X) -> np.ndarray:
        """X: (m, n_x) -> labels (m,) drawn from ``classes``, or real values (m,) for regression."""
        Z = self.logits(X)
        return Z[:, 0] if self.output == "linear" else self.classes[self._class_index(Z)]

    def evaluate(self, X, y, *, scaled: bool = False) -> dict[str, float]:
        """Metrics on (X (m, n_x), y (m,)): accuracy and log_loss, or rmse and r2.

        log_loss is the output's loss computed from the logits (as training computes it), so a
        confident mistake counts in full rather than through a probability rounded to 0.
        ``scaled=True``: X is already scaled (the model's scaler is not applied again)."""
        Z = self.logits(X, scaled=scaled)
        y = check_y(y, Z.shape[0])
        if not self.is_classifier:
            return {"rmse": metrics.rmse(y, Z[:, 0]), "r2": metrics.r2(y, Z[:, 0])}
        Y = encode_targets(y, self.output, self.classes, self.dtype, "y")
        index = encode_labels(y, self.classes, "y")
        return {"accuracy": metrics.accuracy(index, self._class_index(Z)),
                "log_loss": OUTPUTS[self.output].cost(Z, Y)}

    def save(self, path: str | Path) -> Path:
        """Write ``<path>.npz`` (arrays) and ``<path>.json`` (configuration); return the .npz."""
        path = Path(path).with_suffix(".npz")
        arrays = {}
        for i, (w, b) in enumerate(zip(self.params.W, self.params.b), start=1):
            arrays[f"W{i}"], arrays[f"b{i}"] = w, b
        for name in ("classes", "x_shift", "x_scale"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        if self.classes is not None and self.classes.dtype == object:
            # String labels from e.g. pandas arrive as objects, which np.savez would pickle
            # (and load(allow_pickle=False) could not read): store them as unicode.
            if not all(isinstance(c, str) for c in self.classes):
                raise ValueError("classes of dtype object can be saved only if all are strings; "
                                 f"got {self.classes.tolist()}")
            arrays["classes"] = self.classes.astype(str)
        np.savez(path, **arrays)
        meta = {
            "format_version": FORMAT_VERSION,
            "layer_dims": list(self.layer_dims),
            "activation": self.activation,
            "output": self.output,
            "dtype": self.dtype.name,
            "config": self.config.to_dict() if self.config else None,
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read a model written by ``save`` (the .npz path or its stem).

        A .json of another ``format_version`` (e.g. from a newer nnexp) raises ValueError."""
        path = Path(path).with_suffix(".npz")
        meta_path = path.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"{meta_path}: format_version {version!r} is not supported; this "
                             f"nnexp reads format_version {FORMAT_VERSION} (a newer nnexp may "
                             "have written this model)")
        with np.load(path, allow_pickle=False) as data:
            L = len(meta["layer_dims"]) - 1
            params = Parameters([data[f"W{i}"] for i in range(1, L + 1)],
                                [data[f"b{i}"] for i in range(1, L + 1)])
            extra = {k: data[k] if k in data else None for k in ("classes", "x_shift", "x_scale")}
        config = TrainConfig.from_dict(meta["config"]) if meta.get("config") else None
        return cls(tuple(meta["layer_dims"]), meta["activation"], meta["output"], params,
                   config=config, **extra)


def encode_labels(y: np.ndarray, classes: np.ndarray, name: str = "y") -> np.ndarray:
    """Map labels y (m,) to indices into ``classes`` (C,); unknown labels raise ValueError."""
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    bad = classes[index] != y
    if bad.any():
        raise ValueError(f"{name} contains label(s) {np.unique(y[bad])[:5].tolist()} not seen in "
                         f"training (known classes: {classes.tolist()})")
    return index


def encode_targets(y: np.ndarray, output: str, classes: np.ndarray | None,
                   dtype: np.dtype, name: str = "y") -> np.ndarray:
    """Targets in the loss's encoding (see ``losses``): (m, 1) floats or (m,) indices."""
    if output == "linear":
        return np.asarray(y, dtype=dtype).reshape(-1, 1)
    index = encode_labels(y, classes, name)
    return index.astype(dtype).reshape(-1, 1) if output == "sigmoid" else index
