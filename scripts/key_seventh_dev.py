"""Key, seventh pass: the shipped estimator (main's key.py, or the fourth pass's commit) and the
seventh pass's frozen key.py (loaded from its commit, found by message; not shipped) through analyze_key, the flag included, on the
song and tempo clips of the calibration splits, per split: MIREX all / minor, wrong keys, wrong keys
not flagged, right keys flagged. How the dev figures and the one holdout6 evaluation in
docs/analysis.md ("Key, seventh pass") were made.

    .venv/bin/python scripts/key_seventh_dev.py CALIBRATION_PARENT [--splits ...] [--shipped REV] [--clips]
        [--exclude notes/key-seventh-pass-training.txt]

--exclude drops the clips whose corpus score is in the training list (none is expected: the
design was trained on generated songs only; the corpus pieces were candidates' training data).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import key_fifth_dev as fifth  # noqa: E402 - the fifth pass's loader and per-split scoring
from key_sixth_dev import _Filtered, _norm  # noqa: E402

from acekit.calibration import build_calibration_set  # noqa: E402


#: The seventh pass's frozen design (not shipped), found by its commit message (hashes change when a
#: branch is rebased).
SEVENTH_PASS_MESSAGE = "key: design frozen (seventh pass)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("--splits", default="calibrate,holdout,holdout2,holdout3,holdout4,holdout5")
    ap.add_argument("--shipped", default=fifth.SHIPPED_COMMIT, help="git revision of the shipped key.py")
    ap.add_argument("--clips", action="store_true")
    ap.add_argument("--exclude", help="notes/key-seventh-pass-training.txt")
    a = ap.parse_args()
    cal = build_calibration_set(a.parent, workers=2)
    if a.exclude:
        drop = set()
        for line in Path(a.exclude).read_text().splitlines():
            if line.startswith(("#", "generated")) or not line.strip():
                continue
            src, num, _key = line.split("\t")
            drop.add(_norm(f"{src}#{num}" if num else src))
        kept = _Filtered(cal, drop)
        for split in a.splits.split(","):
            n_all, n_kept = len(cal.of_kind("song", "tempo", split=split)), len(kept.of_kind("song", "tempo", split=split))
            print(f"{split}: {n_all - n_kept} of {n_all} clips in the training list, dropped")
        cal = kept
    splits = a.splits.split(",")
    real = fifth.key_mod
    for name, mod in ((f"shipped ({a.shipped})", fifth.key_module_at(a.shipped, "key_shipped")),
                      ("seventh pass (frozen)",
                       fifth.key_module_at(fifth.commit_with_message(SEVENTH_PASS_MESSAGE), "key_seventh"))):
        fifth.key_mod = mod
        try:
            fifth.print_results(name, fifth.run(cal, splits, {}, a.clips))
        finally:
            fifth.key_mod = real
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
