"""Key, sixth pass: the shipped estimator and the sixth pass's frozen key.py (loaded from git; settings
overridable) through analyze_key, the flag included, on the song and tempo clips of the calibration splits, per split:
MIREX all / minor, wrong keys, wrong keys not flagged, right keys flagged. How the dev figures and
the one holdout5 evaluation in docs/analysis.md ("Key, sixth pass") were made.

    .venv/bin/python scripts/key_sixth_dev.py CALIBRATION_PARENT [--splits ...] [--variant NAME ...]
        [--clips] [--exclude TRAINING.json]

--exclude drops the clips whose corpus score (source#number) is in a training list (the pieces a
learned design was trained on), so that a split's figure is on music the design never saw.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import key_fifth_dev as fifth  # noqa: E402 - the fifth pass's loader and per-split scoring

from acekit.calibration import build_calibration_set  # noqa: E402

#: The sixth pass's frozen key.py (not shipped: the estimator is the fourth pass's), found by its
#: commit message (hashes change when a branch is rebased). Its defaults are the frozen design
#: (CHROMA_DECAY_S 32 s, margin 0.09); it also holds PROFILES["corpus"] and KEY_PROFILES.
SIXTH_PASS_MESSAGE = "key: design frozen (sixth pass)"
VARIANTS = {
    "shipped (fourth pass)": "shipped",
    "sixth pass (frozen)": ("sixth", {}),
    "sixth pass, margin 0.15": ("sixth", dict(AMBIGUOUS_MARGIN=0.15)),
    # reported only (see notes/key-sixth-pass.md): profiles learned from rendered corpus openings
    "corpus profiles, decay 64 s, margin 0.09": ("sixth", dict(KEY_PROFILES=("corpus",), CHROMA_DECAY_S=64.0,
                                                               AMBIGUOUS_MARGIN=0.09)),
}


def sixth_module():
    """key.py as frozen by the sixth pass, loaded from git as a separate module."""
    return fifth.key_module_at(fifth.commit_with_message(SIXTH_PASS_MESSAGE), "key_sixth")


def run(cal, splits, variant, clips: bool) -> list[dict]:
    """fifth.run on the shipped estimator, or on the sixth pass's frozen key.py with overrides."""
    if isinstance(variant, tuple) and variant[0] == "sixth":
        real = fifth.key_mod
        fifth.key_mod = sixth_module()
        try:
            return fifth.run(cal, splits, dict(variant[1]), clips)
        finally:
            fifth.key_mod = real
    return fifth.run(cal, splits, variant, clips)


def _norm(ref: str | None) -> str | None:
    """A corpus reference without the file extension (bach/bwv10.7.mxl and bach/bwv10.7 are one score)."""
    if ref is None:
        return None
    path, _, num = ref.partition("#")
    for ext in (".mxl", ".xml", ".musicxml", ".krn"):
        path = path.removesuffix(ext)
    return f"{path}#{num}" if num else path


class _Filtered:
    """The calibration set without the clips whose score is in a training list."""

    def __init__(self, cal, drop: set[str]):
        self.cal, self.drop = cal, drop

    def path(self, c):
        return self.cal.path(c)

    def of_kind(self, *kinds, split):
        return [c for c in self.cal.of_kind(*kinds, split=split) if _norm(getattr(c, "score", None)) not in self.drop]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("--splits", default="calibrate,holdout,holdout2,holdout3,holdout4")
    ap.add_argument("--variant", action="append")
    ap.add_argument("--clips", action="store_true")
    ap.add_argument("--exclude", help="a training list (JSON with 'training': source, number)")
    a = ap.parse_args()
    cal = build_calibration_set(a.parent, workers=2)
    if a.exclude:
        items = json.loads(Path(a.exclude).read_text())["training"]
        drop = {_norm(f"{i['source']}#{i['number']}" if i["number"] else i["source"]) for i in items}
        kept = _Filtered(cal, drop)
        for split in a.splits.split(","):
            n_all, n_kept = len(cal.of_kind("song", "tempo", split=split)), len(kept.of_kind("song", "tempo", split=split))
            print(f"{split}: {n_all - n_kept} of {n_all} clips in the training list, dropped")
        cal = kept
    for name in a.variant or list(VARIANTS):
        fifth.print_results(name, run(cal, a.splits.split(","), VARIANTS[name], a.clips))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
