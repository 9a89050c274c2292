"""Key, eleventh pass (notes/key-eleventh-pass.md): the packaged estimator (analyze_audio -> key.py,
reading src/acekit/analysis/key_model.json) must give the same key, margin, probability and flag as
scripts/key_eleventh_fit.py's offline scoring of the dev dumps (scripts/key_features.py) on a few
dev clips. Dev splits only: refuses holdout8 / holdout9. Needs the frozen implementation
(notes/key-eleventh-pass-unshipped-key.diff applied, notes/key-eleventh-pass-weights.json copied to
src/acekit/analysis/key_model.json): the pass did not ship, main's key.py has no learned model.

    .venv/bin/python scripts/key_eleventh_check.py CALIBRATION_PARENT DEV.pkl[,DEV2.pkl] [--per-split 3]
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from key_eleventh_fit import BLIND, FLAG, MARGIN, MIN_PROBABILITY, MODEL  # noqa: E402
from key_tenth_eval import MODELS, _key, clip_features, design, flagged, logprobs, summarise  # noqa: E402

from acekit.analysis import load_audio  # noqa: E402
from acekit.analysis.clip import analyze_audio  # noqa: E402
from acekit.analysis.key import key_model  # noqa: E402
from acekit.calibration import build_calibration_set  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("dev")
    ap.add_argument("--per-split", type=int, default=3)
    a = ap.parse_args()
    dev = [d for f in a.dev.split(",") for d in pickle.load(open(f, "rb"))]
    assert not any(d["split"] in BLIND for d in dev)
    picked, seen = [], {}
    for d in dev:
        if seen.get(d["split"], 0) < a.per_split:
            seen[d["split"]] = seen.get(d["split"], 0) + 1
            picked.append(d)
    cal = build_calibration_set(a.parent, workers=1)
    clips = {c.id: c for c in cal.clips}
    w = np.asarray(key_model()["weights"])
    for d in picked:
        d["f"] = clip_features(d)
    sm = summarise(picked, [logprobs(design(d["f"], MODELS[MODEL]), w) for d in picked])
    fl = flagged(sm, FLAG, MARGIN, MIN_PROBABILITY)
    bad = 0
    for i, d in enumerate(picked):
        c = clips[d["id"]]
        assert c.split not in BLIND
        y, sr = load_audio(cal.path(c))
        k = analyze_audio(y, sr, key=c.truth.key).key
        s = logprobs(design(d["f"], MODELS[MODEL]), w)
        order = np.argsort(-s)
        script = (_key(int(order[0])).canonical, float(s[order[0]] - s[order[1]]), float(np.exp(s[order[0]])), bool(fl[i]))
        pkg = (k.key, k.margin, k.probability, k.ambiguous)
        same = script[0] == pkg[0] and script[3] == pkg[3] and abs(script[1] - pkg[1]) < 0.01 \
            and abs(script[2] - pkg[2]) < 0.01
        bad += not same
        print(f"{d['split']:9s} {d['id']:28s} truth {d['key']:9s} script {script[0]:9s} margin {script[1]:.3f} "
              f"p {script[2]:.3f} flag {script[3]!s:5s} | package {pkg[0]:9s} margin {pkg[1]:.3f} p {pkg[2]:.3f} "
              f"flag {pkg[3]!s:5s} {'same' if same else 'DIFFERENT'} ({k.ambiguity})", flush=True)
    print(f"{len(picked) - bad} of {len(picked)} clips the same")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
