"""Build the HTML report (one self-contained file) and its Markdown summary from run directories."""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from acekit import __version__, contract
from acekit.analysis.trust import CountedCheck, counted_checks, unproven_checks
from acekit.calibration.scorecard import Scorecard
from acekit.capabilities.fitting import run_limits
from acekit.capabilities.from_matrix import check_reliability
from acekit.matrix.store import CaseRecord
from acekit.report import figures as fig
from acekit.report.audio_embed import embed_audio
from acekit.matrix.runs import LoadedRun, all_records, load_runs, run_of
from acekit.report.lm_cot import lm_cot_findings
from acekit.report.lm_cot import markdown_lines as lm_cot_markdown
from acekit.verdicts import (
    DEFAULT_THRESHOLDS,
    TaskJudgement,
    Thresholds,
    judge_all,
    quality_passed,
    relevant_checks,
    seconds_per_audio_second,
    tab_plan,
)

KEY_GOT = ("key.key", "key.estimated", "key.estimated_key", "key.key", "key.detected")


@dataclass
class ReportFiles:
    html: Path
    markdown: Path
    html_bytes: int
    embedded_audio: int
    judgements: dict[str, dict[str, TaskJudgement]]


def _fmt_num(v: Any, digits: int = 2) -> str:
    if v is None or isinstance(v, bool):
        return "–"
    try:
        return f"{float(v):.{digits}f}"
    except (TypeError, ValueError):
        return str(v)


def _fmt_pct(v: Any) -> str:
    return "–" if v is None else f"{float(v):.0%}"


def _fmt_mem(v: Any) -> str:
    return "unknown" if v is None else f"{float(v):,.0f} MB"


def backend_infos(runs: list[LoadedRun], records: list[CaseRecord]) -> list[dict[str, Any]]:
    """One entry per backend label: engine, version, url, whether it is the reference engine, GPU."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        for label, entry in run.manifest.servers.items():
            tel = entry.telemetry or {}
            gpu = tel.get("gpu") or {}
            out[label] = dict(label=label, url=entry.url, engine=(entry.health or {}).get("service") or "unknown",
                              version=(entry.health or {}).get("version"),
                              gpu=gpu.get("name") if isinstance(gpu, dict) else None,
                              gpu_memory_total_mb=gpu.get("memory_total_mb") if isinstance(gpu, dict) else None,
                              is_reference=False)
    for r in records:
        info = out.setdefault(r.server, dict(label=r.server, url=r.server_url, engine=r.engine,
                                             version=r.engine_version, gpu=None, gpu_memory_total_mb=None,
                                             is_reference=False))
        info["is_reference"] = info["is_reference"] or r.is_reference
    return [out[k] for k in sorted(out) if any(r.server == k for r in records)]


def _row(record: CaseRecord, *, audio_src: str | None, embedded: bool, thresholds: Thresholds) -> dict[str, Any]:
    key_got = next((record.analysis.get(k) for k in KEY_GOT if isinstance(record.analysis.get(k), str)), None)
    return dict(
        case_id=record.case_id, server=record.server, label=record.label or record.case_id, status=record.status,
        reason=record.reason, wall_s=record.wall_s, spa=seconds_per_audio_second(record),
        peak=record.peak_gpu_memory_mb, bpm_req=record.case.get("bpm"), bpm_got=fig.field(record, *fig.MEASURED_BPM),
        key_req=record.case.get("key"), key_got=key_got, key_score=fig.field(record, *fig.KEY_SCORE),
        beat_ms=fig.field(record, *fig.BEAT_OFFSET), checks=relevant_checks(record, thresholds),
        unreliable=[c for c in record.unreliable
                    if any(c == w or c.startswith(w + ".") for w in thresholds.checks.get(record.task, ()))],
        quality=quality_passed(record, thresholds), audio_src=audio_src, embedded=embedded,
    )


def _pick_embedded(records: list[CaseRecord], *, limit: int) -> set[tuple[str, str]]:
    """Up to ``limit`` ok clips, taken round-robin over (backend, task, arm) so every group gets players."""
    groups: dict[tuple[str, str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in records:
        if r.status == "ok" and r.audio:
            groups[(r.server, r.task, r.arm)].append(r.key)
    chosen: list[tuple[str, str]] = []
    queues = [list(v) for v in groups.values()]
    while len(chosen) < limit and any(queues):
        for q in queues:
            if q and len(chosen) < limit:
                chosen.append(q.pop(0))
    return set(chosen)


def build_report(
    run_dirs: list[Path],
    *,
    out: Path | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    max_embedded: int = 48,
    max_repaint_plots: int = 3,
    scorecard: Scorecard | None = None,
) -> ReportFiles:
    """Write ``out`` (default: RUN_DIR/report.html) and ``out`` with ``.md``; return their paths.

    ``scorecard`` (`acekit scorecard --json` on the user's own labelled music) adds its figures beside
    acekit's blind ones."""
    runs = load_runs([Path(p) for p in run_dirs])
    out = Path(out) if out else runs[0].run_dir / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    records = all_records(runs)
    order = [t.value for t in contract.TaskType]
    records.sort(key=lambda r: (order.index(r.task) if r.task in order else 99, r.server, r.arm != "grid", r.label))
    judgements = judge_all(records, thresholds)
    backends = backend_infos(runs, records)

    colors = fig.backend_colors([r.server for r in records])
    figures = [f for f in (fig.runtime_plot(records, colors=colors), fig.memory_plot(records, colors=colors),
                           fig.tempo_plot(records, colors=colors), fig.key_plot(records, colors=colors),
                           fig.beat_offset_plot(records)) if f is not None]
    # Spectrograms for the same repaint cases on every backend, so they can be compared.
    repaints = [r for r in records if r.task == "repaint" and r.status == "ok" and r.audio]
    shown = list(dict.fromkeys(r.case_id for r in repaints))[:max_repaint_plots]
    for case_id in shown:
        for r in (r for r in repaints if r.case_id == case_id):
            f = fig.repaint_boundary_plot(r, run_of(runs, r).run_dir / r.audio[0])
            if f:
                figures.append(f)

    embed = _pick_embedded(records, limit=max_embedded)
    sections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    n_embedded = 0
    for r in records:
        src, embedded = None, False
        if r.status == "ok" and r.audio:
            path = run_of(runs, r).run_dir / r.audio[0]
            if r.key in embed:
                src = embed_audio(path)
                embedded = src is not None
                n_embedded += embedded
            if src is None:
                src = Path(os.path.relpath(path.resolve(), out.parent.resolve())).as_posix()
        sections[r.task].append(_row(r, audio_src=src, embedded=embedded, thresholds=thresholds))

    th_rows = [dict(name=name, value=("none" if v is None else v), description=f.description or "")
               for name, f in Thresholds.model_fields.items() if name != "checks"
               for v in [getattr(thresholds, name)]]
    th_rows.append(dict(name="checks", value="",
                        description="; ".join(f"{t}: {', '.join(c)}" for t, c in thresholds.checks.items())))
    counted = counted_checks(thresholds.checks)
    trust = trust_rows(counted)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files("acekit.report").joinpath("template.html.j2").read_text())
    any_ref = any(b["is_reference"] for b in backends)
    all_tasks = [t for t in order if any(t in j for j in judgements.values())]
    limits = memory_limits(backends, records)
    html = template.render(
        title="acekit matrix report" + (" — reference engine" if any_ref and len(backends) == 1 else ""),
        version=__version__, generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        run_ids=[r.run_id for r in runs], run_dirs=[str(r.run_dir) for r in runs], n_records=len(records),
        backends=backends, judgements=judgements, all_tasks=all_tasks,
        tab_plans={t: tab_plan(judgements, t) for t in all_tasks},
        figures=figures, memory_known=any(r.peak_gpu_memory_mb is not None for r in records),
        task_sections=[dict(task=t, rows=sections[t]) for t in order if t in sections],
        thresholds=th_rows, n_embedded=n_embedded, pct=_fmt_pct, num=_fmt_num, mem=_fmt_mem, limits=limits,
        lm_cot=lm_cot_findings(records), trust=trust, yours=scorecard_groups(scorecard),
        unproven={t: unproven_checks(t, counted) for t in thresholds.checks},
    )
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)
    md_path = out.with_suffix(".md")
    md_path.write_text(markdown_summary(runs, backends, judgements, thresholds, html_name=out.name)
                       + does_not_fit_section(records) + limits_section(limits)
                       + "\n".join(lm_cot_markdown(lm_cot_findings(records))) + "\n"
                       + trust_markdown(trust) + scorecard_markdown(scorecard_groups(scorecard)), encoding="utf-8")
    return ReportFiles(html=out, markdown=md_path, html_bytes=out.stat().st_size, embedded_audio=n_embedded,
                       judgements=judgements)


def trust_rows(counted: list[CountedCheck]) -> list[dict[str, Any]]:
    """Every check some task counts, with what it scored blind, so that a verdict is read knowing how good the
    check behind it is: the capabilities document's ``checks`` entries (one conversion for both), with the name."""
    return [{"check": name, **r.model_dump(mode="json")} for name, r in check_reliability(counted).items()]


def trust_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["", "## How far the checks can be trusted", "",
             "Scored once on music no threshold or design was tuned on (docs/analysis.md).", ""]
    for t in rows:
        met = t["meets_targets"]
        held = "not measured blind" if met is None else "meets target" if met else "below target"
        figs = "; ".join(f"{f['metric']} {f['measured']:.3f} (target {f['target']:.2f})" for f in t["figures"])
        tasks = ", ".join(t["counted_for"])
        lines.append(f"- **{t['check']}** ({held}; counts for {tasks}): {figs or t['measured_on']}. "
                     f"{t['misses']}")
    return "\n".join(lines) + "\n"


#: a scorecard figure -> the check of `thresholds.checks` it measures
SCORECARD_CHECK = {"tempo": "tempo", "key": "key", "health": "health", "boundary": "boundaries",
                   "preservation": "preservation"}


def scorecard_groups(card: Scorecard | None) -> list[dict[str, Any]]:
    """The user's scorecard as report rows: per group, each figure with the check it measures."""
    if card is None:
        return []
    return [{"group": group, "clips": sum(group in ("all", c.split) for c in card.clips),
             "failed": sum(group in ("all", c.split) for c in card.failed),
             "figures": [{"check": SCORECARD_CHECK.get(f.name.split("_")[0], ""), **f.model_dump(mode="json")}
                         for f in figures]}
            for group, figures in card.figures.items()]


def scorecard_markdown(groups: list[dict[str, Any]]) -> str:
    if not groups:
        return ""
    lines = ["", "## The checks on your own labelled music (acekit scorecard)", ""]
    for g in groups:
        failed = f", {g['failed']} not judged" if g["failed"] else ""
        lines += [f"**{g['group']}** ({g['clips']} clips{failed})", "",
                  "| figure | value | n | target | met |", "|---|---|---|---|---|"]
        for f in g["figures"]:
            value = "–" if f["value"] is None else f"{f['value']:.3f}"
            target = "" if f["target"] is None else f"{f['target']:g}"
            met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
            lines.append(f"| {f['name']} | {value} | {f['n']} | {target} | {met} |")
        lines.append("")
    return "\n".join(lines)


def memory_limits(backends: list[dict[str, Any]], records: list[CaseRecord]) -> list[dict[str, Any]]:
    """Per backend and model, the longest clip that fits at batch 1 (fit model for the GPU the telemetry
    named, tightened by out-of-memory cases): the same limits its capabilities document carries."""
    rows = []
    for b in backends:
        info = run_limits(b.get("gpu"), b.get("gpu_memory_total_mb"), [r for r in records if r.server == b["label"]])
        if info is None:
            continue
        for limit in info.limits:
            if limit.batch == 1 and limit == info.limit(limit.model, 1):
                rows.append(dict(backend=b["label"], model=limit.model, max_duration_s=limit.max_duration_s,
                                 source=limit.source, reason=limit.reason, dtype=info.dtype))
    return rows


def limits_section(limits: list[dict[str, Any]]) -> str:
    if not limits:
        return ""
    lines = ["", "## Memory limits (batch 1)", "", "| backend | model | fits up to | from | why |", "|---|---|---|---|---|"]
    for x in limits:
        longest = "nothing fits" if x["max_duration_s"] is None else f"{x['max_duration_s']:g} s"
        lines.append(f"| {x['backend']} | {x['model']} | {longest} | {x['source']} | {x['reason']} |")
    return "\n".join(lines) + "\n"


def does_not_fit_section(records: list[CaseRecord]) -> str:
    """Markdown list of the cases that ran out of GPU memory: limits of the box, not failures ('' if none)."""
    oom = [r for r in records if r.status == "does_not_fit"]
    if not oom:
        return ""
    lines = ["", "## Does not fit (out of GPU memory)", "",
             "These cases do not fit in GPU memory on that backend: a limit the capabilities keep, not a failure.", ""]
    lines += [f"- {r.server} · {r.task} · {r.model} · {r.label or r.case_id}: {(r.reason or '').splitlines()[0][:200]}"
              for r in oom]
    return "\n".join(lines) + "\n"


def markdown_summary(runs: list[LoadedRun], backends: list[dict[str, Any]],
                     judgements: dict[str, dict[str, TaskJudgement]], thresholds: Thresholds, *,
                     html_name: str) -> str:
    lines = ["# acekit matrix summary", "",
             f"Runs: {', '.join(r.run_id for r in runs)} · full report: [{html_name}]({html_name})", ""]
    for b in backends:
        if b["is_reference"]:
            lines += [f"> **Reference engine, not ACE-Step:** backend `{b['label']}` is acekit's procedural test "
                      "engine; these figures prove the kit works, not how ACE-Step performs.", ""]
    lines += ["## Verdicts", "",
              "| backend | task | verdict | model | ok | quality | s/s | peak memory |",
              "|---|---|---|---|---|---|---|---|"]
    for b in backends:
        for j in judgements.get(b["label"], {}).values():
            lines.append(
                f"| {b['label']} | {j.task} | **{j.verdict.value}** | {j.model or '–'} | {j.ok}/{j.cases} | "
                f"{_fmt_pct(j.scores.get('quality_rate'))} | {_fmt_num(j.scores.get('seconds_per_audio_second'))} | "
                f"{_fmt_mem(j.cost.peak_gpu_memory_mb)} |")
    if len(backends) > 1:
        tasks = [t.value for t in contract.TaskType if any(t.value in j for j in judgements.values())]
        lines += ["", "## DAW tabs across backends", "", "| task | " + " | ".join(b["label"] for b in backends)
                  + " | DAW tab |", "|---|" + "---|" * len(backends) + "---|"]
        for t in tasks:
            cells = [judgements.get(b["label"], {}).get(t) for b in backends]
            lines.append(f"| {t} | " + " | ".join(c.verdict.value if c else "not run" for c in cells)
                         + f" | **{tab_plan(judgements, t)}** |")
    lines += ["", "## Recommended DAW UI parameters", "",
              "| backend | task | bpm | default steps | max duration | cover strength | repaint min region | tracks |",
              "|---|---|---|---|---|---|---|---|"]
    for b in backends:
        for j in judgements.get(b["label"], {}).values():
            r = j.recommended
            if j.verdict.value in ("not_viable", "untested"):
                lines.append(f"| {b['label']} | {j.task} | no tab: nothing passed | | | | | |")
                continue
            lines.append(
                f"| {b['label']} | {j.task} | {r.bpm_min}–{r.bpm_max} | {r.default_steps} | {r.max_duration_s:g} s | "
                f"{'–' if r.cover_strength is None else f'{r.cover_strength:g}'} | "
                f"{'–' if r.repaint_min_region_s is None else f'{r.repaint_min_region_s:g} s'} | "
                f"{'–' if r.tracks is None else ', '.join(r.tracks)} |")
    lines += ["", "## Thresholds", ""]
    for name, value in thresholds.model_dump().items():
        if name != "checks":
            lines.append(f"- `{name}` = {value}")
    lines.append("- checks per task: " + "; ".join(f"{t}: {', '.join(c)}" for t, c in thresholds.checks.items()))
    return "\n".join(lines) + "\n"
