"""Key, fifth pass: features (scripts/key_features.py's frames + scripts/key_bass_cqt.py's CQT bass)
of the generated training songs of scripts/key_training_songs.py, read back from their seed.

    .venv/bin/python scripts/key_train_features.py TRAIN_DIR OUT.pkl --n 400 --seed 5
"""
from __future__ import annotations

import argparse
import pickle
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from key_bass_cqt import cqt_bass  # noqa: E402
from key_features import frames_of  # noqa: E402
from key_training_songs import random_spec  # noqa: E402

from acekit.analysis import load_audio  # noqa: E402
from acekit.calibration.songs import compose  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--start", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    specs = [random_spec(rng, i) for i in range(a.n)]
    out = []
    for spec in specs[a.start:]:
        wav = Path(a.train) / f"{spec.name}.wav"
        y, sr = load_audio(wav, mono=True)
        y = y[: int((compose(spec).end_s + 0.5) * sr)]
        d = frames_of(y, sr)
        d["beats"] = np.zeros(0)  # the beat cues are not trained on
        d["cqt_bass"], d["cqt_times"] = cqt_bass(y, sr, d["cents"])
        d["cqt_bass2"], _ = cqt_bass(y, sr, d["cents"], fmax_octaves=2)
        d.update(id=spec.name, split="train", key=spec.key,
                 colour=spec.minor_scale if spec.key.endswith("minor") else spec.major_scale)
        out.append(d)
    with open(a.out, "wb") as fh:
        pickle.dump(out, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
