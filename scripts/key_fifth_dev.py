"""Key, fifth pass: the shipped estimator and the fifth pass's frozen design (each key.py loaded from
git: analyze_key, the flag included) on the song and tempo clips of the calibration splits, per
split: MIREX all / minor, wrong keys, wrong keys not flagged, right keys flagged. This is how the
dev figures and the one holdout4 evaluation in docs/analysis.md ("Key, fifth pass") were made.

    .venv/bin/python scripts/key_fifth_dev.py CALIBRATION_PARENT [--splits ...] [--variant NAME ...] [--clips]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import acekit.analysis.key as key_mod
from acekit.analysis import load_audio
from acekit.calibration import build_calibration_set

#: The fourth pass's estimator, as shipped before the fifth (and again after it: the fifth pass
#: was evaluated on holdout4 and not shipped): key.py at that main commit.
SHIPPED_COMMIT = "5594961"
#: The fifth pass's frozen design, found by its commit message (hashes change when a branch is rebased).
FIFTH_PASS_MESSAGE = "key: design frozen (fifth pass)"
VARIANTS = {
    "shipped (fourth pass)": "shipped",
    "fifth pass": "fifth",
    "fifth pass, tuning from all peaks": ("fifth", dict(TUNING_MIN_HZ=0.0)),
    "fifth pass, margin 0.15": ("fifth", dict(AMBIGUOUS_MARGIN=0.15)),
}


def commit_with_message(message: str) -> str:
    """The newest commit whose message holds ``message`` (a frozen design's commit survives rebases)."""
    import subprocess

    out = subprocess.run(["git", "log", "--all", "-F", f"--grep={message}", "--format=%H", "-1"],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    if not out:
        raise SystemExit(f"no commit with the message {message!r} in this repository")
    return out


def key_module_at(commit: str, name: str):
    """acekit.analysis.key as of ``commit``, loaded from git as a separate module named ``name``."""
    import importlib.util
    import subprocess
    import tempfile

    src = subprocess.run(["git", "show", f"{commit}:src/acekit/analysis/key.py"], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).parent).stdout
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def estimator_module(which: str = "shipped"):
    """acekit.analysis.key as of the shipped commit or the fifth pass's frozen one (the working tree's
    key.py is the shipped estimator)."""
    commit = SHIPPED_COMMIT if which == "shipped" else commit_with_message(FIFTH_PASS_MESSAGE)
    return key_module_at(commit, f"key_{which}")


def print_results(name: str, res: list[dict]) -> None:
    """One variant's per-split figures, then its worst split."""
    print(f"{name}:")
    for r in res:
        print(f"  {r['split']:9s} ({r['n']:2d}) MIREX {r['mirex']:.3f} minor {r['minor']:.3f} wrong {r['wrong']} "
              f"unflagged {r['unflagged']} right flagged {r['right_flagged']}")
    print(f"  worst MIREX {min(r['mirex'] for r in res):.3f}, worst minor {min(r['minor'] for r in res):.3f}, "
          f"unflagged {sum(r['unflagged'] for r in res)}", flush=True)


def run(cal, splits, settings, clips: bool) -> list[dict]:
    global key_mod
    real = key_mod
    if isinstance(settings, str):
        settings = (settings, {})
    if isinstance(settings, tuple):
        key_mod, settings = estimator_module(settings[0]), settings[1]
    saved = {k: getattr(key_mod, k) for k in settings}
    for k, v in settings.items():
        setattr(key_mod, k, v)
    try:
        out = []
        for split in splits:
            rows = []
            for c in cal.of_kind("song", "tempo", split=split):
                y, sr = load_audio(cal.path(c), mono=True)
                r = key_mod.analyze_key(y, sr, target_key=c.truth.key, ambiguous_margin=key_mod.AMBIGUOUS_MARGIN)
                rows.append((c, r))
                if clips and r.mirex_score < 1:
                    print(f"    {split} {c.id}: {c.truth.key} -> {r.key} ({r.relation}), flagged {r.ambiguous}: "
                          f"{r.ambiguity}")
            sc = [r.mirex_score for _c, r in rows]
            mi = [r.mirex_score for c, r in rows if c.truth.key.endswith("minor")]
            out.append(dict(split=split, n=len(rows), mirex=float(np.mean(sc)), minor=float(np.mean(mi)),
                            wrong=sum(s < 1 for s in sc),
                            unflagged=sum(r.mirex_score < 1 and not r.ambiguous for _c, r in rows),
                            right_flagged=sum(r.mirex_score == 1 and r.ambiguous for _c, r in rows)))
        return out
    finally:
        for k, v in saved.items():
            setattr(key_mod, k, v)
        key_mod = real


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("--splits", default="calibrate,holdout,holdout2,holdout3")
    ap.add_argument("--variant", action="append")
    ap.add_argument("--clips", action="store_true")
    a = ap.parse_args()
    cal = build_calibration_set(a.parent, workers=2)
    for name in a.variant or list(VARIANTS):
        print_results(name, run(cal, a.splits.split(","), VARIANTS[name], a.clips))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
