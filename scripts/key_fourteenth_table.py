"""Key, fourteenth pass (notes/key-fourteenth-pass.md): the per-split key table of the design and the
shipped estimator on the same clips, from the printouts of tests/test_analysis_calibration.py's
`test_key_mirex` (run with -rA so that passed tests' output is kept): the design's run on this branch
and the shipped estimator's run (main's src and tests on PYTHONPATH). Nothing is computed here but
counts of what the tests printed.

    .venv/bin/python scripts/key_fourteenth_table.py DESIGN.log SHIPPED.log

Prints per split and design: clips (minor), MIREX, minor MIREX, wrong keys, wrong keys left
unflagged, right keys flagged, right keys left unflagged; then the by-construction check: every wrong
key the design leaves unflagged must be one the shipped estimator leaves unflagged with the same key
(printed clip by clip where it fails); and whether the design run's own copy of the profile estimator
(its "key by profiles" line) tables to the shipped run's figures.
"""

from __future__ import annotations

import ast
import re
import sys

LINE = re.compile(r"key \((\w+), (\d+) clips, (\d+) minor\): MIREX ([\d.]+), minor ([\d.]+); EDMA alone [\d.]+, "
                  r"minor [\d.]+; wrong \(clip, estimate, margin, flagged\): (\[.*\]); right but flagged: (\d+)")
PROFILES = re.compile(r"key by profiles \((\w+)\): MIREX ([\d.]+), minor ([\d.]+); wrong \(clip, estimate, margin, "
                      r"flagged\): (\[.*\]); right but flagged: (\d+)")


def rows_of(path: str, pattern: re.Pattern = LINE) -> dict[str, dict]:
    rows = {}
    for line in open(path):
        m = pattern.search(line)
        if not m:
            continue
        if pattern is LINE:
            split, n, nm, mirex, minor, wrong, rf = m.groups()
        else:
            split, mirex, minor, wrong, rf = m.groups()
            n = nm = 0
        wrong = ast.literal_eval(wrong)
        rows[split] = {"n": int(n), "minor_n": int(nm), "mirex": mirex, "minor": minor, "wrong": wrong,
                       "unflagged": [w for w in wrong if not w[3]], "right_flagged": int(rf)}
    return rows


def _order(split: str) -> int:
    """calibrate, holdout, holdout2, ... in the manifest's order."""
    return -1 if split == "calibrate" else int(split.removeprefix("holdout") or 1)


def main(design_log: str, shipped_log: str) -> int:
    design, shipped, copy = rows_of(design_log), rows_of(shipped_log), rows_of(design_log, PROFILES)
    print("| split | clips (minor) | design | MIREX | minor | wrong | wrong unflagged | right flagged | right unflagged |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    sums = {"design": [0, 0, 0, 0, 0.0], "shipped": [0, 0, 0, 0, 0.0]}
    design = dict(sorted(design.items(), key=lambda kv: _order(kv[0])))
    for split, d in design.items():
        for name, r in (("design", d), ("shipped", shipped.get(split))):
            if r is None:
                continue
            right = d["n"] - len(r["wrong"])
            print(f"| {split} | {d['n']} ({d['minor_n']}) | {name} | {r['mirex']} | {r['minor']} | {len(r['wrong'])} | "
                  f"{len(r['unflagged'])} | {r['right_flagged']} | {right - r['right_flagged']} |")
            s = sums[name]
            s[0] += len(r["wrong"]); s[1] += len(r["unflagged"]); s[2] += r["right_flagged"]
            s[3] += right - r["right_flagged"]; s[4] += float(r["mirex"]) * d["n"]
    n = sum(d["n"] for d in design.values())
    for name, (w, wu, rf, ru, clip_sum) in sums.items():
        print(f"sum over {len(design)} splits ({n} clips), {name}: MIREX {clip_sum / n:.3f} (clip sum {clip_sum:.1f}), "
              f"wrong {w}, wrong unflagged {wu}, right flagged {rf}, right unflagged {ru}")
    broken = 0
    for split, d in design.items():
        theirs = {w[0]: w for w in shipped.get(split, {"wrong": []})["wrong"]}
        for clip, key, _margin, _flagged in d["unflagged"]:
            t = theirs.get(clip)
            if t is None or t[1] != key or t[3]:
                broken += 1
                print(f"BY CONSTRUCTION BROKEN: {split} {clip}: design {key} unflagged, shipped {t}")
    print(f"by construction: {sum(len(d['unflagged']) for d in design.values())} wrong keys left unflagged by the "
          f"design, {broken} of them not left unflagged with the same key by the shipped estimator")
    same = all(copy.get(s, {}).get(k) == shipped[s][k] for s in shipped for k in ("mirex", "minor", "wrong", "right_flagged"))
    print(f"the design's own copy of the profile estimator tables to the shipped run's figures: {same}")
    return 0 if broken == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
