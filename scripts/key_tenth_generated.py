"""Key, tenth pass (notes/key-tenth-pass.md, data option added after the interim results): features of
the generated training songs train0180.. of scripts/key_training_songs.py (seed 5; no calibration
clip), rendered one at a time, featured (scripts/key_features.py ``frames_of``) and deleted at once.

    .venv/bin/python scripts/key_tenth_generated.py OUT.pkl --start 180 --n 200
"""

from __future__ import annotations

import argparse
import pickle
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from key_features import frames_of  # noqa: E402
from key_training_songs import random_spec  # noqa: E402

from acekit.calibration.build import SOUNDFONTS, render_args, render_midi  # noqa: E402
from acekit.calibration.songs import compose  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--start", type=int, default=180)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--scratch", default="/tmp/key10", help="folder for the short-lived renders")
    a = ap.parse_args()
    Path(a.scratch).mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    specs = [random_spec(rng, i) for i in range(a.start + a.n)][a.start:]
    rows = []
    for spec in specs:
        comp = compose(spec)
        with tempfile.TemporaryDirectory(dir=a.scratch) as td:
            y = render_midi(comp.midi, Path(td) / "x.wav", soundfont=SOUNDFONTS[spec.soundfont], args=render_args(spec))
        d = frames_of(y[: int((comp.end_s + 0.5) * 44100)].mean(axis=1), 44100)
        d.update(id=spec.name, split="train_generated", key=spec.key)
        rows.append(d)
        print(len(rows), spec.name, spec.key, file=sys.stderr, flush=True)
        if len(rows) % 20 == 0:
            with open(a.out, "wb") as fh:
                pickle.dump(rows, fh)
    with open(a.out, "wb") as fh:
        pickle.dump(rows, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
