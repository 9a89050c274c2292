"""Key on acekit's reference engine (a sanity check, not tuning data; docs/analysis.md, third to
fifth key passes): 32 clips (A minor, C major, E minor, F# minor x 8 seeds, 20 s, 120 BPM).

    .venv/bin/python scripts/key_reference_engine.py [--variant NAME ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import acekit.analysis.key as key_mod  # noqa: E402
from acekit.keys import parse_key  # noqa: E402
from acekit.reference.engine import SAMPLE_RATE, MusicSpec, render_text2music  # noqa: E402
from key_fifth_dev import VARIANTS, estimator_module  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", action="append")
    a = ap.parse_args()
    clips = []
    for k in ("A minor", "C major", "E minor", "F# minor"):
        for seed in range(8):
            y = render_text2music(MusicSpec(bpm=120, key=parse_key(k), duration_s=20.0), seed=seed)
            clips.append((k, y.mean(axis=1)))
    for name in a.variant or list(VARIANTS):
        v = VARIANTS[name]
        v = (v, {}) if isinstance(v, str) else v
        mod, settings = (estimator_module(v[0]), v[1]) if isinstance(v, tuple) else (key_mod, v)
        saved = {s: getattr(mod, s) for s in settings}
        for s, v in settings.items():
            setattr(mod, s, v)
        try:
            res = [(k, mod.analyze_key(y, SAMPLE_RATE, target_key=k, ambiguous_margin=mod.AMBIGUOUS_MARGIN))
                   for k, y in clips]
            tun = f"tuning read {sorted({round(mod._estimate(y, SAMPLE_RATE)[4]) for _k, y in clips[::8]})} cents"
        finally:
            for s, v in saved.items():
                setattr(mod, s, v)
        right = sum(r.mirex_score == 1 for _k, r in res)
        unfl = sum(r.mirex_score < 1 and not r.ambiguous for _k, r in res)
        tun = f"tuning read {sorted({round(mod._estimate(y, SAMPLE_RATE)[4]) for _k, y in clips[::8]})} cents"
        print(f"{name}: {right} right, {len(res) - right} wrong, {unfl} wrong not flagged; "
              + ", ".join(f"{k}: {sum(r.mirex_score == 1 for kk, r in res if kk == k)}/8"
                          for k in ("A minor", "C major", "E minor", "F# minor")), tun, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
