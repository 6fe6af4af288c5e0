"""Invocation numbers claimed in the Optuna study (nnexp.study.invocations), and the BLAS
threads each local worker gets."""

from __future__ import annotations

import optuna
import pytest

from nnexp.recovery.workers import blas_threads
from nnexp.stores.queries import study_names
from nnexp.stores.study_storage import open_storage
from nnexp.study import invocations


def _study(url: str):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="s", storage=open_storage(url), load_if_exists=True)


def _url(kind: str, tmp_path) -> str:
    return f"journal:{tmp_path / 'j.journal'}" if kind == "journal" \
        else f"sqlite:///{tmp_path / 'optuna.db'}"


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_invocations_are_numbered_in_order(tmp_path, kind):
    study = _study(_url(kind, tmp_path))
    keys = [invocations.new_key() for _ in range(3)]
    assert [invocations.claim(study, k) for k in keys] == [1, 2, 3]
    assert len(set(keys)) == 3
    books = optuna.load_study(study_name="s::invocations", storage=open_storage(_url(kind,
                                                                                    tmp_path)))
    assert [t.user_attrs for t in books.trials] == \
        [{"key": keys[0], "base": 0}, {"key": keys[1]}, {"key": keys[2]}]


def test_a_study_from_before_claims_counts_its_earlier_invocations(tmp_path):
    study = _study(f"journal:{tmp_path / 'j.journal'}")
    for run_id in ("run-a", "run-a", "run-b"):  # two earlier invocations, by parent run id
        trial = study.ask()
        trial.set_user_attr("invocation", run_id)
        study.tell(trial, 1.0)
    key = invocations.new_key()
    assert invocations.claim(study, key) == 3
    trial = study.ask()
    trial.set_user_attr("invocation", key)  # the new invocation's own trials do not count
    study.tell(trial, 1.0)
    assert invocations.claim(study, invocations.new_key()) == 4


def test_a_study_with_claims_of_the_old_kind_continues_after_them(tmp_path):
    url = f"journal:{tmp_path / 'j.journal'}"
    study, storage = _study(url), open_storage(url)
    for run_id in ("run-a", "a", "b", "c"):  # run-a: before claims; a, b, c: claimed
        trial = study.ask()
        trial.set_user_attr("invocation", run_id)
        study.tell(trial, 1.0)
    for key, number in (("a", 2), ("b", 3), ("c", 3)):  # b and c both kept 3
        storage.set_study_system_attr(storage.get_study_id_from_name("s"),
                                      invocations.PREFIX + key, {"number": number, "time": 0.0})
    assert [invocations.claim(study, invocations.new_key()) for _ in range(2)] == [4, 5]


def test_the_bookkeeping_study_is_left_out_of_nnexps_study_lists(workdir):
    from click.testing import CliRunner

    from nnexp.cli import main

    url = f"journal:{workdir / 'j.journal'}"
    study = _study(url)
    study.tell(study.ask(), 1.0)
    invocations.claim(study, invocations.new_key())
    assert optuna.get_all_study_names(open_storage(url)) == ["s", "s::invocations"]
    assert study_names(open_storage(url)) == ["s"]
    runner = CliRunner()
    listed = runner.invoke(main, ["studies", "--storage", url])
    assert listed.exit_code == 0 and "::invocations" not in listed.output, listed.output
    shown = runner.invoke(main, ["show", "s", "--storage", url])
    assert shown.exit_code == 0, shown.output
    doctor = runner.invoke(main, ["doctor", "--storage", url])
    assert doctor.exit_code == 0 and "::invocations" not in doctor.output, doctor.output
    hidden = runner.invoke(main, ["show", "s::invocations", "--storage", url])
    assert hidden.exit_code == 2 and "Known studies: s " in hidden.output, hidden.output


def test_each_worker_leaves_a_cpu_to_the_main_process():
    assert blas_threads(1, cpus=2) == 1
    assert blas_threads(1, cpus=8) == 7
    assert blas_threads(2, cpus=8) == 3
    assert blas_threads(4, cpus=2) == 1
    assert blas_threads(1, cpus=1) == 1
