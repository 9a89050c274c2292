"""Key, fifteenth pass (notes/key-fifteenth-pass.md): the tonic within the shipped estimate's scale.

    nice -n 10 .venv/bin/python scripts/key_fifteenth_dev.py dump /tmp/rendered /tmp/key15/dev.pkl
    .venv/bin/python scripts/key_fifteenth_dev.py score /tmp/key15/dev.pkl [--out TABLE]
    .venv/bin/python scripts/key_fifteenth_dev.py fit /tmp/key15/dev.pkl src/acekit/analysis/key_tonic.json

``dump``: for every song and tempo clip of the twelve dev splits (an explicit allow-list: holdout12,
holdout13 and recordings are refused), the shipped `analyze_key` result (through `analyze_audio`'s
channel choice) and the chroma frames it read (`ChromaFrames`: HPCP, bass chroma, lowest notes,
energy), captured from the same call. ``score``: the declared candidate pool, leave-one-split-out
over the twelve dev splits, with acekit's `mirex_key_score` (the calibration tests' function). ``fit``:
the chosen row refitted on all twelve dev splits, written as the package's data file.
Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import pickle
import sys

import numpy as np

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9", "holdout10", "holdout11")
GENERATED = ("calibrate", "holdout", "holdout2", "holdout3")


def dump(parent: str, out: str) -> None:
    from acekit.analysis import key as keymod
    from acekit.analysis.audio import finite, load_audio
    from acekit.calibration import build_calibration_set
    from acekit.analysis.clip import Thresholds, analysis_channel

    from pathlib import Path

    from acekit.calibration.build import content_hash

    # read the lead's rendered set only: never render (and so never write) into it
    assert (Path(parent) / content_hash() / "manifest.json").is_file(), "the rendered set is not complete"
    th = Thresholds()
    captured = {}
    orig = keymod._frames

    def frames(y, sr):  # noqa: ANN001, ANN202
        captured["fr"] = fr = orig(y, sr)
        return fr

    keymod._frames = frames
    cal = build_calibration_set(parent, workers=1)
    rows = []
    for split in DEV:
        assert split in DEV and split not in ("holdout12", "holdout13", "recordings")
        for c in cal.of_kind("song", "tempo", split=split):
            assert c.split in DEV
            y, sr = load_audio(cal.path(c), mono=False)
            mono, _channel = analysis_channel(np.asarray(y, dtype=np.float32), th)  # analyze_audio's choice
            clean = finite(mono)
            captured.clear()
            res = keymod.analyze_key(clean, sr, target_key=c.truth.key, ambiguous_strength=th.ambiguous_strength,
                                     ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)
            fr = captured["fr"]
            d = {"id": c.id, "split": split, "key": c.truth.key, "duration": clean.size / sr, "res": res.model_dump()}
            if fr is not None:
                d.update(hpcp=fr.hpcp, bass=fr.bass, low_note=fr.low_note, energy=fr.energy, cents=fr.cents)
            rows.append(d)
            print(split, c.id, c.truth.key, res.key, res.ambiguous, file=sys.stderr, flush=True)
    with open(out, "wb") as fh:
        pickle.dump(rows, fh)


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("parent")
    d.add_argument("out")
    s = sub.add_parser("score")
    s.add_argument("dev")
    s.add_argument("--out")
    f = sub.add_parser("fit")
    f.add_argument("dev")
    f.add_argument("out")
    a = ap.parse_args()
    if a.cmd == "dump":
        dump(a.parent, a.out)
        return 0
    from key_fifteenth_pool import score_pool, write_model  # noqa: PLC0415
    if a.cmd == "fit":
        write_model(a.dev, a.out)
        return 0
    score_pool(a.dev, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
