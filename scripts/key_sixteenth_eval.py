"""Key, sixteenth pass (notes/key-sixteenth-pass.md): the blind evaluation, once, after the freeze commit.

    .venv/bin/python scripts/key_sixteenth_eval.py run /tmp/rendered OUT.json --splits holdout13[,holdout14]
    PYTHONPATH=MAIN_SRC .venv/bin/python scripts/key_sixteenth_eval.py run ...   # the shipped design (main's src)
    .venv/bin/python scripts/key_sixteenth_eval.py table DESIGN.json SHIPPED.json

``run``: every song and tempo clip of the named blind splits (only holdout13 and holdout14 are accepted),
read as `analyze_audio` reads it (its channel choice, `Thresholds`' key thresholds) by whichever
`acekit.analysis.key.analyze_key` is on the path; per clip the key, its MIREX score (set by `analyze_key`
with the truth as target: the calibration tests' own function) and its flag. Refuses to run unless this
branch's history holds the freeze commit. ``table``: per split and pooled, for both designs: MIREX, minor
MIREX, wrong, wrong unflagged, right flagged, right unflagged, from the per-clip scores (no rounding
before pooling).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

BLIND = ("holdout13", "holdout14")
FREEZE = "key: sixteenth pass design frozen (sixteenth pass)"


def run(parent: str, out: str, splits: list[str]) -> None:
    import numpy as np

    import acekit.analysis.key as keymod
    from acekit.analysis.audio import finite, load_audio
    from acekit.analysis.clip import Thresholds, analysis_channel
    from acekit.calibration import build_calibration_set
    from acekit.calibration.build import content_hash

    assert splits and all(s in BLIND for s in splits), splits
    log = subprocess.run(["git", "-C", str(Path(__file__).parent), "log", "--format=%s"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert FREEZE in log, "no freeze commit in this branch's history: nothing blind is evaluated"
    assert (Path(parent) / content_hash() / "manifest.json").is_file(), "the rendered set is not complete"
    th = Thresholds()
    cal = build_calibration_set(parent, workers=1)
    rows = []
    for split in splits:
        for c in cal.of_kind("song", "tempo", split=split):
            y, sr = load_audio(cal.path(c), mono=False)
            mono, _channel = analysis_channel(np.asarray(y, dtype=np.float32), th)  # analyze_audio's choice
            r = keymod.analyze_key(finite(mono), sr, target_key=c.truth.key, ambiguous_strength=th.ambiguous_strength,
                                   ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)
            rows.append({"split": split, "id": c.id, "truth": c.truth.key, "key": r.key, "mirex": r.mirex_score,
                         "ambiguous": r.ambiguous, "ambiguity": r.ambiguity, "module": keymod.__file__})
            print(split, c.id, c.truth.key, r.key, r.mirex_score, r.ambiguous, file=sys.stderr, flush=True)
    Path(out).write_text(json.dumps(rows, indent=1))


def figures(rows: list[dict]) -> dict:
    minor = [r for r in rows if r["truth"].endswith("minor")]
    return {"n": len(rows), "n_minor": len(minor), "sum": sum(r["mirex"] for r in rows),
            "mirex": sum(r["mirex"] for r in rows) / len(rows), "minor": sum(r["mirex"] for r in minor) / len(minor),
            "wrong": sum(r["mirex"] < 1 for r in rows), "wrong_unflagged": sum(r["mirex"] < 1 and not r["ambiguous"] for r in rows),
            "right_flagged": sum(r["mirex"] == 1 and r["ambiguous"] for r in rows),
            "right_unflagged": sum(r["mirex"] == 1 and not r["ambiguous"] for r in rows)}


def table(design_path: str, shipped_path: str) -> None:
    design, shipped = json.loads(Path(design_path).read_text()), json.loads(Path(shipped_path).read_text())
    assert [(r["split"], r["id"]) for r in design] == [(r["split"], r["id"]) for r in shipped], "not the same clips"
    print(f"design module {design[0]['module']}; shipped module {shipped[0]['module']}")
    print("| split | clips (minor) | design | MIREX (clip sum) | minor | wrong | wrong unflagged | right flagged | "
          "right unflagged |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    splits = [s for s in BLIND if any(r["split"] == s for r in design)]
    for split in splits + (["pooled"] if len(splits) > 1 else []):
        for name, rows in (("sixteenth pass (frozen)", design), ("shipped (fourteenth pass)", shipped)):
            sel = [r for r in rows if split == "pooled" or r["split"] == split]
            f = figures(sel)
            print(f"| {split} | {f['n']} ({f['n_minor']}) | {name} | {f['mirex']:.3f} ({f['sum']:.1f}) | {f['minor']:.3f} | "
                  f"{f['wrong']} | {f['wrong_unflagged']} | {f['right_flagged']} | {f['right_unflagged']} |")
    if len(splits) == 2:
        fd, fs = figures(design), figures(shipped)
        per = {sp: (figures([r for r in design if r["split"] == sp]), figures([r for r in shipped if r["split"] == sp]))
               for sp in splits}
        print("Ship rules 1-5 (notes/key-sixteenth-pass.md; rule 6, speed, apart):")
        print(f"1. pooled MIREX {fd['mirex']:.4f} > shipped {fs['mirex']:.4f}: {fd['mirex'] > fs['mirex']}")
        for sp, (a, b) in per.items():
            print(f"2. {sp}: MIREX {a['mirex']:.4f} >= shipped {b['mirex']:.4f} - 0.02: {a['mirex'] >= b['mirex'] - 0.02}")
        print(f"3. wrong unflagged {fd['wrong_unflagged']} <= shipped {fs['wrong_unflagged']}: "
              f"{fd['wrong_unflagged'] <= fs['wrong_unflagged']}")
        print(f"4. minor MIREX {fd['minor']:.4f} >= shipped {fs['minor']:.4f}: {fd['minor'] >= fs['minor']}")
        print(f"5. right unflagged {fd['right_unflagged']} >= shipped {fs['right_unflagged']} - 4: "
              f"{fd['right_unflagged'] >= fs['right_unflagged'] - 4}")
    changed = [(d["split"], d["id"], d["truth"], s["key"], d["key"], s["mirex"], d["mirex"], d["ambiguous"])
               for d, s in zip(design, shipped) if d["key"] != s["key"] or d["ambiguous"] != s["ambiguous"]]
    print(f"clips where the designs differ (split, clip, truth, shipped key, design key, shipped MIREX, design MIREX, "
          f"design flagged): {len(changed)}")
    for c in changed:
        print("  ", c)


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("parent")
    r.add_argument("out")
    r.add_argument("--splits", required=True)
    t = sub.add_parser("table")
    t.add_argument("design")
    t.add_argument("shipped")
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.parent, a.out, a.splits.split(","))
    else:
        table(a.design, a.shipped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
