"""Key, fifteenth pass (notes/key-fifteenth-pass.md): the packaged design (key.py reading
src/acekit/analysis/key_tonic.json) against the pool script's offline scoring with the same weights, on
the dev dumps (scripts/key_fifteenth_dev.py dump): on every dumped clip offline (`rechosen_tonic` against
`key_fifteenth_pool.predict`), then through `analyze_audio` on the clips whose tonic the design re-chooses
plus ``--per-split`` more per split (key, flag). Dev splits only (an allow-list). Prints the in-sample
dev figures of the packaged weights too. Needs the frozen implementation: the pass did not ship, so apply
notes/key-fifteenth-pass-unshipped.diff first (it adds key_tonic.json =
notes/key-fifteenth-pass-tonic-weights.json).

    .venv/bin/python scripts/key_fifteenth_check.py /tmp/rendered /tmp/key15/dev.pkl [--per-split 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import key_fifteenth_pool as P  # noqa: E402

from acekit.analysis import load_audio  # noqa: E402
from acekit.analysis.clip import analyze_audio  # noqa: E402
from acekit.analysis.key import _key_of, rechosen_tonic, tonic_model  # noqa: E402
from acekit.calibration import build_calibration_set  # noqa: E402
from acekit.calibration.build import content_hash  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("dev")
    ap.add_argument("--per-split", type=int, default=2)
    a = ap.parse_args()
    data = P.load(a.dev)
    m = tonic_model()
    w = np.asarray(m["weights"])
    pool, feats = P.CHOSEN["pool"], P.FEATURES[P.CHOSEN["features"]]
    pred, bad = [], 0
    for d in data:
        script = d["k"] if not d["res"]["ambiguous"] else P.predict(d, pool, feats, w, m["gate"])
        pkg = d["k"] if not d["res"]["ambiguous"] else rechosen_tonic(d["k"], d["s"], d["cues"])[0]
        bad += script != pkg
        pred.append(script)
    print(f"offline: {len(data) - bad} of {len(data)} dumped clips the same key (script vs rechosen_tonic)")
    t = P.table(data, pred)
    print(P.fmt("packaged weights, in-sample on dev", t))
    assert (Path(a.parent) / content_hash() / "manifest.json").is_file()
    cal = build_calibration_set(a.parent, workers=1)
    clips = {c.id: c for c in cal.clips}
    seen: dict[str, int] = {}
    picked = []
    for d, p in zip(data, pred):
        if p != d["k"] or seen.get(d["split"], 0) < a.per_split:
            seen[d["split"]] = seen.get(d["split"], 0) + (p == d["k"])
            picked.append((d, p))
    wrong = 0
    for d, p in picked:
        c = clips[d["id"]]
        assert c.split in P.DEV
        y, sr = load_audio(cal.path(c), mono=False)
        k = analyze_audio(y, sr, key=c.truth.key).key
        want = (_key_of(p).canonical, P.judged(d, p)[1])
        same = (k.key, k.ambiguous) == want
        wrong += not same
        print(f"{d['split']:9s} {d['id']:34s} truth {d['key']:9s} model {d['res']['key']:9s} script {want} "
              f"package {(k.key, k.ambiguous)} {'same' if same else 'DIFFERENT'} ({k.ambiguity})", flush=True)
    print(f"through analyze_audio: {len(picked) - wrong} of {len(picked)} clips the same")
    return 1 if bad or wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
