"""Key, tenth pass: the working tree's estimator (acekit.analysis.key, the tenth pass's design once
frozen) and/or main's shipped one (key.py at SHIPPED_COMMIT) through analyze_key, the flag included,
on the song and tempo clips of the calibration splits, per split: MIREX all / minor, wrong keys,
wrong keys not flagged, right keys flagged. How the dev figures in docs/analysis.md ("Key, tenth
pass") were checked against the offline ones (scripts/key_tenth_eval.py).

    .venv/bin/python scripts/key_tenth_dev.py CALIBRATION_PARENT [--splits ...] [--only tenth|shipped] [--clips]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import key_fifth_dev as fifth  # noqa: E402 - the fifth pass's loader and per-split scoring

from acekit.calibration import build_calibration_set  # noqa: E402

#: main when the tenth pass started: key.py as shipped (the fourth pass's estimator).
SHIPPED_COMMIT = "8e56439"
DEV_SPLITS = "calibrate,holdout,holdout2,holdout3,holdout4,holdout5,holdout6,holdout7"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("--splits", default=DEV_SPLITS)
    ap.add_argument("--clips", action="store_true")
    ap.add_argument("--only", choices=("tenth", "shipped"))
    a = ap.parse_args()
    cal = build_calibration_set(a.parent, workers=1)
    splits = a.splits.split(",")
    real = fifth.key_mod
    todo = [("tenth pass (working tree)", real), (f"shipped ({SHIPPED_COMMIT})",
                                                  fifth.key_module_at(SHIPPED_COMMIT, "key_shipped"))]
    for name, mod in todo:
        if a.only and not name.startswith(a.only):
            continue
        fifth.key_mod = mod
        try:
            fifth.print_results(name, fifth.run(cal, splits, {}, a.clips))
        finally:
            fifth.key_mod = real
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
