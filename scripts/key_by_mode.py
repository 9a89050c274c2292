"""A held-out split's key figures read apart by mode, as notes/holdout15-declaration.md,
notes/holdout16-declaration.md and notes/holdout17-declaration.md fix it: the shipped key design's MIREX
overall, on the pieces whose K: mode is major or minor (ionian, aeolian, minor; the chorales, whose key is read
from the final bass, are major or minor) and on the pieces in a church mode (dorian, mixolydian, phrygian,
lydian), with counts. A measurement, no design: the shipped `analyze_key` is run, unchanged, exactly as
`analyze_audio` runs it (the same analysis channel, thresholds and request), on the clips
tests/test_analysis_calibration.py `test_key_mirex` scores (the split's song and tempo clips). With a test log
(the output of `pytest ... -k "test_key_mirex and <split>" -s`), the overall MIREX, the clip count and the wrong
keys (clip, estimate, flagged) are checked against the test's own printout.

Run through scripts/holdout15_key_by_mode.py, scripts/holdout16_key_by_mode.py and
scripts/holdout17_key_by_mode.py. Not used by acekit itself.
"""

from __future__ import annotations

import ast
import json
import re
import statistics
from pathlib import Path

import numpy as np

from acekit.analysis.audio import finite, load_audio
from acekit.analysis.clip import DEFAULT_THRESHOLDS, analysis_channel
from acekit.analysis.key import analyze_key
from acekit.calibration.manifest import CalibrationSet
from acekit.calibration.scores import CORPUS_PIECES
from acekit.keys import parse_key

CHURCH = ("dorian", "mixolydian", "phrygian", "lydian")  # fixed by the declarations before any figure existed


def _test_line(split: str) -> re.Pattern:
    """`test_key_mirex`'s printout for ``split``."""
    return re.compile(rf"key \({split}, (\d+) clips, (\d+) minor\): MIREX ([\d.]+), minor ([\d.]+); .*?"
                      r"wrong \(clip, estimate, margin, flagged\): (\[.*\]); right but flagged: (\d+)")


def key_of(path: Path, requested: str):
    """`analyze_audio`'s key step alone: its analysis channel, `finite`, its thresholds."""
    th = DEFAULT_THRESHOLDS
    y, sr = load_audio(path, mono=False)
    mono, _channel = analysis_channel(np.asarray(y, dtype=np.float32), th)
    return analyze_key(finite(mono), sr, target_key=parse_key(requested), **th.key_options())


def figures(rows: list[dict]) -> str:
    if not rows:
        return "0 clips"
    n, minor = len(rows), [r for r in rows if r["truth"].endswith("minor")]
    mirex = statistics.fmean(r["mirex"] for r in rows)
    mm = f"{statistics.fmean(r['mirex'] for r in minor):.3f}" if minor else "-"
    wrong = [r for r in rows if r["mirex"] < 1]
    return (f"{n} clips of {len({r['piece'] for r in rows})} pieces ({len(minor)} minor): MIREX {mirex:.3f} "
            f"(sum {sum(r['mirex'] for r in rows):.1f} of {n}), minor {mm}; right {n - len(wrong)}, wrong {len(wrong)} "
            f"({sum(not r['flagged'] for r in wrong)} unflagged), right but flagged "
            f"{sum(r['flagged'] and r['mirex'] == 1 for r in rows)}")


def main(root: str, log: str | None = None, *, split: str, per_clip: bool) -> int:
    """Print ``split``'s key figures apart by mode; with ``per_clip`` also per church mode and every wrong key (off
    for a split still blind for a key design: with one or a few pieces a mode's line would name their results)."""
    data = json.loads((Path(root) / "manifest.json").read_text())
    data["root"] = str(Path(root))  # as the other scripts read a rendered set
    cal = CalibrationSet.model_validate(data)
    by_score = {(p.source + (f"#{p.number}" if p.number else "")): p for p in CORPUS_PIECES if p.split == split}
    clips = [c for c in cal.clips if c.split == split and c.kind in ("song", "tempo")]
    rows = []
    for c in clips:
        piece = by_score[c.score]
        k = key_of(cal.path(c), c.truth.key)
        rows.append({"clip": c.id, "piece": piece.name, "mode": piece.mode_name or piece.parsed_key.mode,
                     "truth": c.truth.key, "key": k.key, "mirex": k.mirex_score, "flagged": k.ambiguous})
    church = [r for r in rows if r["mode"] in CHURCH]
    plain = [r for r in rows if r["mode"] not in CHURCH]
    print(f"key ({split}) all: {figures(rows)}")
    print(f"key ({split}) (a) K: major or minor (chorales by the final bass): {figures(plain)}")
    print(f"key ({split}) (b) church mode ({', '.join(CHURCH)}): {figures(church)}")
    if per_clip:
        for mode in CHURCH:
            print(f"    {mode}: {figures([r for r in church if r['mode'] == mode])}")
        print("wrong (clip, mode, truth, estimate, MIREX, flagged):",
              [(r["clip"], r["mode"], r["truth"], r["key"], r["mirex"], r["flagged"]) for r in rows if r["mirex"] < 1])
    if log:
        m = next(filter(None, (_test_line(split).search(line) for line in open(log))), None)
        assert m, f"no {split} key line in {log}"
        n, _nm, mirex, _minor, wrong, _rf = m.groups()
        wrong = {(w[0], w[1], w[3]) for w in ast.literal_eval(wrong)}
        mine = {(r["clip"], r["key"], r["flagged"]) for r in rows if r["mirex"] < 1}
        assert int(n) == len(rows), (n, len(rows))
        assert f"{statistics.fmean(r['mirex'] for r in rows):.3f}" == mirex, mirex
        assert wrong == mine, (wrong ^ mine) if per_clip else f"{len(wrong ^ mine)} wrong keys differ"
        print(f"checked against {log}: the same {n} clips, MIREX {mirex}, the same wrong keys")
    return 0

