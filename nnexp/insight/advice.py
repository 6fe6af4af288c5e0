"""``nnexp advise``: the findings about one study, ranked most actionable first, each with the
numbers that support it.

Order (``Finding.rank``):

0. what explains the whole study, read from the learning curves and update ratios as the
   course reads them (``nnexp.insight.rate``, ``nnexp.insight.chance``): a learning rate far
   too small or too large for every trial, or nothing learned (every trial at chance);
1. per-layer signals of the best trial (diverged, stalled, dead layer);
2. the bias/variance verdict of the best trial when it is not fine;
2.5. noise between initialisations larger than the effect being read (``nnexp.insight.noise``),
   in place of the effect;
3. range edges, and a learning rate whose high end alone is too large;
4. the most important parameter and the shape of its effect;
5. diverged or failed trials; 6. pruned categorical choices; 7. a fine verdict; 8-9. notes.

A finding about the learning rate silences what it makes meaningless: a rate that trained no
trial (or made every trial go bad) leaves no edge or effect of the learning rate to read (the
range moves instead), and when nothing was learned no edge or effect of any parameter is read
and the suggested space is the study's own.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from nnexp.insight.chance import chance_of, nothing_learned
from nnexp.insight.curves import TrialCurve, cost_fall, read_curves
from nnexp.insight.diagnosis import Diagnosis, diagnose
from nnexp.insight.edges import Edge, find_edges
from nnexp.insight.effects import Effect, effect, importances
from nnexp.insight.evidence import StudyEvidence, gather
from nnexp.insight.nextspace import Change, suggest_space
from nnexp.insight.noise import Noise, within_noise
from nnexp.insight.rate import FLAT_FALL, RateFinding, too_large, too_small
from nnexp.insight.rate import NAME as LEARNING_RATE
from nnexp.insight.signals import LayerSignals, layer_signals
from nnexp.tracking.states import is_failed

SIGNAL_MOVES = {
    "diverged": "lower the learning rate (or add gradient-friendly init: He for ReLU)",
    "stalled": "raise the learning rate, or use Adam / a better initialisation so the "
               "gradients reach the early layers",
    "dead_layer": "ReLU units died: lower the learning rate, use He initialisation, or try "
                  "leaky_relu",
}


@dataclass
class Finding:
    rank: float
    kind: str  # learning_rate, data, signal, bias, variance, bias+variance, noise, edge, effect,
    #            failures, choices, fine, note
    title: str
    evidence: str
    moves: list[str] = field(default_factory=list)


@dataclass
class Advice:
    evidence: StudyEvidence
    findings: list[Finding]
    diagnoses: list[Diagnosis]
    edges: list[Edge]
    importances: dict[str, float]
    evaluator: str
    importance_note: str | None
    effect: Effect | None
    signals: LayerSignals | None
    next_space: object | None  # SearchSpace
    changes: list[Change]
    curves: list[TrialCurve] = field(default_factory=list)
    rate: RateFinding | None = None
    noise: Noise | None = None

    def __str__(self) -> str:
        """The text ``nnexp advise`` prints."""
        return "\n".join(render_text(self))


def advise(study_name: str, storage: str | None = None,
           tracking_uri: str | None = None) -> Advice:
    """Gather study ``study_name`` and judge it."""
    return judge(gather(study_name, storage, tracking_uri))


def judge(ev: StudyEvidence) -> Advice:
    findings: list[Finding] = []
    signals = layer_signals(ev)
    if signals is not None and signals.signal:
        findings.append(Finding(
            1, "signal", f"best trial {ev.best.number}: per-layer signal '{signals.signal}'",
            signals.signal_evidence or "(no evidence recorded)",
            [SIGNAL_MOVES.get(signals.signal, "look at the per-layer curves in MLflow")]))
    diagnoses = diagnose(ev)
    if diagnoses:
        d = diagnoses[0]
        others = "; ".join(f"trial {o.trial}: {o.verdict}" for o in diagnoses[1:])
        ev_text = d.evidence() + (f" (next best: {others})" if others else "")
        if d.verdict in ("high bias", "high variance", "high bias and high variance"):
            kind = {"high bias": "bias", "high variance": "variance"}.get(d.verdict,
                                                                          "bias+variance")
            findings.append(Finding(2, kind, f"best trial {d.trial}: {d.verdict}", ev_text,
                                    d.moves()))
        else:
            findings.append(Finding(7, "fine", f"best trial {d.trial}: {d.verdict} "
                                    "(neither avoidable bias nor variance is high)", ev_text))
    curves = read_curves(ev) if ev.client is not None else []
    rate, learned = _rate_or_data(ev, curves, diagnoses)
    if rate is not None:
        findings.append(Finding(0 if rate.whole else 3, "learning_rate", rate.title,
                                rate.evidence, rate.moves))
    elif learned is not None:
        findings.append(Finding(0, "data", learned.title, learned.evidence, learned.moves))
    edges = [e for e in find_edges(ev) if learned is None and not (
        rate is not None and e.param == LEARNING_RATE and (rate.new_high is None
                                                           or e.side == "high"))]
    scores, evaluator, note = importances(ev)
    eff = None
    if scores and learned is None:
        eff = effect(ev, next(iter(scores)))
        if eff is not None and rate is not None and rate.new_high is None and \
                eff.param == LEARNING_RATE:
            eff = None  # read from trials the rate left untrained or made go bad: it moves
    noise = within_noise(ev.trials, eff) if rate is None or not rate.whole else None
    if noise is not None:
        findings.append(Finding(
            2.5, "noise", noise.title(), noise.evidence(),
            [f"compare configurations over several seeds (repeat the best ones as baselines "
             f"with slightly different values) before narrowing {noise.param}: the suggested "
             "space keeps its range", "more epochs or more dev examples shrink the spread"]))
        edges = [e for e in edges if e.param != noise.param]
    for e in edges:
        move = (f"widen {e.param}'s {e.side} end from {_num(e.bound)} to {_num(e.widened)}"
                if e.widened is not None else
                f"{_num(e.bound)} is {e.param}'s valid limit: the range cannot move; fix "
                f"{e.param} at {_num(e.bound)} or search others")
        findings.append(Finding(3, "edge", f"{e.param} is at the {e.side} edge of its range",
                                e.evidence(), [move]))
    if scores and learned is None and noise is None:
        top_name = next(iter(scores))
        text = ", ".join(f"{k} {v:.2f}" for k, v in list(scores.items())[:4])
        if eff is not None:
            findings.append(Finding(
                4, "effect", f"most important: {eff.param} ({evaluator} "
                f"{scores[top_name]:.2f}); its effect on {ev.metric}: {eff.shape}",
                f"mean {ev.metric} by {eff.param}: {eff.evidence()}; importances: {text}",
                [_effect_move(eff)]))
        elif not (rate is not None and rate.new_high is None and top_name == LEARNING_RATE):
            findings.append(Finding(4, "effect", f"most important: {top_name}",
                                    f"importances ({evaluator}): {text}"))
    bad = {s: n for s, n in ev.counts.items() if is_failed(s) and n}
    total = sum(ev.counts.values())
    if bad:
        reasons = {}
        for run in (ev.runs.trials.values() if ev.runs else []):
            if run.data.tags.get("nnexp.state") in bad:
                r = run.data.tags.get("nnexp.reason", "?")
                reasons[r] = reasons.get(r, 0) + 1
        common = max(reasons, key=reasons.get) if reasons else None
        findings.append(Finding(
            5, "failures", ", ".join(f"{n} {s}" for s, n in bad.items()) + f" of {total} trials",
            f"most common reason: {common}" if common else "no reason recorded",
            ["diverged trials usually mean the learning rate's high end is too high"]
            if "diverged" in bad else []))
    moved = {}
    if rate is not None and rate.param is not None:
        lowered = rate.param
        low_edge = next((e for e in edges if e.param == LEARNING_RATE), None)
        if low_edge is not None and low_edge.widened is not None:  # a partial move keeps it
            lowered = replace(lowered, low=low_edge.widened)
        moved[LEARNING_RATE] = (lowered, rate.why)
    kept = {noise.param: "kept: noise between initialisations is larger than its effect"} \
        if noise is not None else {}
    if ev.space is None:
        next_space, changes = None, []
    elif learned is not None:
        next_space, changes = ev.space, []  # nothing to read from trials that learned nothing
    else:
        next_space, changes = suggest_space(ev, edges, moved, kept)
    for c in changes:
        if "dropped" in c.why:
            findings.append(Finding(6, "choices", f"{c.param}: {c.why.split(':')[0]}",
                                    f"{c.before} -> {c.after}; {c.why.split(':', 1)[1].strip()}"))
    if next_space is not None:
        outside = [(i, k) for i, b in enumerate(ev.baselines)
                   for k, _ in next_space.check_point(b)]
        if outside:
            findings.append(Finding(
                8, "note", "baselines outside the suggested space",
                ", ".join(f"baseline {i}: {k}" for i, k in outside),
                ["drop these baselines from the experiment when you use the suggested space"]))
    if ev.space_note:
        findings.append(Finding(9, "note", "search space", ev.space_note))
    findings.sort(key=lambda f: f.rank)
    return Advice(ev, findings, diagnoses, edges, scores, evaluator, note, eff, signals,
                  next_space, changes, curves, rate, noise)


def _rate_or_data(ev: StudyEvidence, curves: list[TrialCurve], diagnoses: list[Diagnosis]):
    """(the learning-rate finding, the nothing-learned finding): at most one of them; a rate
    that explains every trial is read first, the data only when the rate does not explain
    the study."""
    if not curves:
        return None, None
    param = ev.space.get(LEARNING_RATE) if ev.space is not None else None
    high_bias = bool(diagnoses) and diagnoses[0].high_bias
    rate = too_small(curves, ev.best.number, param, high_bias) or \
        too_large(curves, ev.best.number, param)
    if rate is not None and rate.whole:
        return rate, None
    ratios = [c.ratio for c in curves if c.ratio is not None]
    falls = [f for f in (cost_fall(c.costs) for c in curves if not c.diverged) if f is not None]
    fall = statistics.median(falls) if falls else None
    learned = None
    if fall is not None and fall >= FLAT_FALL:  # the data are loaded only for a study that trained
        learned = nothing_learned(ev.trials, chance_of(ev) if ev.is_classification else None,
                                  ev.is_classification, fall,
                                  statistics.median(ratios) if ratios else None)
    return (None, learned) if learned is not None else (rate, None)


def _effect_move(eff: Effect) -> str:
    best = eff.bins[eff.best_bin]
    if eff.shape.startswith("best choice"):
        return f"prefer {eff.param} = {best.label}"
    if eff.shape == "flat":
        return f"{eff.param} hardly matters here: fix it and search the others"
    return f"concentrate {eff.param} around {best.label}"


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def render_text(advice: Advice) -> list[str]:
    """The lines ``nnexp advise`` prints."""
    ev = advice.evidence
    out = [f"study {ev.name}: {len(ev.trials)} complete trials of {sum(ev.counts.values())}, "
           f"best {ev.metric} = {ev.best.value:.4g} (trial {ev.best.number})"]
    if ev.target_error is None:
        out.append("  target_error not set in the experiment file: bias is relative to zero "
                   "error")
    else:
        out.append(f"  target error {ev.target_error:g} (from the experiment file)")
    out.append("")
    for i, f in enumerate(advice.findings, 1):
        out.append(f"{i}. {f.title}")
        out.append(f"   evidence: {f.evidence}")
        for m in f.moves:
            out.append(f"   -> {m}")
    if advice.signals is None:
        out.append("\nno per-layer signals recorded for the best trial")
    return out
