"""tab_plan: the one-line DAW-tab decision per task across backends."""

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
