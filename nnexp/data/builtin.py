"""The built-in datasets: scikit-learn's bundled sets and seeded generators, no download.

``DATASETS`` maps a name to its ``DatasetInfo``; ``params`` lists every parameter a YAML
``dataset:`` section may set, with its default. Adding a dataset is adding one generator and
one entry. scikit-learn is imported inside the loaders so importing this module stays cheap.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from nnexp.data.dataset import Dataset
from nnexp.data.errors import DataError
from nnexp.errors import did_you_mean


class Shape(NamedTuple):
    """How big a built-in dataset is for given parameters, known without generating it."""

    n_rows: int
    n_features: int
    n_classes: int | None  # None for regression


@dataclass(frozen=True)
class DatasetInfo:
    """A built-in dataset: its task, a one-line description, its parameters (name -> default),
    the function ``load(**params) -> Dataset`` and ``shape(**params) -> Shape`` (which raises
    ``DataError`` for parameters the generator would reject)."""

    name: str
    task: str
    description: str
    params: dict[str, Any]
    load: Callable[..., Dataset]
    shape: Callable[..., Shape]


def _columns(n_x: int) -> list[str]:
    return [f"x{i}" for i in range(n_x)]


def _bundled(name: str, task: str) -> Dataset:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    return Dataset(name=name, X=bunch.data, y=bunch.target.astype(np.int64), task=task,
                   feature_names=list(bunch.feature_names))


def _sklearn_data_file(name: str):
    """A data file bundled with scikit-learn (``sklearn/datasets/data/<name>``), found without
    importing scikit-learn (its import costs about a second); None if it is not there."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / name
        if path.is_file():
            return path
    return None


def digits() -> Dataset:
    """1797 8x8 images of handwritten digits, pixel values 0-16: X (1797, 64), 10 classes.

    Read with NumPy from scikit-learn's bundled ``digits.csv.gz`` (64 pixels then the
    label per row, as ``sklearn.datasets.load_digits`` reads it), so loading it does not
    import scikit-learn; falls back to that loader if the file is not where it used to be."""
    path = _sklearn_data_file("digits.csv.gz")
    if path is None:
        return _bundled("digits", "multiclass")
    data = np.loadtxt(path, delimiter=",")
    return Dataset(name="digits", X=data[:, :-1], y=data[:, -1].astype(np.int64),
                   task="multiclass",
                   feature_names=[f"pixel_{row}_{col}" for row in range(8) for col in range(8)])


def breast_cancer() -> Dataset:
    """Wisconsin breast cancer: X (569, 30), y 0 = malignant, 1 = benign."""
    return _bundled("breast_cancer", "binary")


def wine() -> Dataset:
    """Wine recognition: X (178, 13) chemical measurements, 3 cultivars."""
    return _bundled("wine", "multiclass")


def iris() -> Dataset:
    """Fisher's iris: X (150, 4) sepal and petal sizes, 3 species."""
    return _bundled("iris", "multiclass")


def planar_flower(n_samples: int = 400, noise: float = 0.2, seed: int = 0) -> Dataset:
    """The course's four-petal flower: X (2 * (n_samples // 2), 2), two classes of equal size.

    For class j in {0, 1}: t = linspace(3.12 j, 3.12 (j + 1), N) + noise * N(0, 1) and
    r = 4 sin(4t) + noise * N(0, 1); the point is (r sin t, r cos t).
    """
    rng = np.random.default_rng(seed)
    N, a = n_samples // 2, 4
    X = np.zeros((2 * N, 2))
    y = np.zeros(2 * N, dtype=np.int64)
    for j in range(2):
        ix = slice(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.standard_normal(N) * noise
        r = a * np.sin(4 * t) + rng.standard_normal(N) * noise
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return Dataset(name="planar_flower", X=X, y=y, task="binary", feature_names=_columns(2))


def moons(n_samples: int = 400, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Two interleaving half circles (sklearn ``make_moons``): X (n_samples, 2), binary."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return Dataset(name="moons", X=X, y=y, task="binary", feature_names=_columns(2))


def circles(
    n_samples: int = 400, noise: float = 0.1, factor: float = 0.5, seed: int = 0
) -> Dataset:
    """A small circle inside a large one (sklearn ``make_circles``; ``factor`` is the ratio of
    the radii): X (n_samples, 2), binary."""
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return Dataset(name="circles", X=X, y=y, task="binary", feature_names=_columns(2))


def blobs(
    n_samples: int = 400, n_features: int = 2, n_classes: int = 3, noise: float = 1.0,
    seed: int = 0,
) -> Dataset:
    """Gaussian clusters, one per class, with standard deviation ``noise`` (sklearn
    ``make_blobs``): X (n_samples, n_features), n_classes classes."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n_samples, n_features=n_features, centers=n_classes,
                      cluster_std=noise, random_state=seed)
    task = "binary" if n_classes == 2 else "multiclass"
    return Dataset(name="blobs", X=X, y=y, task=task, feature_names=_columns(n_features))


def spirals(
    n_samples: int = 400, noise: float = 0.2, turns: float = 1.5, seed: int = 0
) -> Dataset:
    """Two interleaved spiral arms, one per class: X (2 * (n_samples // 2), 2), binary.

    Arm j has angle t in [0, 2 pi turns] (denser near the centre than uniform in t would be),
    radius t / (2 pi) and is rotated by j pi; ``noise`` is Gaussian on both coordinates.
    """
    rng = np.random.default_rng(seed)
    N = n_samples // 2
    X = np.zeros((2 * N, 2))
    y = np.zeros(2 * N, dtype=np.int64)
    for j in range(2):
        ix = slice(N * j, N * (j + 1))
        t = np.sqrt(rng.uniform(0.0, 1.0, N)) * 2 * np.pi * turns
        r = t / (2 * np.pi)
        X[ix] = np.c_[r * np.cos(t + j * np.pi), r * np.sin(t + j * np.pi)]
        X[ix] += rng.standard_normal((N, 2)) * noise
        y[ix] = j
    return Dataset(name="spirals", X=X, y=y, task="binary", feature_names=_columns(2))


def regression(
    n_samples: int = 400, n_features: int = 5, noise: float = 1.0, seed: int = 0
) -> Dataset:
    """Friedman #1 (sklearn ``make_friedman1``): X (n_samples, n_features) uniform on [0, 1],
    y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise * N(0, 1); the other
    features are irrelevant. n_features >= 5."""
    from sklearn.datasets import make_friedman1

    if n_features < 5:
        raise DataError(f"regression: n_features={n_features} must be at least 5.")
    X, y = make_friedman1(n_samples=n_samples, n_features=n_features, noise=noise,
                          random_state=seed)
    return Dataset(name="regression", X=X, y=y, task="regression",
                   feature_names=_columns(n_features))


def _fixed_shape(n_rows: int, n_features: int, n_classes: int) -> Callable[..., Shape]:
    return lambda: Shape(n_rows, n_features, n_classes)


def _pairs_shape(n_samples: int = 400, **_: Any) -> Shape:
    """planar_flower and spirals: two arms of n_samples // 2 points in 2-D."""
    return Shape(2 * (n_samples // 2), 2, 2)


def _plane_shape(n_samples: int = 400, **_: Any) -> Shape:
    return Shape(n_samples, 2, 2)


def _blobs_shape(n_samples: int = 400, n_features: int = 2, n_classes: int = 3,
                 **_: Any) -> Shape:
    if n_features < 1 or n_classes < 2:
        raise DataError(f"blobs: n_features={n_features} must be >= 1 and n_classes="
                        f"{n_classes} >= 2 (classification needs two classes).")
    return Shape(n_samples, n_features, n_classes)


def _regression_shape(n_samples: int = 400, n_features: int = 5, **_: Any) -> Shape:
    if n_features < 5:
        raise DataError(f"regression: n_features={n_features} must be at least 5.")
    return Shape(n_samples, n_features, None)


def _info(name: str, task: str, description: str, load: Callable[..., Dataset],
          shape: Callable[..., Shape]) -> DatasetInfo:
    params = {p.name: p.default for p in inspect.signature(load).parameters.values()}
    return DatasetInfo(name=name, task=task, description=description, params=params, load=load,
                       shape=shape)


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        _info("digits", "multiclass", "8x8 images of handwritten digits 0-9, pixels 0-16 (sklearn)",
              digits, _fixed_shape(1797, 64, 10)),
        _info("breast_cancer", "binary", "Wisconsin breast cancer, 0 malignant, 1 benign (sklearn)",
              breast_cancer, _fixed_shape(569, 30, 2)),
        _info("wine", "multiclass", "chemical analysis of wines from three cultivars (sklearn)",
              wine, _fixed_shape(178, 13, 3)),
        _info("iris", "multiclass", "Fisher's iris: sepal and petal sizes of three species "
              "(sklearn)", iris, _fixed_shape(150, 4, 3)),
        _info("planar_flower", "binary", "the course's two-colour four-petal flower in 2-D",
              planar_flower, _pairs_shape),
        _info("moons", "binary", "two interleaving half circles in 2-D", moons, _plane_shape),
        _info("circles", "binary", "a small circle inside a large one in 2-D", circles,
              _plane_shape),
        _info("blobs", "multiclass", "Gaussian clusters, one per class", blobs, _blobs_shape),
        _info("spirals", "binary", "two interleaved spiral arms in 2-D", spirals, _pairs_shape),
        _info("regression", "regression", "Friedman #1: a nonlinear real-valued target",
              regression, _regression_shape),
    )
}


_PROBE_ROWS = 50
"""Rows a generator makes to check its parameters without making the whole dataset."""


def builtin_shape(name: str, **params: Any) -> Shape:
    """The shape of built-in dataset ``name`` with ``params``, without loading or generating
    it; ``DataError`` for a name or parameters ``load_builtin`` would reject."""
    info = _checked(name, params)
    shape = info.shape(**params)
    if "n_samples" in info.params:  # a generator: a few rows show whether it takes params
        try:
            info.load(**{**params, "n_samples": min(shape.n_rows, _PROBE_ROWS)})
        except (TypeError, ValueError) as err:
            raise DataError(f"Dataset {name!r} rejected the parameters {params}: {err}") from None
    return shape


def load_builtin(name: str, **params: Any) -> Dataset:
    """Load the built-in dataset ``name`` with ``params`` overriding its defaults."""
    info = _checked(name, params)
    try:
        return info.load(**params)
    except (TypeError, ValueError) as err:
        raise DataError(f"Dataset {name!r} rejected the parameters {params}: {err}") from err


def _checked(name: str, params: dict[str, Any]) -> DatasetInfo:
    """The info of dataset ``name`` once its name and parameters pass the shared checks."""
    if name not in DATASETS:
        hint = did_you_mean(name, DATASETS, sentence=True)
        raise DataError(
            f"Unknown built-in dataset {name!r}.{hint} Valid names: {', '.join(DATASETS)}."
        )
    info = DATASETS[name]
    unknown = sorted(set(params) - set(info.params))
    if unknown:
        valid = ", ".join(info.params) if info.params else "none (it takes no parameters)"
        raise DataError(
            f"Dataset {name!r} has no parameter {', '.join(map(repr, unknown))}. "
            f"Valid parameters: {valid}."
        )
    _check_params(name, params)
    return info


def _check_params(name: str, params: dict[str, Any]) -> None:
    """Shared bounds: n_samples an integer >= 2, noise a number >= 0, seed in [0, 2**32)."""
    n = params.get("n_samples", 2)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise DataError(f"Dataset {name!r}: n_samples={n!r} must be an integer >= 2.")
    noise = params.get("noise", 0.0)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or noise < 0:
        raise DataError(f"Dataset {name!r}: noise={noise!r} must be a number >= 0.")
    seed = params.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise DataError(f"Dataset {name!r}: seed={seed!r} must be a whole number from 0 to "
                        f"{2**32 - 1}.")
