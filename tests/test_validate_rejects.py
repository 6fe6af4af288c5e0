"""``nnexp validate`` rejects everything ``nnexp search`` would: each case is a real file in a
temporary folder, run through the command line; exit code 2, the file and field named, no
traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from search_helpers import assert_user_error, invoke

SPACE = ("search_space: {parameters: {depth: {type: int, low: 1, high: 2}, "
         "width: {type: int, low: 4, high: 8}, epochs: 2}}\n")


def write_data(folder: Path) -> None:
    # a is a measurement (0.0, 0.5, ...), not a row number (0, 1, ...), which would be dropped
    rows = "".join(f"{i * 0.5},{i % 3},{i % 2}\n" for i in range(40))
    (folder / "data.csv").write_text("a,b,label\n" + rows)
    (folder / "header.csv").write_text("a,b,label\n")
    (folder / "empty.csv").write_text("")
    (folder / "blank.csv").write_text("\n\n")
    (folder / "no_labels.csv").write_text("a,b,label\n" + "".join(f"{i},{i},\n"
                                                                  for i in range(40)))
    (folder / "garbage.npz").write_bytes(b"not a zip file " * 20)
    (folder / "garbage.h5").write_bytes(b"nope" * 100)
    (folder / "garbage.parquet").write_bytes(b"nope" * 100)
    np.savez(folder / "objects.npz", X=np.zeros((4, 2)),
             y=np.array([1, "a", None, 2], dtype=object))
    np.savez(folder / "mismatch.npz", X=np.zeros((10, 2)), y=np.arange(9) % 2)
    np.savez(folder / "no_rows.npz", X=np.zeros((0, 3)), y=np.zeros(0))


LAUGHS = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))

# (id, experiment text, file named, fragments the message must contain)
CASES = [
    ("objective for another task", "dataset: {path: data.csv, target: label}\n"
     "objective: dev_rmse\n" + SPACE, "exp.yaml", ["objective.metric", "dev_rmse", "binary"]),
    ("target column missing", "dataset: {path: data.csv, target: lable}\n" + SPACE, "exp.yaml",
     ["dataset.target", "'lable'", "Did you mean 'label'"]),
    ("target not given", "dataset: {path: data.csv}\n" + SPACE, "exp.yaml",
     ["dataset.target", "Columns: 'a', 'b', 'label'"]),
    ("header-only CSV", "dataset: {path: header.csv, target: label}\n" + SPACE, "exp.yaml",
     ["dataset.path", "header.csv", "no data rows"]),
    ("empty CSV", "dataset: {path: empty.csv, target: label}\n" + SPACE, "exp.yaml",
     ["dataset.path", "empty.csv", "empty"]),
    ("blank CSV", "dataset: {path: blank.csv, target: label}\n" + SPACE, "exp.yaml",
     ["dataset.path", "blank.csv", "no header"]),
    ("empty target column", "dataset: {path: no_labels.csv, target: label}\n" + SPACE,
     "exp.yaml", ["dataset.target", "'label'", "empty in every row"]),
    ("garbage npz", "dataset: {path: garbage.npz}\n" + SPACE, "exp.yaml",
     ["dataset.path", "garbage.npz", "could not be read as NPZ"]),
    ("garbage hdf5", "dataset: {path: garbage.h5}\n" + SPACE, "exp.yaml",
     ["dataset.path", "garbage.h5", "HDF5"]),
    ("garbage parquet", "dataset: {path: garbage.parquet, target: a}\n" + SPACE, "exp.yaml",
     ["dataset.path", "garbage.parquet", "Parquet"]),
    ("pickled npz", "dataset: {path: objects.npz}\n" + SPACE, "exp.yaml",
     ["dataset.path", "objects.npz", "Python objects"]),
    ("npz lengths differ", "dataset: {path: mismatch.npz}\n" + SPACE, "exp.yaml",
     ["dataset.path", "one label per example"]),
    ("npz without rows", "dataset: {path: no_rows.npz}\n" + SPACE, "exp.yaml",
     ["dataset.path", "no examples"]),
    ("task binary with 3 classes", "dataset: {path: data.csv, target: b, task: binary}\n"
     + SPACE, "exp.yaml", ["dataset.task", "3 classes", "multiclass"]),
    ("negative study seed", "dataset: {name: moons}\nstudy: {seed: -1}\n" + SPACE, "exp.yaml",
     ["study.seed", "seed=-1", "4294967295"]),
    ("study seed too big", "dataset: {name: moons}\nstudy: {seed: 4294967296}\n" + SPACE,
     "exp.yaml", ["study.seed", "4294967296"]),
    ("study seed plus jobs too big", "dataset: {name: moons}\n"
     "study: {seed: 4294967295, jobs: 2}\n" + SPACE, "exp.yaml", ["study.seed", "2 worker"]),
    ("negative dataset seed", "dataset: {name: moons, seed: -3}\n" + SPACE, "exp.yaml",
     ["dataset.seed", "seed=-3"]),
    ("negative generator seed", "dataset: {name: moons, params: {seed: -3}}\n" + SPACE,
     "exp.yaml", ["dataset.params", "seed=-3"]),
    ("train seed too big", "dataset: {name: moons}\ntrain: {seed: 99999999999}\n" + SPACE,
     "exp.yaml", ["train.seed", "99999999999"]),
    ("searched seed negative", "dataset: {name: moons}\n"
     "search_space: {parameters: {seed: {type: int, low: -5, high: 5}}}\n", "exp.yaml",
     ["search_space.parameters.seed.low", "seed=-5"]),
    ("unbounded epochs", "dataset: {name: moons}\ntrain: {epochs: 1000000000000}\n"
     "search_space: {parameters: {learning_rate: 0.01}}\n", "exp.yaml",
     ["train.epochs", "at most 1,000,000"]),
    ("width beyond memory", "dataset: {name: moons}\nsearch_space: {parameters: {depth: "
     "{type: int, low: 1, high: 3}, width: {type: int, low: 4, high: 10000000}}}\n",
     "exp.yaml", ["search_space.parameters.width", "training would need", "PiB",
                  "lower the high end of width"]),
    ("hidden layers beyond memory", "dataset: {name: digits}\n"
     "train: {hidden_layers: [200000, 200000]}\n"
     "search_space: {parameters: {learning_rate: 0.01}}\n", "exp.yaml",
     ["train.hidden_layers", "GiB", "64-200000-200000-10"]),
    ("name with a slash", "name: a/b\ndataset: {name: moons}\n" + SPACE, "exp.yaml",
     ["name", "'a/b'", "'/'", "MLflow"]),
    ("name with a colon", "name: 'a:b'\ndataset: {name: moons}\n" + SPACE, "exp.yaml",
     ["name", "':'"]),
    ("empty name", "name: ''\ndataset: {name: moons}\n" + SPACE, "exp.yaml",
     ["name", "empty"]),
    ("study name with a quote", "dataset: {name: moons}\nstudy: {name: \"it's\"}\n" + SPACE,
     "exp.yaml", ["study.name", "single quote"]),
    ("MLflow name that is a path", "dataset: {name: moons}\n"
     "tracking: {experiment_name: '..'}\n" + SPACE, "exp.yaml",
     ["tracking.experiment_name", "path"]),
    ("when range low > high", "dataset: {name: moons}\nsearch_space: {parameters: {depth: "
     "{type: int, low: 1, high: 3}, width: 8, l2: {type: float, low: 0.0, high: 0.1, "
     "when: {depth: {low: 3, high: 2}}}}}\n", "exp.yaml",
     ["search_space.parameters.l2.when.depth", "low (3) > high (2)", "never sampled"]),
    ("when range outside the parameter", "dataset: {name: moons}\nsearch_space: {parameters: "
     "{depth: {type: int, low: 1, high: 3}, width: 8, l2: {type: float, low: 0.0, high: 0.1, "
     "when: {depth: {low: 5}}}}}\n", "exp.yaml",
     ["search_space.parameters.l2.when.depth", "never lies in this range", "1 .. 3"]),
    ("per-layer widths with depth 0", "dataset: {name: moons}\nsearch_space: {parameters: "
     "{depth: 0, width: {type: int, low: 4, high: 8, per_layer: true}}}\n", "exp.yaml",
     ["search_space.parameters.width.per_layer", "depth is always 0"]),
    ("per-layer widths with depth range 0..0", "dataset: {name: moons}\nsearch_space: "
     "{parameters: {depth: {type: int, low: 0, high: 0}, width: {type: int, low: 4, high: 8, "
     "per_layer: true}}}\n", "exp.yaml", ["width.per_layer", "depth is always 0"]),
    ("generator rejects a parameter", "dataset: {name: circles, factor: 2.0}\n" + SPACE,
     "exp.yaml", ["dataset.params", "factor"]),
    ("one-class blobs", "dataset: {name: blobs, n_classes: 1}\n" + SPACE, "exp.yaml",
     ["dataset.params", "n_classes=1"]),
    ("too few rows for a dev set", "dataset: {name: moons, n_samples: 2}\n" + SPACE,
     "exp.yaml", ["dataset.dev_size", "no dev examples"]),
    ("billion laughs", "dataset: {name: moons}\n" + SPACE + "l0: &l0 [lol, lol, lol]\n"
     + LAUGHS, "exp.yaml", ["exp.yaml:", "aliases", "100,000"]),
    ("alias inside itself", "dataset: {name: moons}\nsearch_space: &x {parameters: "
     "{epochs: 3}, more: [*x]}\n", "exp.yaml", ["exp.yaml:2", "contains itself"]),
    ("nested too deeply", "dataset: " + "[" * 3000 + "]" * 3000 + "\n", "exp.yaml",
     ["exp.yaml", "nested too deeply"]),
]


@pytest.mark.parametrize(("experiment", "file", "fragments"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_validate_rejects(workdir, experiment, file, fragments):
    write_data(workdir)
    (workdir / "exp.yaml").write_text(textwrap.dedent(experiment))
    result = invoke("validate", "exp.yaml")
    assert_user_error(result, file, *fragments)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_search_rejects_an_objective_for_another_task_before_any_trial(workdir):
    write_data(workdir)
    (workdir / "exp.yaml").write_text("dataset: {path: data.csv, target: label}\n"
                                      "objective: dev_rmse\n" + SPACE)
    result = invoke("search", "exp.yaml", "--n-trials", "1", "--quiet")
    assert result.exit_code == 2, result.output
    assert "objective.metric" in result.output and "Traceback" not in result.output
    assert not (workdir / "mlruns").exists()


def test_file_objective_follows_the_task(workdir):
    from nnexp.config import load_experiment

    write_data(workdir)
    (workdir / "reg.csv").write_text("a,y\n" + "".join(f"{i * 0.5},{i * 0.37:.3f}\n"
                                                       for i in range(40)))
    (workdir / "c.yaml").write_text("dataset: {path: data.csv, target: label}\n" + SPACE)
    (workdir / "r.yaml").write_text("dataset: {path: reg.csv, target: y}\n" + SPACE)
    classification, regression = load_experiment("c.yaml"), load_experiment("r.yaml")
    assert classification.task == "binary"
    assert classification.objective == [("dev_accuracy", "maximize")]
    assert regression.task == "regression"
    assert regression.objective == [("dev_rmse", "minimize")]
    assert regression.train_config({"depth": 1, "width": 4}, 0).output == "linear"


def test_validate_prints_the_schema_and_memory(workdir):
    write_data(workdir)
    (workdir / "exp.yaml").write_text("dataset: {path: data.csv, target: label}\n" + SPACE)
    result = invoke("validate", "exp.yaml")
    assert result.exit_code == 0, result.output
    assert "schema:     binary, 40 rows, 2 features, 2 classes, target 'label', 2 of 2 " \
        "columns used" in result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    columns = lines.index("columns:")
    assert lines[columns + 1:columns + 5] == [
        "COLUMN ROLE MISSING ENCODING FEATURES", "a numeric - as a number 1",
        "b numeric - as a number 1", "2 features from 2 of 2 columns"]
    assert "memory:     ~" in result.output and "2-8-8-1" in result.output
