"""Key, sixth pass: learn major / minor key profiles in the estimator's own chroma domain, from
corpus pieces arranged and rendered by the calibration machinery (scores.derive + fluidsynth), the
mean HPCP of each rendered opening (`acekit.analysis.key.chroma`) rotated to the piece's tonic.

    .venv/bin/python scripts/key_learn_audio_profiles.py SYMBOLIC.json OUT.json [--limit N] [--workers 2]

The pieces are the training list of scripts/key_learn_profiles.py (SYMBOLIC.json: a fixed rule,
never a holdout4 piece); a piece whose meter changes or that derive refuses is skipped. Each piece
used is listed in OUT.json ("training") so that a later split can drop the overlap.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SOUNDFONT_CYCLE = ("fluidr3", "timgm6mb", "musescore", "csound", "opl3", "musescore_hq")
CHORALE_PROGRAMS = ((19,), (48,), (52,), (40, 40, 41, 42))
TUNE_PROGRAMS = ((110,), (73,), (21,), (78,), (40,))


def one(args):
    i, item = args
    from acekit.analysis.key import chroma
    from acekit.calibration.build import _check_tools, render_args, render_midi, SOUNDFONTS
    from acekit.calibration.scores import PieceSpec, derive, require_music21

    m21 = require_music21()
    src, number, style = item["source"], item["number"], item["style"]
    try:
        score = m21.corpus.parse(src, number=number) if number else m21.corpus.parse(src)
        ts = next(iter(score.recurse().getElementsByClass(m21.meter.TimeSignature)))
        meter = (ts.numerator, ts.denominator)
        compound = meter[1] == 8 and meter[0] % 3 == 0
        bpm = 72 if style == "chorale" else 170 if compound else 200 if meter == (2, 2) else 110 if meter == (2, 4) else 130
        progs = CHORALE_PROGRAMS[i % 4] if style == "chorale" else TUNE_PROGRAMS[i % 5]
        sfname = SOUNDFONT_CYCLE[i % 6]
        spec = PieceSpec(f"train_{i}", style, src, bpm, item["key"], meter, progs, number=number,
                         soundfont=sfname, split="train")
        comp = derive(spec)
        with tempfile.TemporaryDirectory() as td:
            y = render_midi(comp.midi, Path(td) / "x.wav", fluidsynth=_check_tools(),
                            soundfont=SOUNDFONTS[sfname], args=render_args(spec))
        n = int((comp.end_s + 0.5) * 44100)
        pc = chroma(y[:n].mean(axis=1), 44100)
        return item, [float(x) for x in pc]
    except Exception as e:  # noqa: BLE001 - skipped, said on stderr
        print(f"skip {src}#{number}: {e}", file=sys.stderr)
        return item, None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("symbolic")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    from acekit.keys import parse_key

    items = json.loads(Path(a.symbolic).read_text())["training"]
    if a.limit:
        # spread over the list (chorales first, then tunes): every k-th
        k = max(1, len(items) // a.limit)
        items = items[::k][: a.limit]
    sums = {"major": np.zeros(12), "minor": np.zeros(12)}
    used = []
    with ProcessPoolExecutor(a.workers) as ex:
        for item, pc in ex.map(one, list(enumerate(items))):
            if pc is None:
                continue
            pc = np.asarray(pc)
            if pc.sum() <= 0:
                continue
            key = parse_key(item["key"])
            sums[key.mode] += np.roll(pc / pc.sum(), -key.pitch_class)
            used.append(item)
            print(f"{item['source']}#{item['number']}: {item['key']}", file=sys.stderr, flush=True)
    counts = {m: sum(1 for u in used if u["key"].endswith(m)) for m in sums}
    prof = {m: [round(float(x), 5) for x in sums[m] / max(counts[m], 1)] for m in sums}
    Path(a.out).write_text(json.dumps({"profiles": prof, "counts": counts, "training": used}, indent=1))
    print(json.dumps({"profiles": prof, "counts": counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
