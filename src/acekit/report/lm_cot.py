"""The LM chain-of-thought comparison: lego and complete with the 5 Hz LM's CoT off vs on.

Reads the cases of the matrix's ``lm_cot`` axis (the default spec's ``lm-cot`` arm): the same edit,
the DAW giving no metas, once with acekit's default (switches off, the source's measured metas sent)
and once with upstream's default (the LM fills the metas, never hearing the source). Both are judged
against the source on tempo, beat grid and key; the better setting is what the plugin should send.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel

from acekit.matrix.store import CaseRecord

CHECKS = ("tempo", "beat_grid", "key")
TASKS = ("lego", "complete")


class CotRow(BaseModel):
    server: str
    task: str
    lm_cot: bool
    cases: int
    ok: int
    rates: dict[str, float | None]  # per check: share of ok cases that passed it
    score: float | None  # mean of the rates that exist


class CotFinding(BaseModel):
    server: str
    is_reference: bool
    rows: list[CotRow]
    off_score: float | None
    on_score: float | None
    recommendation: str


def _rate(records: list[CaseRecord], check: str) -> float | None:
    judged = [r for r in records if r.status == "ok" and check in r.passed]
    return round(sum(r.passed[check] for r in judged) / len(judged), 3) if judged else None


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 3) if known else None


def lm_cot_findings(records: list[CaseRecord]) -> list[CotFinding]:
    """One finding per server that ran lego/complete with ``lm_cot`` both off and on."""
    groups: dict[tuple[str, str, bool], list[CaseRecord]] = defaultdict(list)
    reference: dict[str, bool] = {}
    for r in records:
        if r.task in TASKS and r.case.get("omit"):
            groups[(r.server, r.task, bool(r.case.get("lm_cot", False)))].append(r)
            reference[r.server] = r.is_reference
    out = []
    for server in sorted({k[0] for k in groups}):
        rows = []
        for task in TASKS:
            for cot in (False, True):
                recs = groups.get((server, task, cot), [])
                if not recs:
                    continue
                rates = {c: _rate(recs, c) for c in CHECKS}
                rows.append(CotRow(server=server, task=task, lm_cot=cot, cases=len(recs),
                                   ok=sum(r.status == "ok" for r in recs), rates=rates,
                                   score=_mean(list(rates.values()))))
        off = _mean([r.score for r in rows if not r.lm_cot])
        on = _mean([r.score for r in rows if r.lm_cot])
        if off is None or on is None:
            continue
        if off >= on:
            rec = (f"send the LM switches off (thinking=false, use_cot_caption/language/metas=false: acekit's "
                   f"default) and give the DAW's bpm, key, meter and length, or let acekit measure them from the "
                   f"source: adherence {off:.0%} with the CoT off vs {on:.0%} on")
        else:
            rec = (f"the LM's CoT adhered better here ({on:.0%} on vs {off:.0%} off): check the measured metas "
                   f"(meta_sources in the records) before letting the LM fill them (--lm-fill)")
        if reference.get(server):
            rec += " [reference engine, NOT ACE-Step: proves the kit measures the difference, not ACE-Step's behaviour]"
        out.append(CotFinding(server=server, is_reference=reference.get(server, False), rows=rows,
                              off_score=off, on_score=on, recommendation=rec))
    return out


def markdown_lines(findings: list[CotFinding]) -> list[str]:
    if not findings:
        return []
    lines = ["", "## LM chain of thought for lego and complete", "",
             "The DAW gave no metas; CoT off = acekit's default (the source's measured metas sent, LM switches "
             "off), on = upstream's default (the LM fills the metas). Pass rates against the source.", "",
             "| backend | task | CoT | ok | tempo | beat grid | key |", "|---|---|---|---|---|---|---|"]
    for f in findings:
        for r in f.rows:
            cells = " | ".join("–" if r.rates[c] is None else f"{r.rates[c]:.0%}" for c in CHECKS)
            lines.append(f"| {r.server} | {r.task} | {'on' if r.lm_cot else 'off'} | {r.ok}/{r.cases} | {cells} |")
    lines.append("")
    lines += [f"- **{f.server}**: {f.recommendation}" for f in findings]
    return lines
