"""The public API from a real Jupyter kernel: the shipped notebook experiments/quickstart.ipynb
runs top to bottom through nbclient (search, trials table, a plot, best model, predict,
advice), and its outputs show a real study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_notebook_runs_in_a_jupyter_kernel(tmp_path):
    (tmp_path / "experiments").mkdir()
    for name in ("quickstart.ipynb", "quickstart.yaml"):
        shutil.copy(ROOT / "experiments" / name, tmp_path / "experiments" / name)
    shutil.copytree(ROOT / "search_spaces", tmp_path / "search_spaces")
    notebook = nbformat.read(tmp_path / "experiments" / "quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path /
                                                                         "experiments")}})
    client.execute()
    outputs = [cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"]
    text = ["".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                    for o in cell) for cell in outputs]
    assert "<nnexp.Study 'quickstart': 8 trials>" in text[0]
    assert "params_learning_rate" in text[1]
    assert any("image/png" in o.get("data", {}) for o in outputs[2])  # the plot was drawn
    assert "prediction" in text[3] and "proba_9" in text[3]
    assert "study quickstart:" in text[4] and "best dev_accuracy" in text[4]
    assert not any(o.get("output_type") == "error" for cell in outputs for o in cell)
    assert (tmp_path / "experiments" / "mlruns" / "mlflow.db").is_file()
