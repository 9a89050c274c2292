"""Beat grid on unseen music (notes/beat-grid-blind.md): track each song clip's beats once, then judge
every request of `acekit.calibration.scoring.GRID_REQUESTS` from them with the shipped verdict rule.

    .venv/bin/python scripts/beat_grid_blind.py track CAL_PARENT SPLIT[,SPLIT...] [--cache /tmp/grid8/beats.json]
    .venv/bin/python scripts/beat_grid_blind.py judge CAL_PARENT SPLIT[,SPLIT...] [--cache ...] [--json OUT]

CAL_PARENT: the folder holding the rendered set (e.g. ~/.cache/acekit/calibration; reused, never
re-rendered there). Only beat-grid figures are computed or printed: no tempo verdict, key figure or
tracker tempo. Not used by acekit itself; tests/test_analysis_calibration.py measures the same
judgements through the same library functions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from acekit.analysis import load_audio, track_beats
from acekit.calibration import build_calibration_set
from acekit.calibration.scoring import beat_grid_judgements, verdict_tally

TYPES = ("own", "near_off", "far_off", "metrical")


def track(cal, splits: list[str], cache: Path) -> None:  # noqa: ANN001
    done = json.loads(cache.read_text()) if cache.is_file() else {}
    for split in splits:
        for c in cal.of_kind("song", split=split):
            if c.id in done:
                continue
            y, sr = load_audio(cal.path(c), mono=False)
            bt = track_beats(y.mean(axis=1), sr)  # as the calibration tests' `tracked` fixture
            done[c.id] = {"split": split, "beats_s": bt.beats_s, "confidence": bt.confidence}
            cache.write_text(json.dumps(done))
        print(f"{split}: tracked", flush=True)


def judge(cal, splits: list[str], cache: Path, out: Path | None) -> None:  # noqa: ANN001
    done = json.loads(cache.read_text())
    report = {}
    for split in splits:
        rows = []
        for c in cal.of_kind("song", split=split):
            d = done[c.id]
            for j in beat_grid_judgements(d["beats_s"], d["confidence"], c.truth.bpm_requested,
                                          c.truth.time_signature):
                rows.append({"clip": c.id, "ts": c.truth.time_signature, "conf": round(d["confidence"], 3),
                             "soundfont": c.soundfont, "render": c.render, **j})
        per = {t: verdict_tally([r for r in rows if r["type"] == t]) for t in TYPES}
        per["off"] = verdict_tally([r for r in rows if r["type"] in ("near_off", "far_off")])
        for f in sorted({r["factor"] for r in rows}):
            per[f"x{f:g}"] = verdict_tally([r for r in rows if r["factor"] == f])
        report[split] = {"clips": len({r["clip"] for r in rows}), "tally": per,
                         "wrong": [r for r in rows if r["got"] is not None and r["got"] != r["want"]],
                         "unreliable": sorted({(r["clip"], r["conf"]) for r in rows if r["got"] is None})}
        print(f"== {split}: {report[split]['clips']} clips")
        for t, v in per.items():
            print(f"  {t:10s} n {v['n']:4d} right {v['right']:4d} wrong {v['wrong']:3d} unreliable {v['unreliable']:3d} "
                  f"share right {v['share_right']} unreliable share {v['unreliable_share']}")
        for r in report[split]["wrong"]:
            print(f"  WRONG {r['clip']} {r['ts']} {r['soundfont']} {r['render']} x{r['factor']:g} want "
                  f"{'pass' if r['want'] else 'fail'}: share {r['share']} drift {r['drift_pct']} % k {r['k']} "
                  f"conf {r['conf']}")
        print(f"  unreliable clips (clip, tracker confidence): {report[split]['unreliable']}")
    if out is not None:
        out.write_text(json.dumps(report, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=("track", "judge"))
    ap.add_argument("cal_parent", type=Path)
    ap.add_argument("splits")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/grid8/beats.json"))
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    cal = build_calibration_set(a.cal_parent.expanduser())
    splits = a.splits.split(",")
    if a.phase == "track":
        track(cal, splits, a.cache)
    else:
        judge(cal, splits, a.cache, a.json)


if __name__ == "__main__":
    main()
