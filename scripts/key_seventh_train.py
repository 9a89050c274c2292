"""Key, seventh pass (notes/key-seventh-pass.md): render the corpus TRAINING pieces and dump the
estimator's per-frame features of each (scripts/key_features.py's ``frames_of``), so that profiles
and weights can be learned offline.

    .venv/bin/python scripts/key_seventh_train.py OUT.pkl LIST.txt [--workers 2]

Which pieces (the training rule shared with the developer who builds the blind splits):
1. the sixth pass's training list (notes/key-sixth-pass-corpus-profiles.json "training": every 7th
   Bach chorale of the sorted corpus list, every O'Neill 1850 tune whose X: number n has n % 7 == 1);
2. every tune of Aird's Airs (airdsAirs/book1-6.abc) whose X: number n has n % 7 == 1 and whose K:
   mode is minor-like (minor, aeolian, dorian, phrygian): the sixth list holds only 45 minor pieces;
never a holdout4 or holdout5 piece (dropped by source and number). Keys by the calibration set's
truth rules (`scores.derive`); a piece derive refuses (meter change, no decided key) is skipped.
Rendered as the sixth pass did (scripts/key_learn_audio_profiles.py: soundfonts and GM programs
cycled, 72 BPM chorales, dance tempi for tunes, the first whole bars up to 20 s). LIST.txt gets one
line per piece used: source, number, key.
"""

from __future__ import annotations

import argparse
import json
import pickle
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from key_learn_audio_profiles import CHORALE_PROGRAMS, SOUNDFONT_CYCLE, TUNE_PROGRAMS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STEP = 7
MINOR_LIKE = ("minor", "aeolian", "dorian", "phrygian")


def training_list() -> list[dict]:
    from acekit.calibration.scores import HOLDOUT4_PIECES, HOLDOUT5_PIECES, require_music21

    held = {(p.source, p.number) for p in (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES)}
    items = [i for i in json.loads((ROOT / "notes/key-sixth-pass-corpus-profiles.json").read_text())["training"]
             if (i["source"], i["number"]) not in held]
    m21 = require_music21()
    aird = []
    for book in range(1, 7):
        src = f"airdsAirs/book{book}.abc"
        text = Path(m21.corpus.getWork(src)).read_text(errors="replace")
        for block in re.split(r"(?m)^(?=X:)", text):
            mx = re.match(r"X:\s*(\d+)", block)
            mk = re.search(r"(?m)^K:\s*(.*)$", block)
            if not mx or not mk:
                continue
            n = int(mx.group(1))
            if n % STEP != 1 or (src, n) in held:
                continue
            if any(m in mk.group(1).lower() for m in ("min", "aeo", "dor", "phr")) or re.match(r"^[A-G][b#]?m\b",
                                                                                              mk.group(1).strip()):
                aird.append({"source": src, "number": n, "style": "tune", "key": None, "mode": "minor-like"})
    return aird + items  # the few minor tunes first


def one(args):
    i, item = args
    from key_features import frames_of

    from acekit.calibration.build import SOUNDFONTS, _check_tools, render_args, render_midi
    from acekit.calibration.scores import PieceSpec, _key_truth, derive, require_music21

    m21 = require_music21()
    src, number, style = item["source"], item["number"], item["style"]
    try:
        score = m21.corpus.parse(src, number=number) if number else m21.corpus.parse(src)
        ts = next(iter(score.recurse().getElementsByClass(m21.meter.TimeSignature)))
        meter = (ts.numerator, ts.denominator)
        key = item["key"]
        if key is None:
            key = _key_truth(m21, score, PieceSpec("t", style, src, 100, "C major", meter, number=number,
                                                   split="train"))[0].canonical
        compound = meter[1] == 8 and meter[0] % 3 == 0
        bpm = 72 if style == "chorale" else 170 if compound else 200 if meter == (2, 2) else 110 if meter == (2, 4) else 130
        progs = CHORALE_PROGRAMS[i % 4] if style == "chorale" else TUNE_PROGRAMS[i % 5]
        sfname = SOUNDFONT_CYCLE[i % 6]
        spec = PieceSpec(f"train_{i}", style, src, bpm, key, meter, progs, number=number, soundfont=sfname,
                         split="train")
        comp = derive(spec)
        with tempfile.TemporaryDirectory() as td:
            y = render_midi(comp.midi, Path(td) / "x.wav", fluidsynth=_check_tools(),
                            soundfont=SOUNDFONTS[sfname], args=render_args(spec))
        n = int((comp.end_s + 0.5) * 44100)
        d = frames_of(y[:n].mean(axis=1), 44100)
        d.update(id=f"{src}#{number}", split="train_corpus", key=key, source=src, number=number, style=style)
        return d
    except Exception as e:  # noqa: BLE001 - skipped, said on stderr
        print(f"skip {src}#{number}: {e}", file=sys.stderr, flush=True)
        return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("listing")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    items = training_list()
    print(f"{len(items)} candidates", file=sys.stderr, flush=True)
    rows = []
    with ProcessPoolExecutor(a.workers) as ex:
        for d in ex.map(one, list(enumerate(items))):
            if d is None:
                continue
            rows.append(d)
            print(f"{d['id']}: {d['key']}", file=sys.stderr, flush=True)
            if len(rows) % 25 == 0:
                with open(a.out, "wb") as fh:
                    pickle.dump(rows, fh)
    with open(a.out, "wb") as fh:
        pickle.dump(rows, fh)
    Path(a.listing).write_text("".join(f"{d['source']}\t{d['number'] or ''}\t{d['key']}\n" for d in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
