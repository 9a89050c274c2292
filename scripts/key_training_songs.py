"""Key, fifth pass (docs/analysis.md): random songs from the calibration generator as TRAINING data
for key cues, outside the tracked calibration splits (no song here is a calibration clip; the
names carry a "train" prefix and a seed). Reproducible: same seed, same songs, same renders.

    .venv/bin/python scripts/key_training_songs.py OUT_DIR --n 300 --seed 5

Writes OUT_DIR/<name>.wav and OUT_DIR/songs.json (name, key, mode colour, progression, soundfont).
"""

from __future__ import annotations

import argparse
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from acekit.calibration.build import SOUNDFONTS, render_args, render_midi
from acekit.calibration.songs import SongSpec, compose

_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# (mode, colour, progression): typical loops, modal ones included; one chord per bar
_PROGRESSIONS = [
    ("major", "ionian", (0, 4, 5, 3)), ("major", "ionian", (0, 3, 4, 0)), ("major", "ionian", (0, 5, 3, 4)),
    ("major", "ionian", (0, 4, 0, 4)), ("major", "ionian", (3, 4, 0, 0)), ("major", "ionian", (1, 4, 0, 0)),
    ("major", "ionian", (5, 3, 0, 4)), ("major", "ionian", (0, 3, 0, 4)), ("major", "ionian", (0, "V/V", 4, 0)),
    ("major", "ionian", (0, 2, 5, 1, 4, 0)), ("major", "ionian", (0, "iv", 0, 4)),
    ("major", "mixolydian", (0, 6, 3, 0)), ("major", "mixolydian", (0, 6, 0, 3)),
    ("major", "mixolydian", (6, 3, 0, 0)), ("major", "mixolydian", (0, 4, 6, 0)),
    ("minor", "harmonic", (0, 3, 4, 0)), ("minor", "harmonic", (0, 5, 3, 4)), ("minor", "harmonic", (0, 4, 0, 4)),
    ("minor", "harmonic", (3, 4, 0, 0)), ("minor", "harmonic", (0, 5, 1, 4)), ("minor", "harmonic", (5, 6, 0, 4)),
    ("minor", "natural", (0, 5, 2, 6)), ("minor", "natural", (0, 6, 5, 6)), ("minor", "natural", (0, 3, 6, 0)),
    ("minor", "natural", (5, 6, 0, 0)), ("minor", "natural", (0, 5, 6, 0)),
    ("minor", "dorian", (0, 3, 0, 3)), ("minor", "dorian", (0, 6, 0, 6)), ("minor", "dorian", (0, 3, 6, 0)),
    ("minor", "dorian", (3, 0, 3, 0)), ("minor", "dorian", (0, 1, 0, 3)),
]
_CHORDS = ("block", "stabs", "arp", "pad", "offbeat", "sparse", "chorale", "picking", "strum68", "waltz")
_BASS = ("root_beats", "root_fifth", "eighths", "sustained", "downbeat", "walking", "funk")
_DRUMS = (None, "pop", "rock", "ballad", "funk", "edm", "brush", "latin", "halftime")
_FONTS = tuple(SOUNDFONTS)


def random_spec(rng: random.Random, i: int) -> SongSpec:
    mode, colour, prog = rng.choice(_PROGRESSIONS)
    rot = rng.randrange(len(prog)) if rng.random() < 0.5 else 0
    prog = prog[rot:] + prog[:rot]
    meter = rng.choice([(4, 4)] * 5 + [(3, 4), (6, 8), (2, 2)])
    chord = rng.choice(_CHORDS)
    if meter == (6, 8):
        chord, bass = rng.choice(["strum68", "block", "pad", "arp"]), rng.choice(["six_eight", "sustained"])
        drums = rng.choice([None, "compound", "shuffle"])
    elif meter == (3, 4):
        chord, bass, drums = rng.choice(["waltz", "block", "arp", "pad"]), "waltz", rng.choice([None, "waltz"])
    else:
        chord = chord if chord not in ("strum68", "waltz") else "block"
        bass, drums = rng.choice(_BASS), rng.choice(_DRUMS)
    if bass == "funk" and meter != (4, 4):
        bass = "root_beats"
    extra = {"minor_scale": colour} if mode == "minor" else {"major_scale": colour}
    return SongSpec(
        name=f"train{i:04d}", style="train", bpm=rng.choice([60, 72, 84, 96, 108, 120, 132, 150, 170]),
        key=f"{rng.choice(_NAMES)} {mode}", meter=meter, progression=prog,
        chord_program=rng.choice([0, 4, 19, 24, 25, 48, 52, 81, 88, 89, 16, 6]), chord_pattern=chord,
        bass_program=rng.choice([32, 33, 34, 35, 38, 42, 43, 58]), bass_pattern=bass,
        melody_program=rng.choice([None, 40, 56, 65, 68, 71, 73, 80, 11, 22, 105]), drums=drums,
        bars=rng.choice([6, 8, 8, 10, 12]), dominant_major=colour != "natural",
        soundfont=rng.choice(_FONTS), split="train", pickup_pulses=rng.choice([0, 0, 0, 1, 2]),
        ending=rng.choice(["none", "hold"]), seed_salt=str(i), **extra,
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    specs = [random_spec(rng, i) for i in range(a.n)]

    def one(spec: SongSpec) -> dict:
        comp = compose(spec)
        render_midi(comp.midi, out / f"{spec.name}.wav", soundfont=SOUNDFONTS[spec.soundfont], args=render_args(spec))
        return {"name": spec.name, "key": spec.key, "colour": spec.minor_scale if spec.key.endswith("minor")
                else spec.major_scale, "progression": [str(p) for p in spec.progression],
                "soundfont": spec.soundfont, "end_s": comp.end_s}

    with ThreadPoolExecutor(max_workers=a.workers) as pool:
        rows = list(pool.map(one, specs))
    (out / "songs.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
