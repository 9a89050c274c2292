"""Key, thirteenth pass (notes/key-thirteenth-pass.md): the per-split key table from the printout of
tests/test_analysis_calibration.py's `test_key_mirex` (run with -rA so that passed tests' output is
kept). Nothing is computed here but counts of what the test printed.

    .venv/bin/python scripts/key_thirteenth_table.py PYTEST.log

Prints per split: clips (minor), MIREX, minor MIREX, wrong keys, wrong keys left unflagged, right
keys flagged; then the sums the declaration's rule reads (wrong unflagged over the generated splits
and over holdout4-holdout9, right keys flagged over the ten dev splits).
"""

from __future__ import annotations

import ast
import re
import sys

LINE = re.compile(r"key \((\w+), (\d+) clips, (\d+) minor\): MIREX ([\d.]+), minor ([\d.]+); EDMA alone [\d.]+, "
                  r"minor [\d.]+; wrong \(clip, estimate, margin, flagged\): (\[.*\]); right but flagged: (\d+)")
GENERATED = ("calibrate", "holdout", "holdout2", "holdout3")
REAL = ("holdout4", "holdout5", "holdout6", "holdout7", "holdout8", "holdout9")


def main(path: str) -> int:
    rows = {}
    for line in open(path):
        m = LINE.search(line)
        if m:
            split, n, nm, mirex, minor, wrong, right_flagged = m.groups()
            wrong = ast.literal_eval(wrong)
            rows[split] = (int(n), int(nm), mirex, minor, len(wrong), sum(not w[3] for w in wrong), int(right_flagged))
    print("| split | clips (minor) | MIREX | minor | wrong | wrong unflagged | right flagged |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for split, (n, nm, mirex, minor, wrong, unflagged, rf) in rows.items():
        print(f"| {split} | {n} ({nm}) | {mirex} | {minor} | {wrong} | {unflagged} | {rf} |")
    if set(GENERATED + REAL) <= set(rows):
        print(f"wrong unflagged: generated {sum(rows[s][5] for s in GENERATED)}, holdout4-holdout9 "
              f"{sum(rows[s][5] for s in REAL)}; right flagged over the ten dev splits "
              f"{sum(rows[s][6] for s in GENERATED + REAL)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
