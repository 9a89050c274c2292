"""Verdicts: is a task viable on a backend, and with which UI parameters?

Pure functions of matrix records (`acekit.matrix.store.CaseRecord`) and one `Thresholds`
model. The HTML report and the capabilities document both call `judge_task`, so the tab a
plugin shows and the verdict a person reads can never disagree.

Rules (each threshold is a field of `Thresholds`, shown in the report):

* **success rate** = ok cases / cases. A failed request (server error, NaN/silent output
  caught by the analyser's health check counts as a quality failure instead) is the first gate.
* **quality rate** = share of ok cases whose relevant analyser checks all passed. Which
  checks are relevant depends on the task (`Thresholds.checks`): tempo and key adherence do
  not apply to an extracted stem, boundaries only to repaint. A check the analyser did not
  report for a case (e.g. key when the request left the key to the LM) is skipped.
* **speed** = median of server time / audio seconds (server job time when the backend
  reports it, else wall time minus queue wait, else wall time).
* **memory** (only when a budget is set and the peak is known) = max peak / budget.

The verdict is the worst of the gates: ``viable`` when every gate meets its viable
threshold, ``marginal`` when every gate meets at least its marginal threshold, otherwise
``not_viable``; ``untested`` with fewer than `Thresholds.min_cases` cases.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from acekit import contract
from acekit.capabilities.schema import RecommendedParams, TaskCost, Verdict
from acekit.matrix.store import CaseRecord

_RANK = {Verdict.viable: 3, Verdict.marginal: 2, Verdict.not_viable: 1, Verdict.untested: 0}


class Thresholds(BaseModel):
    """Every number a verdict depends on, in one place (shown in the report and the capabilities)."""

    model_config = ConfigDict(extra="forbid")

    viable_success_rate: float = Field(0.95, description="share of requests that must succeed for 'viable'")
    marginal_success_rate: float = Field(0.75, description="... for 'marginal'")
    viable_quality_rate: float = Field(0.80, description="share of ok clips passing all relevant checks for 'viable'")
    marginal_quality_rate: float = Field(0.50, description="... for 'marginal'")
    viable_seconds_per_audio_second: float = Field(
        1.0, description="server seconds per second of audio for 'viable' (a 30 s clip in 30 s)")
    marginal_seconds_per_audio_second: float = Field(4.0, description="... for 'marginal'")
    memory_budget_mb: float | None = Field(None, description="peak GPU memory allowed; None = not judged")
    min_cases: int = Field(1, description="fewer cases than this: 'untested'")
    checks: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "text2music": ["tempo", "beat_grid", "key", "health"],
            "repaint": ["health", "boundaries", "preservation", "tempo"],
            "cover": ["health", "tempo", "key"],
            "lego": ["health", "beat_grid", "tempo"],
            "extract": ["health"],
            "complete": ["health", "beat_grid", "tempo"],
        },
        description="analyser checks (ClipAnalysis.passed keys, matched by prefix) that count per task",
    )

    def flat(self) -> dict[str, float]:
        """Numeric thresholds, for the capabilities document."""
        out = {k: float(v) for k, v in self.model_dump().items() if isinstance(v, (int, float)) and v is not None}
        return out


DEFAULT_THRESHOLDS = Thresholds()


class TaskJudgement(BaseModel):
    """The verdict of one task on one backend, with everything a report or capabilities doc shows."""

    backend: str
    task: str
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    model: str | None = None
    models: list[str] = Field(default_factory=list)
    per_model: dict[str, Verdict] = Field(default_factory=dict)
    recommended: RecommendedParams = Field(default_factory=RecommendedParams)
    cost: TaskCost = Field(default_factory=TaskCost)
    scores: dict[str, float | None] = Field(default_factory=dict)
    cases: int = 0
    ok: int = 0


# ---- per-case figures (pure) ---------------------------------------------------------------

def relevant_checks(record: CaseRecord, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, bool]:
    """The analyser checks that count for this record's task (prefix match on ``passed`` keys)."""
    wanted = thresholds.checks.get(record.task, ["health"])
    return {k: v for k, v in record.passed.items() if any(k == w or k.startswith(w + ".") for w in wanted)}


def quality_passed(record: CaseRecord, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """True when the case succeeded and every relevant check it has passed."""
    if record.status != "ok":
        return False
    return all(relevant_checks(record, thresholds).values())


def server_seconds(record: CaseRecord) -> float | None:
    """Best estimate of the server's time for the job (see module docstring)."""
    if record.server_job_s is not None:
        return record.server_job_s
    if record.wall_s is None:
        return None
    if record.queue_wait_s is not None:
        return max(record.wall_s - record.queue_wait_s, 0.0)
    return record.wall_s


def audio_seconds(record: CaseRecord) -> float | None:
    """Duration of the produced audio: measured if the analyser reported it, else requested."""
    for k in ("health.duration_s", "health.measured_duration_s", "duration_s"):
        v = record.analysis.get(k)
        if isinstance(v, (int, float)) and v > 0:
            return float(v)
    d = record.case.get("duration_s") or record.case.get("nominal_duration_s") or record.metas.get("duration")
    try:
        return float(d) if d else None
    except (TypeError, ValueError):
        return None


def seconds_per_audio_second(record: CaseRecord) -> float | None:
    s, a = server_seconds(record), audio_seconds(record)
    return s / a if s is not None and a else None


def _rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def _num(record: CaseRecord, *names: str) -> float | None:
    for n in names:
        v = record.analysis.get(n)
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            return float(v)
    return None


# ---- gates (pure) ----------------------------------------------------------------------------

def _gate(value: float | None, viable: float, marginal: float, *, higher_is_better: bool) -> Verdict | None:
    if value is None:
        return None
    if higher_is_better:
        return Verdict.viable if value >= viable else Verdict.marginal if value >= marginal else Verdict.not_viable
    return Verdict.viable if value <= viable else Verdict.marginal if value <= marginal else Verdict.not_viable


def worst(verdicts: Iterable[Verdict | None]) -> Verdict:
    vs = [v for v in verdicts if v is not None]
    return min(vs, key=_RANK.__getitem__) if vs else Verdict.untested


def best(verdicts: Iterable[Verdict]) -> Verdict:
    vs = list(verdicts)
    return max(vs, key=_RANK.__getitem__) if vs else Verdict.untested


def judge_group(records: Sequence[CaseRecord], thresholds: Thresholds = DEFAULT_THRESHOLDS
                ) -> tuple[Verdict, list[str], dict[str, float | None]]:
    """Verdict, reasons and scores for one set of records (one task, backend and model)."""
    t = thresholds
    n = len(records)
    if n < t.min_cases or n == 0:
        return Verdict.untested, [f"{n} case(s) measured; need at least {t.min_cases}"], {}
    # A case that ran out of GPU memory is a limit of the box, not a failure of the task: it is left out of
    # the success rate and reported (and kept by the capabilities) as "does not fit".
    oom = [r for r in records if r.status == "does_not_fit"]
    fitting = [r for r in records if r.status != "does_not_fit"]
    if not fitting:
        return Verdict.not_viable, [f"none of the {n} case(s) fits in GPU memory (out of memory): "
                                    + "; ".join(sorted({r.label or r.case_id for r in oom})[:3])], {"does_not_fit": n}
    ok = [r for r in fitting if r.status == "ok"]
    success = len(ok) / len(fitting)
    quality = _rate([quality_passed(r, t) for r in ok])
    speed = _median(seconds_per_audio_second(r) for r in ok)
    peaks = [r.peak_gpu_memory_mb for r in ok if r.peak_gpu_memory_mb is not None]
    peak = max(peaks) if peaks else None
    gates: dict[str, Verdict | None] = {
        "success": _gate(success, t.viable_success_rate, t.marginal_success_rate, higher_is_better=True),
        "quality": _gate(quality, t.viable_quality_rate, t.marginal_quality_rate, higher_is_better=True)
        if ok else Verdict.not_viable,
        "speed": _gate(speed, t.viable_seconds_per_audio_second, t.marginal_seconds_per_audio_second,
                       higher_is_better=False),
    }
    if t.memory_budget_mb is not None and peak is not None:
        gates["memory"] = Verdict.viable if peak <= t.memory_budget_mb else Verdict.not_viable
    verdict = worst(gates.values())
    reasons = [f"{len(ok)}/{len(fitting)} requests succeeded ({success:.0%}; viable ≥ {t.viable_success_rate:.0%})"]
    if oom:
        reasons.append(f"{len(oom)} case(s) do not fit in GPU memory (out of memory), kept as a limit: "
                       + "; ".join(sorted({r.label or r.case_id for r in oom})[:3]))
    failures = sorted({(r.reason or "unknown error").splitlines()[0][:120] for r in fitting if r.status != "ok"})
    if failures:
        reasons.append("failures: " + "; ".join(failures[:3]))
    if quality is not None:
        reasons.append(f"{quality:.0%} of clips passed the quality checks (viable ≥ {t.viable_quality_rate:.0%})")
        per_check: dict[str, list[bool]] = defaultdict(list)
        for r in ok:
            for k, v in relevant_checks(r, t).items():
                per_check[k.split(".")[0]].append(v)
        weak = [f"{k} {_rate(v):.0%}" for k, v in sorted(per_check.items()) if _rate(v) < t.viable_quality_rate]
        if weak:
            reasons.append("weakest checks: " + ", ".join(weak))
    if speed is not None:
        reasons.append(f"median {speed:.2f} s of server time per audio second (viable ≤ "
                       f"{t.viable_seconds_per_audio_second:g})")
    if "memory" in gates:
        reasons.append(f"peak GPU memory {peak:.0f} MB (budget {t.memory_budget_mb:.0f} MB)")
    scores: dict[str, float | None] = {
        "success_rate": success,
        "quality_rate": quality,
        "seconds_per_audio_second": speed,
        "peak_gpu_memory_mb": peak,
        "does_not_fit": len(oom),
    }
    checks: dict[str, list[bool]] = defaultdict(list)
    for r in ok:
        for k, v in relevant_checks(r, t).items():
            checks[k.split(".")[0]].append(v)
    for k, v in checks.items():
        scores[f"{k}_pass_rate"] = _rate(v)
    errs = [_num(r, "tempo.error_pct") for r in ok]
    scores["tempo_abs_error_pct_median"] = _median(abs(e) if e is not None else None for e in errs)
    scores["key_score_mean"] = _mean_or_none(_num(r, "key.score", "key.mirex_score") for r in ok)
    scores["beat_offset_ms_median"] = _median(
        _num(r, "beat_grid.median_abs_offset_ms", "beat_grid.median_offset_ms") for r in ok)
    scores = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in scores.items()}
    return verdict, reasons, scores


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


# ---- recommended UI parameters (pure) ------------------------------------------------------

def _by(records: Sequence[CaseRecord], field: str) -> dict[Any, list[CaseRecord]]:
    groups: dict[Any, list[CaseRecord]] = defaultdict(list)
    for r in records:
        v = r.case.get(field)
        if field == "repaint_length_s":
            s, e = r.case.get("repaint_start_s"), r.case.get("repaint_end_s")
            v = round(e - s, 3) if s is not None and e is not None else None
        if v is not None:
            groups[v].append(r)
    return groups


def _qrate(records: Sequence[CaseRecord], t: Thresholds) -> float:
    return sum(quality_passed(r, t) for r in records) / len(records) if records else 0.0


def recommend(records: Sequence[CaseRecord], *, model: str | None, thresholds: Thresholds = DEFAULT_THRESHOLDS
              ) -> RecommendedParams:
    """UI parameters from what passed: bpm range, default steps, max duration, strength, region, tracks."""
    t = thresholds
    rec = RecommendedParams(model=model)
    if not records:
        return rec
    task = records[0].task
    good = [r for r in records if quality_passed(r, t)]
    # bpm: the range of requested bpm values whose clips passed (the plugin clamps the host tempo to it)
    bpms = sorted({r.case["bpm"] for r in good if r.case.get("bpm")})
    if bpms:
        rec.bpm_min, rec.bpm_max = int(bpms[0]), int(bpms[-1])
    # steps: the fewest steps that reach the viable quality rate, else the best-scoring
    steps = _by(records, "steps")
    if steps:
        ok_steps = [s for s, rs in sorted(steps.items()) if _qrate(rs, t) >= t.viable_quality_rate]
        rec.default_steps = int(ok_steps[0] if ok_steps else max(steps, key=lambda s: (_qrate(steps[s], t), -s)))
    # duration: the longest that still passes at least marginally and is not too slow
    # Durations at or past the shortest that ran out of memory are never recommended.
    oom_durs = [float(r.case["duration_s"]) for r in records if r.status == "does_not_fit" and r.case.get("duration_s")]
    durs = {d: rs for d, rs in _by(records, "duration_s").items() if not oom_durs or float(d) < min(oom_durs)}
    if durs:
        fine = [d for d, rs in durs.items()
                if _qrate(rs, t) >= t.marginal_quality_rate
                and (_median(seconds_per_audio_second(r) for r in rs if r.status == "ok") or 0.0)
                <= t.marginal_seconds_per_audio_second]
        rec.max_duration_s = float(max(fine) if fine else min(durs))
    thinking = _by(records, "thinking")
    if thinking.get(True) and not thinking.get(False):
        rec.thinking = True
    elif thinking.get(True) and thinking.get(False):
        rec.thinking = _qrate(thinking[True], t) > _qrate(thinking[False], t)
    if task == "cover":
        strengths = _by(records, "cover_strength")
        if strengths:
            rec.cover_strength = float(max(sorted(strengths), key=lambda s: _qrate(strengths[s], t)))
    if task in ("repaint", "complete"):
        lengths = _by(records, "repaint_length_s")
        if lengths:
            ok_len = [L for L, rs in sorted(lengths.items()) if _qrate(rs, t) >= t.viable_quality_rate]
            ok_len = ok_len or [L for L, rs in sorted(lengths.items()) if _qrate(rs, t) >= t.marginal_quality_rate]
            rec.repaint_min_region_s = float(ok_len[0] if ok_len else max(lengths))
    if task in ("lego", "extract", "complete"):
        tracks = _by(records, "track")
        if tracks:
            rec.tracks = [tr for tr, rs in sorted(tracks.items()) if _qrate(rs, t) >= t.marginal_quality_rate]
    return rec


def cost_of(records: Sequence[CaseRecord]) -> TaskCost:
    ok = [r for r in records if r.status == "ok"]
    peaks = [r for r in ok if r.peak_gpu_memory_mb is not None]
    top = max(peaks, key=lambda r: r.peak_gpu_memory_mb) if peaks else None
    spa = _median(seconds_per_audio_second(r) for r in ok)
    wall = _median(r.wall_s for r in ok)
    return TaskCost(
        seconds_per_audio_second=round(spa, 4) if spa is not None else None,
        median_wall_s=round(wall, 3) if wall is not None else None,
        peak_gpu_memory_mb=top.peak_gpu_memory_mb if top else None,
        memory_source=top.memory_source if top else "unknown",
        cases=len(records),
        failures=sum(r.status == "failed" for r in records),
        does_not_fit=sum(r.status == "does_not_fit" for r in records),
    )


# ---- the entry point -----------------------------------------------------------------------

def judge_task(records: Sequence[CaseRecord], *, backend: str, task: str,
               thresholds: Thresholds = DEFAULT_THRESHOLDS) -> TaskJudgement:
    """Verdict for one task on one backend: judge each model, keep the best one.

    Cases run with the LM's chain of thought on (``lm_cot``, upstream's default) are left out: they measure
    a setting acekit does not send; the report's LM section (`acekit.report.lm_cot`) compares them.
    """
    recs = [r for r in records if r.server == backend and r.task == task and not r.case.get("lm_cot")]
    if not recs:
        return TaskJudgement(backend=backend, task=task, verdict=Verdict.untested,
                             reasons=["not in the matrix"])
    by_model: dict[str, list[CaseRecord]] = defaultdict(list)
    for r in recs:
        by_model[r.model].append(r)
    judged = {m: judge_group(rs, thresholds) for m, rs in by_model.items()}

    def rank(m: str) -> tuple:
        v, _, s = judged[m]
        return (_RANK[v], s.get("quality_rate") or 0.0, -(s.get("seconds_per_audio_second") or 1e9))

    top = max(judged, key=rank)
    verdict, reasons, scores = judged[top]
    if len(judged) > 1:
        reasons = [f"best model {top}; " + ", ".join(f"{m}: {judged[m][0].value}" for m in sorted(judged))] + reasons
        reasons += [f"{m}: {judged[m][2]['does_not_fit']} case(s) do not fit in GPU memory (out of memory)"
                    for m in sorted(judged) if m != top and judged[m][2].get("does_not_fit")]
    return TaskJudgement(
        backend=backend, task=task, verdict=verdict, reasons=reasons, model=top,
        models=sorted(m for m in judged if judged[m][0] == verdict),
        per_model={m: judged[m][0] for m in judged},
        recommended=recommend(by_model[top], model=top, thresholds=thresholds),
        cost=cost_of(by_model[top]), scores=scores, cases=len(recs),
        ok=sum(r.status == "ok" for r in recs),
    )


def judge_all(records: Sequence[CaseRecord], thresholds: Thresholds = DEFAULT_THRESHOLDS
              ) -> dict[str, dict[str, TaskJudgement]]:
    """{backend: {task: judgement}} for every backend and task in the records (tasks in contract order)."""
    order = [t.value for t in contract.TaskType]
    out: dict[str, dict[str, TaskJudgement]] = {}
    for backend in sorted({r.server for r in records}):
        tasks = sorted({r.task for r in records if r.server == backend}, key=order.index)
        out[backend] = {t: judge_task(records, backend=backend, task=t, thresholds=thresholds) for t in tasks}
    return out


def tab_plan(judgements: dict[str, dict[str, TaskJudgement]], task: str) -> str:
    """What the plugin should do with ``task``'s tab, across backends (the T4-versus-Spark answer in one line).

    viable -> ship the tab there; marginal -> ship it marked beta; not viable / untested / not run -> hide it.
    """
    groups: dict[str, list[str]] = {"ship": [], "beta": [], "hide": []}
    for backend in sorted(judgements):
        j = judgements[backend].get(task)
        verdict = j.verdict if j else Verdict.untested
        key = {Verdict.viable: "ship", Verdict.marginal: "beta"}.get(verdict, "hide")
        groups[key].append(backend)
    if groups["ship"] and not groups["beta"] and not groups["hide"]:
        return "ship on every backend"
    if not groups["ship"] and not groups["beta"]:
        return "no tab on any backend"
    parts = []
    if groups["ship"]:
        parts.append("ship on " + ", ".join(groups["ship"]))
    if groups["beta"]:
        parts.append("beta on " + ", ".join(groups["beta"]))
    if groups["hide"]:
        parts.append("hide on " + ", ".join(groups["hide"]))
    return "; ".join(parts)
