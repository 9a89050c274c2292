"""Tempo, seventh pass: the ONE evaluation on the blind split (notes/tempo-seventh-pass.md), run after the freeze commit.

    .venv/bin/python scripts/tempo_seventh_eval.py SHIPPED_TEMPO_PY OUT.json [CALIBRATION_PARENT] [SPLIT]

The frozen design (this tree's `acekit.analysis.tempo`) and the shipped one (SHIPPED_TEMPO_PY, e.g.
``git show main:src/acekit/analysis/tempo.py > /tmp/tempo_shipped.py``) are judged on the same clips with the
calibration test's own function (`tests/test_analysis_calibration.py::_tempo_cases`: each song at its own tempo, 1.1x,
0.9x, 0.75x), one beat-tracker run per clip shared by both; then every song at the controls (0.5x, 2x, 1.5x, 2/3x, 3x,
1/3x, 13 off factors 0.6-1.8). Ship rule (fixed before the evaluation): more right AND no more wrong than the shipped
design, and no control passing that the shipped design does not pass.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_analysis_calibration as cal_test  # noqa: E402

from acekit.analysis import load_audio, track_beats  # noqa: E402
from acekit.analysis import tempo as frozen  # noqa: E402
from acekit.calibration import build_calibration_set  # noqa: E402

CONTROLS = (0.5, 2.0, 1.5, 2 / 3, 3.0, 1 / 3, 0.6, 0.65, 0.7, 0.8, 0.85, 1.15, 1.2, 1.25, 1.3, 1.4, 1.6, 1.7, 1.8)


def main(shipped_py: str, out: str, parent: str | None = None, split: str = "holdout7") -> None:
    spec = importlib.util.spec_from_file_location("tempo_shipped", shipped_py)
    shipped = importlib.util.module_from_spec(spec)
    sys.modules["tempo_shipped"] = shipped
    spec.loader.exec_module(shipped)

    def shipped_analyze(y, sr, *, beat_track, **kw):
        return shipped.analyze_tempo(y, sr, beat_track=shipped.BeatTrack(**beat_track.model_dump()), **kw)

    cal = build_calibration_set(parent, workers=1)
    songs = cal.of_kind("song", split=split)
    tracked = {}
    for c in songs:
        y, sr = load_audio(cal.path(c), mono=False)
        tracked[c.id] = (y, sr, track_beats(y.mean(axis=1), sr))
    result = {"split": split, "clips": len(songs)}
    for name, analyze in (("frozen", frozen.analyze_tempo), ("shipped", shipped_analyze)):
        cal_test.analyze_tempo = analyze  # the test's own function, with this design's analyser
        cases = cal_test._tempo_cases(cal, tracked, split)
        right, wrong, unsure = cal_test._tempo_figures(cases)
        controls = []
        for c in songs:
            y, sr, bt = tracked[c.id]
            for fac in CONTROLS:
                r = analyze(y.mean(axis=1), sr, target_bpm=c.truth.bpm_requested * fac,
                            time_signature=c.truth.time_signature, beat_track=bt)
                if r.verdict == "pass":
                    controls.append([c.id, round(fac, 4)])
        result[name] = dict(right=right, wrong=wrong, unreliable=unsure, n=len(cases), cases=cases,
                            control_passes=controls)
        print(f"{name}: {len(cases)} judgements, right {right:.1%}, wrong {wrong:.1%}, unreliable {unsure:.1%}; "
              f"controls passing {len(controls)}", flush=True)
    fz, sh = result["frozen"], result["shipped"]
    new_controls = [c for c in fz["control_passes"] if c not in sh["control_passes"]]
    differ = [(a[0], round(a[1], 1), a[2], b[3], a[3]) for a, b in zip(fz["cases"], sh["cases"]) if a[3] != b[3]]
    ship = fz["right"] > sh["right"] and fz["wrong"] <= sh["wrong"] and not new_controls
    result.update(new_controls=new_controls, differ=differ, ship=ship)
    print("controls passing under the frozen design and not the shipped:", new_controls)
    print("judgements that differ (clip, bpm, want, shipped, frozen):", differ)
    print("ship:", ship)
    Path(out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
