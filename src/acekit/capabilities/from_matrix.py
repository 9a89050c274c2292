"""Build the capabilities document from matrix runs, through the verdict logic the report uses too.

One document describes one backend (the plugin talks to one server). Several run
directories of the same backend are merged (a later run's record of a case wins); when the
runs cover several backends, pick one with ``backend=``. Every task of the contract appears:
measured tasks carry the verdict `acekit.verdicts.judge_task` gives, the others are
``untested``. The document also says how far each quality check behind the verdicts held on
unseen music (``checks``, from `acekit.analysis.trust`), and each task which of its checks did not
(``unproven_checks``), so that a plugin can show a verdict resting on them as weaker than it reads.
"""

from __future__ import annotations

from pathlib import Path

from acekit import contract
from acekit.analysis.trust import CountedCheck, counted_checks, unproven_checks
from acekit.capabilities.fitting import run_limits
from acekit.capabilities.schema import (
    BackendInfo,
    Capabilities,
    CheckFigure,
    CheckReliability,
    ModelInfo,
    TaskCapability,
    Verdict,
)
from acekit.contract import TaskType
from acekit.matrix.runs import LoadedRun, all_records, load_runs
from acekit.verdicts import DEFAULT_THRESHOLDS, Thresholds, judge_task

REFERENCE_ENGINE = "acekit-reference"
ACE_STEP_ENGINE = "ACE-Step"


class CapabilitiesError(ValueError):
    """The runs cannot produce one document; the message says what to pass."""


def _backend_info(runs: list[LoadedRun], label: str, is_reference: bool) -> BackendInfo:
    entry = None
    for run in runs:
        entry = run.manifest.servers.get(label, entry)
    health = (entry.health if entry else None) or {}
    tel = (entry.telemetry if entry else None) or {}
    gpu = tel.get("gpu") if isinstance(tel.get("gpu"), dict) else {}
    return BackendInfo(
        name=label,
        engine=REFERENCE_ENGINE if is_reference else ACE_STEP_ENGINE,
        server_version=health.get("version"),
        url=entry.url if entry else None,
        gpu_name=gpu.get("name"),
        gpu_memory_total_mb=gpu.get("memory_total_mb"),
    )


def _models(runs: list[LoadedRun], label: str) -> list[ModelInfo]:
    rows: dict[str, ModelInfo] = {}
    valid = {t.value for t in TaskType}
    for run in runs:
        entry = run.manifest.servers.get(label)
        for m in (entry.models if entry else []):
            name = m.get("name")
            if not name:
                continue
            claimed = m.get("supported_task_types") or []
            rows[name] = ModelInfo(
                name=name,
                is_default=bool(m.get("is_default")),
                supported_task_types=[TaskType(t) for t in claimed if t in valid],
                max_steps=contract.MAX_STEPS_TURBO if contract.is_turbo_model_name(name) else contract.MAX_STEPS_BASE,
            )
    return list(rows.values())


def build_capabilities(
    run_dirs: list[Path],
    *,
    backend: str | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Capabilities:
    """The `Capabilities` of one backend, judged from the runs' records."""
    runs = load_runs([Path(p) for p in run_dirs])
    records = all_records(runs)
    labels = sorted({r.server for r in records})
    if not labels:
        raise CapabilitiesError(
            f"no results in {', '.join(str(r.run_dir) for r in runs)}: run `acekit matrix` first (or let it finish)"
        )
    if backend is None:
        if len(labels) > 1:
            raise CapabilitiesError(
                f"the runs hold several backends ({', '.join(labels)}); a capabilities document describes one: "
                f"pass --backend {labels[0]}"
            )
        backend = labels[0]
    if backend not in labels:
        raise CapabilitiesError(f"no backend {backend!r} in the runs: choose from {', '.join(labels)}")
    mine = [r for r in records if r.server == backend]
    is_reference = any(r.is_reference for r in mine)
    tasks: dict[TaskType, TaskCapability] = {}
    for task in TaskType:
        j = judge_task(mine, backend=backend, task=task.value, thresholds=thresholds)
        reasons = list(j.reasons)
        if j.verdict == Verdict.untested and not any(r.task == task.value for r in mine):
            reasons = ["not measured by the matrix: the plugin should hide it (or run the matrix with this task)"]
        if is_reference:
            reasons.append("measured on the acekit reference engine, not ACE-Step")
        tasks[task] = TaskCapability(
            task=task, verdict=j.verdict, reasons=reasons, models=j.models, recommended=j.recommended,
            cost=j.cost, scores=j.scores,
        )
    counted = counted_checks(thresholds.checks)
    for cap in tasks.values():
        cap.unproven_checks = unproven_checks(cap.task.value, counted)
    info = _backend_info(runs, backend, is_reference)
    return Capabilities(
        source="matrix",
        backend=info,
        models=_models(runs, backend),
        tasks=tasks,
        thresholds=thresholds.flat(),
        runs=[r.run_id for r in runs],
        fit=run_limits(info.gpu_name, info.gpu_memory_total_mb, mine),
        checks=check_reliability(counted),
    )


def check_reliability(counted: list[CountedCheck]) -> dict[str, CheckReliability]:
    """Each counted check (`acekit.analysis.trust.counted_checks`) with its blind figures: the capabilities
    document's ``checks``, and the rows of the report's trust section."""
    tasks = {t.value for t in TaskType}
    return {c.check: CheckReliability(
        counted_for=[TaskType(t) for t in c.tasks if t in tasks], meets_targets=c.met,
        measured_on=c.trust.measured_on if c.trust else "not measured on unseen music",
        figures=[CheckFigure(metric=f.metric, measured=f.measured, target=f.target, met=f.met)
                 for f in (c.trust.figures if c.trust else ())],
        misses=c.trust.misses if c.trust else "") for c in counted}
