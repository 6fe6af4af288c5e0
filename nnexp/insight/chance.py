"""Nothing learned: every trial scores what a model that ignores its inputs scores, whatever
its learning rate, size or regularisation. The data are then the suspect (a target that does
not belong to its rows, features that carry nothing), not the search.

Chance level: for classification the majority-class rate of the dev set (always answering its
most frequent class; ``Chance`` from the data, ``chance_of``); a trial is at chance when its
dev accuracy is at most that rate plus ``MARGIN`` standard errors of a dev accuracy,
sqrt(p (1 - p) / n_dev), and at least 0.01. For regression the mean of the target: a trial is
at chance when its dev r2 is at most ``R2_CHANCE`` (0.05: the rmse within 2.5% of the dev
target's standard deviation).

Only a study that trained is judged so: the trials' median train cost fell by at least
``nnexp.insight.rate.FLAT_FALL`` (5%) over the run and, where recorded, their median update
ratio is at least ``SMALL_RATIO`` (1e-4 per update). A cost that barely moved says the
learning rate held the network back, not the data. And at least one trial had a hidden layer:
logistic regression at chance (the course's planar flower) lacks capacity, which the
bias/variance verdict says. ``nothing_learned`` is pure;
``chance_of`` loads the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnexp.insight.evidence import StudyEvidence, Trial
from nnexp.insight.rate import FLAT_FALL, SMALL_RATIO

MARGIN = 2.0
R2_CHANCE = 0.05


@dataclass
class Chance:
    """The chance level of a classification study: the majority-class rate on dev and train,
    the dev rows, and the majority class."""

    dev_rate: float
    train_rate: float
    n_dev: int
    majority: str


@dataclass
class NothingLearned:
    title: str
    evidence: str
    moves: list[str]


def chance_of(ev: StudyEvidence) -> Chance | None:
    """The majority-class rates of the study's data (loaded from its experiment's dataset),
    None for regression or when the experiment file or its data are gone."""
    if not ev.is_classification or ev.experiment is None:
        return None
    import numpy as np

    from nnexp.data import prepare

    try:
        splits = prepare(ev.experiment.dataset)
    except Exception:  # noqa: BLE001 - the data moved or changed: no chance level, no finding
        return None
    if len(splits.y_dev) == 0:
        return None
    values, counts = np.unique(splits.y_dev, return_counts=True)
    top = values[counts.argmax()]
    label = top
    if splits.classes is not None and values.dtype.kind in "iu" and 0 <= top < len(
            splits.classes):
        label = splits.classes[int(top)]  # integer labels that index the classes' names
    train = float(np.mean(splits.y_train == top)) if len(splits.y_train) else math.nan
    return Chance(float(counts.max() / counts.sum()), train, int(len(splits.y_dev)), str(label))


def at_chance(trial: Trial, chance: Chance | None) -> bool | None:
    """Whether ``trial`` scores at chance on dev (see the module's docstring); None when its
    run has no dev score to tell."""
    if chance is None:
        r2 = trial.metrics.get("final_dev_r2")
        return None if r2 is None or not math.isfinite(r2) else r2 <= R2_CHANCE
    accuracy = trial.metrics.get("final_dev_accuracy")
    if accuracy is None:
        return None
    return accuracy <= chance.dev_rate + _margin(chance)


def _margin(chance: Chance) -> float:
    p = chance.dev_rate
    return max(MARGIN * math.sqrt(p * (1 - p) / max(chance.n_dev, 1)), 0.01)


def nothing_learned(trials: list[Trial], chance: Chance | None, classification: bool,
                    fall: float | None, moved: float | None = None) -> NothingLearned | None:
    """The finding when every complete trial in ``trials`` (best first) is at chance, else
    None. ``chance``: the majority-class rates (classification; None there means unknown: no
    finding); ``fall``: the trials' median relative fall of the train cost over the run;
    ``moved``: their median update ratio per update, when recorded."""
    if not trials or (classification and chance is None) or fall is None or fall < FLAT_FALL:
        return None
    if all(t.config.get("hidden_layers") == [] for t in trials):
        return None  # a linear model at chance: its bias says "a bigger network" first
    if moved is not None and moved < SMALL_RATIO:
        return None
    verdicts = [at_chance(t, chance if classification else None) for t in trials]
    if not all(v is True for v in verdicts):
        return None
    best = trials[0]
    if classification:
        dev = [t.metrics["final_dev_accuracy"] for t in trials]
        train = [t.metrics.get("final_train_accuracy") for t in trials]
        train = [a for a in train if a is not None]
        evidence = (
            f"every one of the {len(trials)} complete trials has a dev accuracy at most "
            f"{_margin(chance):.2g} above the majority-class rate {chance.dev_rate:.3g} "
            f"(always answering class {chance.majority}): best {max(dev):.3g} (trial "
            f"{best.number}), worst {min(dev):.3g}")
        if train:
            evidence += (f"; train accuracy {min(train):.3g} .. {max(train):.3g} against a "
                         f"majority rate of {chance.train_rate:.3g} there")
    else:
        r2 = [t.metrics["final_dev_r2"] for t in trials]
        evidence = (f"every one of the {len(trials)} complete trials has a dev r2 of at most "
                    f"{R2_CHANCE:g} (best {max(r2):.3g}, trial {best.number}): each predicts "
                    "about the target's mean")
    evidence += f"; yet training ran: the median train cost fell {100 * fall:.2g}% over the run"
    if moved is not None:
        evidence += f" and the weights moved (median update ratio {moved:.2g} per update)"
    what = "the class frequencies" if classification else "the target's mean"
    return NothingLearned(
        f"nothing learned: every trial is at chance (it learned {what}, nothing from the "
        "features)", evidence,
        ["check the target: is it the column you meant, and does each value belong to its "
         "row (not shuffled or joined against other rows)?",
         "check the features: constant, all missing or dropped ones (nnexp validate lists the "
         "columns and the role of each), or none related to the target",
         "a learning rate or a bigger network will not fix this: the suggested space is left "
         "as it is"])
