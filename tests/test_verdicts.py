"""Verdicts: the one-line DAW-tab decision per task across backends; out-of-memory cases as limits."""

from __future__ import annotations

from acekit.verdicts import TaskJudgement, Verdict, tab_plan


def _j(backend: str, task: str, verdict: Verdict) -> TaskJudgement:
    return TaskJudgement(backend=backend, task=task, verdict=verdict)


def test_tab_plan_ships_hides_and_marks_beta_per_backend() -> None:
    judged = {
        "spark": {"lego": _j("spark", "lego", Verdict.viable), "cover": _j("spark", "cover", Verdict.viable),
                  "repaint": _j("spark", "repaint", Verdict.not_viable)},
        "t4": {"lego": _j("t4", "lego", Verdict.marginal), "cover": _j("t4", "cover", Verdict.viable),
               "repaint": _j("t4", "repaint", Verdict.untested)},
    }
    assert tab_plan(judged, "cover") == "ship on every backend"
    assert tab_plan(judged, "lego") == "ship on spark; beta on t4"
    assert tab_plan(judged, "repaint") == "no tab on any backend"
    # a task one backend never ran is hidden there
    judged["spark"]["extract"] = _j("spark", "extract", Verdict.viable)
    assert tab_plan(judged, "extract") == "ship on spark; hide on t4"


def _rec(duration: float, status: str) -> "CaseRecord":
    from acekit.matrix.store import CaseRecord

    return CaseRecord(case_id=f"c{duration:g}{status}", server="t4", server_url="http://t4", engine="ACE-Step",
                      task="text2music", model="acestep-v15-base", case={"duration_s": duration},
                      status=status, wall_s=duration / 10 if status == "ok" else None,
                      reason="CUDA out of memory" if status == "does_not_fit" else None,
                      passed={"health": True} if status == "ok" else {})


def test_out_of_memory_is_a_limit_not_a_failure() -> None:
    from acekit.verdicts import judge_task

    records = [_rec(60, "ok"), _rec(120, "ok"), _rec(240, "does_not_fit"), _rec(600, "does_not_fit")]
    j = judge_task(records, backend="t4", task="text2music")
    assert j.scores["success_rate"] == 1.0 and j.scores["does_not_fit"] == 2
    assert j.verdict == Verdict.viable
    assert any("2 case(s) do not fit in GPU memory" in r for r in j.reasons)
    assert j.recommended.max_duration_s == 120  # never at or past the first duration that ran out of memory
    assert j.cost.does_not_fit == 2 and j.cost.failures == 0
    none_fit = judge_task([_rec(600, "does_not_fit")], backend="t4", task="text2music")
    assert none_fit.verdict == Verdict.not_viable and "fits in GPU memory" in none_fit.reasons[0]
