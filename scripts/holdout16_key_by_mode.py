"""holdout16 (notes/holdout16-declaration.md, "Key: reported apart"): the shipped key design's MIREX on
holdout16 overall, on the pieces whose K: mode is major or minor (ionian, aeolian, minor; the chorales,
whose key is read from the final bass, are major or minor) and on the pieces in a church mode (dorian,
mixolydian, phrygian, lydian), with counts. A measurement, no design: the shipped `analyze_key` is run,
unchanged, exactly as `analyze_audio` runs it (the same analysis channel, thresholds and request), on the
clips tests/test_analysis_calibration.py `test_key_mirex` scores (the split's song and tempo clips).

    .venv/bin/python scripts/holdout16_key_by_mode.py /tmp/rendered/<content hash> [TEST.log]

With TEST.log (the output of `pytest ... -k "test_key_mirex and holdout16" -s`), the overall MIREX, the clip
count and the wrong keys (clip, estimate, flagged) are checked against the test's own printout.

Aggregate figures only: holdout16 is blind for the key seventeenth pass (notes/holdout16-declaration.md), so
unlike holdout15's script this one prints no clip's key (the check against TEST.log compares them silently).
"""

from __future__ import annotations

import ast
import json
import re
import statistics
import sys
from pathlib import Path

import numpy as np

from acekit.analysis.audio import finite, load_audio
from acekit.analysis.clip import DEFAULT_THRESHOLDS, analysis_channel
from acekit.analysis.key import analyze_key
from acekit.calibration.manifest import CalibrationSet
from acekit.calibration.scores import HOLDOUT16_PIECES
from acekit.keys import parse_key

SPLIT = "holdout16"
CHURCH = ("dorian", "mixolydian", "phrygian", "lydian")  # fixed by the declaration before any figure existed
LINE = re.compile(r"key \(holdout16, (\d+) clips, (\d+) minor\): MIREX ([\d.]+), minor ([\d.]+); .*?"
                  r"wrong \(clip, estimate, margin, flagged\): (\[.*\]); right but flagged: (\d+)")


def key_of(path: Path, requested: str):
    """`analyze_audio`'s key step alone: its analysis channel, `finite`, its thresholds."""
    th = DEFAULT_THRESHOLDS
    y, sr = load_audio(path, mono=False)
    mono, _channel = analysis_channel(np.asarray(y, dtype=np.float32), th)
    return analyze_key(finite(mono), sr, target_key=parse_key(requested), ambiguous_strength=th.ambiguous_strength,
                       ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)


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


def main(root: str, log: str | None = None) -> int:
    data = json.loads((Path(root) / "manifest.json").read_text())
    data["root"] = str(Path(root))  # as the other scripts read a rendered set
    cal = CalibrationSet.model_validate(data)
    by_score = {(p.source + (f"#{p.number}" if p.number else "")): p for p in HOLDOUT16_PIECES}
    clips = [c for c in cal.clips if c.split == SPLIT and c.kind in ("song", "tempo")]
    rows = []
    for c in clips:
        piece = by_score[c.score]
        k = key_of(cal.path(c), c.truth.key)
        rows.append({"clip": c.id, "piece": piece.name, "mode": piece.mode_name or piece.parsed_key.mode,
                     "truth": c.truth.key, "key": k.key, "mirex": k.mirex_score, "flagged": k.ambiguous})
    church = [r for r in rows if r["mode"] in CHURCH]
    plain = [r for r in rows if r["mode"] not in CHURCH]
    print(f"key ({SPLIT}) all: {figures(rows)}")
    print(f"key ({SPLIT}) (a) K: major or minor (chorales by the final bass): {figures(plain)}")
    print(f"key ({SPLIT}) (b) church mode ({', '.join(CHURCH)}): {figures(church)}")
    # no line per church mode: with one or a few pieces a mode's line would name their keys' results (blind)
    if log:
        m = next(filter(None, (LINE.search(line) for line in open(log))), None)
        assert m, f"no holdout16 key line in {log}"
        n, _nm, mirex, _minor, wrong, _rf = m.groups()
        wrong = {(w[0], w[1], w[3]) for w in ast.literal_eval(wrong)}
        mine = {(r["clip"], r["key"], r["flagged"]) for r in rows if r["mirex"] < 1}
        assert int(n) == len(rows), (n, len(rows))
        assert f"{statistics.fmean(r['mirex'] for r in rows):.3f}" == mirex, mirex
        assert wrong == mine, f"{len(wrong ^ mine)} wrong keys differ"  # which ones is not printed (blind)
        print(f"checked against {log}: the same {n} clips, MIREX {mirex}, the same wrong keys")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
