"""Across the study: what its trials say together. ``evidence`` gathers a study, its MLflow
runs and its search space; ``diagnosis`` (bias and variance in the course's terms), ``edges``
(best trials at the end of a range), ``effects`` (importances and the shape of the most
important parameter's effect), ``signals`` (per-layer signals of the best trial) and
``nextspace`` (the suggested next search space) each judge one thing; ``advice`` ranks their
findings and ``report`` draws them into one HTML page."""

from nnexp.insight.advice import Advice, Finding, advise, judge
from nnexp.insight.evidence import StudyEvidence, gather

__all__ = ["Advice", "Finding", "StudyEvidence", "advise", "gather", "judge"]
