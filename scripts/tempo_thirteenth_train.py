"""Tempo, thirteenth pass (notes/tempo-thirteenth-pass.md): render the pulse network's TRAINING music and keep only
its input features and pulse labels (the audio is deleted at once).

    ACEKIT_CALIBRATION_DIR=/tmp/tempo13/cache nice -n 10 .venv/bin/python scripts/tempo_thirteenth_train.py \
        /tmp/tempo13/train.pkl notes/tempo-thirteenth-pass-training.txt [--workers 2] [--until HH:MM]

Training music: (a) the key tenth pass's T10 pieces (notes/key-tenth-pass-training.txt, pieces reserved for key
training, so no split's), each with its listed arrangement at its listed tempo x f, f log-uniform in 0.85-1.18
(seeded per piece); (b) generated songs of the calibration generator (scripts/key_training_songs.py `random_spec`,
seed 13, names t13train####), tempo x f likewise. Pieces and songs interleave 3:1. Before anything is rendered every
piece is checked against every split's pieces (calibration.scores HOLDOUT*_PIECES, holdout4 to holdout13): no shared
score + tune number / BWV / work folder (`key_tenth_train.identity`) and no shared tune title (the abc T: field,
normalised as tests/test_calibration_build.py does); a piece sharing a title is dropped (listed on stderr), and then
the whole list is asserted. No song shares a name with a calibration song. Labels: the notated pulse
(`tempo.expected_pulse`: quarter; dotted quarter in 6/8, 9/8, 12/8; half note in 2/2) and its beat times.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import pickle
import random
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SCRATCH = "/tmp/tempo13/render"
F_RANGE = (0.85, 1.18)
N_SONGS = 325


def _norm_title(t: str) -> str:
    return "".join(ch for ch in (t or "").lower().replace("the ", "") if ch.isalpha())


def abc_title(m21, source: str, number: int) -> str:
    text = Path(m21.corpus.getWork(source)).read_text(errors="replace")
    for block in re.split(r"(?m)^(?=X:)", text):
        mx = re.match(r"X:\s*(\d+)", block)
        if mx and int(mx.group(1)) == number:
            mt = re.search(r"(?m)^T:\s*(.*)$", block)
            return _norm_title(mt.group(1) if mt else "")
    return ""


def split_pieces() -> list:
    from acekit.calibration import scores as S

    return [p for name in dir(S) if name.startswith("HOLDOUT") and name.endswith("_PIECES") for p in getattr(S, name)]


def checked_items(from_list: str) -> list[dict]:
    """The T10 pieces minus any sharing a title with a split's piece; asserts no shared identity."""
    import key_tenth_train as K

    from acekit.calibration.scores import require_music21

    m21 = require_music21()
    pieces = split_pieces()
    held = set()
    for p in pieces:
        held |= K.identity(p.source, p.number)
    titles = {abc_title(m21, p.source, p.number) for p in pieces if p.source.endswith(".abc") and p.number}
    titles.discard("")
    items = K.listed(from_list)
    out = []
    for it in items:
        if it["source"].endswith(".abc") and it["number"]:
            t = abc_title(m21, it["source"], it["number"])
            if t in titles:
                print(f"dropped (title of a split's tune): {it['source']}#{it['number']} {t}", file=sys.stderr)
                continue
            it["title"] = t
        out.append(it)
    assert not any(K.identity(i["source"], i["number"]) & held for i in out)
    assert not any(i.get("title") in titles for i in out)
    assert not any((i["source"], i["number"]) in {(p.source, p.number) for p in pieces} for i in out)
    return out


def song_specs() -> list:
    from dataclasses import replace

    from key_training_songs import random_spec

    from acekit.calibration import songs as G

    rng = random.Random(13)
    names = {s.name for n in dir(G) if n.endswith("SONGS") and isinstance(getattr(G, n), tuple)
             for s in getattr(G, n)}
    out = []
    for i in range(N_SONGS):
        s = random_spec(rng, i)
        s = replace(s, name=f"t13train{i:04d}", seed_salt=f"t13_{i}")
        assert s.name not in names
        out.append(s)
    return out


def _factor(i: int) -> float:
    r = random.Random(13000 + i)
    return math.exp(r.uniform(math.log(F_RANGE[0]), math.log(F_RANGE[1])))


def _labels(bpm: float, meter: tuple[int, int], beats: list[float], downbeats: list[float]) -> tuple[float, list]:
    """(notated pulse BPM, pulse beat times): in 2/2 the half notes (every other quarter, on the downbeats)."""
    from acekit.analysis.tempo import expected_pulse

    _n, pulse_bpm, _acc = expected_pulse(bpm, f"{meter[0]}/{meter[1]}")
    if meter[1] == 2 and downbeats:
        q = 60.0 / bpm
        beats = [b for b in beats if round((b - downbeats[0]) / q) % 2 == 0]
    return pulse_bpm, beats


def one(job):
    i, kind, item = job
    import numpy as np

    from tempo_thirteenth_beatnet import beat_features
    from acekit.calibration import scores as S
    from acekit.calibration.build import PIECE_PEAK, SOUNDFONTS as SF, _check_tools, render_args, render_midi
    from acekit.calibration.songs import compose

    try:
        f = _factor(i)
        if kind == "piece":
            S.LAST_NOTE_RULE_SPLITS = S.LAST_NOTE_RULE_SPLITS | {"key10train"}
            m21 = S.require_music21()
            src, number = item["source"], item["number"]
            score = m21.corpus.parse(src, number=number) if number else m21.corpus.parse(src)
            ts = next(iter(score.recurse().getElementsByClass(m21.meter.TimeSignature)))
            meter = (ts.numerator, ts.denominator)
            mode_name = ""
            first = next(iter(score.recurse().getElementsByClass(m21.key.KeySignature)), None)
            if isinstance(first, m21.key.Key) and first.mode in ("dorian", "mixolydian", "phrygian", "lydian"):
                mode_name = first.mode
            arr = dict(item["arrangement"])
            arr["programs"] = tuple(arr["programs"])
            bpm = round(arr.pop("bpm") * f, 2)
            spec = S.PieceSpec(f"t13_{i}", item["kind"], src, bpm, item["key"], meter, number=number,
                               mode_name=mode_name, split="key10train", **arr)
            comp = S.derive(spec)
            with tempfile.TemporaryDirectory(dir=SCRATCH) as td:
                y = render_midi(comp.midi, Path(td) / "x.wav", fluidsynth=_check_tools(), soundfont=SF[spec.soundfont],
                                args=render_args(spec))
            y = y[: int((comp.end_s + 0.5) * 44100)]
            y = y * np.float32(PIECE_PEAK / max(float(np.max(np.abs(y))), 1e-9))
            ident = f"{src}#{number or ''}"
            arrangement = {"bpm": bpm, **{k: v for k, v in item["arrangement"].items() if k != "bpm"}}
        else:
            from dataclasses import replace

            spec = replace(item, bpm=round(item.bpm * f, 2))
            meter = spec.meter
            comp = compose(spec)
            with tempfile.TemporaryDirectory(dir=SCRATCH) as td:
                y = render_midi(comp.midi, Path(td) / "x.wav", fluidsynth=_check_tools(), soundfont=SF[spec.soundfont],
                                args=render_args(spec))
            bpm, ident = spec.bpm, spec.name
            arrangement = {"bpm": bpm, "meter": list(meter), "soundfont": spec.soundfont, "drums": spec.drums,
                           "chord_pattern": spec.chord_pattern, "bass_pattern": spec.bass_pattern}
        pulse_bpm, pulse_beats = _labels(bpm, meter, list(comp.beats_s), list(comp.downbeats_s))
        feats = beat_features(y.mean(axis=1), 44100)
        return dict(i=i, id=ident, kind=kind, meter=f"{meter[0]}/{meter[1]}", bpm=bpm, pulse_bpm=pulse_bpm,
                    beats=pulse_beats, feats=feats.astype(np.float16), arrangement=arrangement)
    except AssertionError:
        raise
    except Exception as e:  # noqa: BLE001 - skipped, said on stderr
        print(f"skip {kind} {i}: {type(e).__name__}: {str(e)[:150]}", file=sys.stderr, flush=True)
        return None


def _write(rows, out, listing) -> None:
    with open(out, "wb") as fh:
        pickle.dump(rows, fh)
    Path(listing).write_text(
        "# Tempo, thirteenth pass: every training clip of the pulse network (scripts/tempo_thirteenth_train.py).\n"
        "# kind<TAB>piece (source#X: number) or generated song name<TAB>meter<TAB>quarter BPM<TAB>pulse BPM<TAB>"
        "arrangement\n" + "".join(f"{d['kind']}\t{d['id']}\t{d['meter']}\t{d['bpm']}\t{d['pulse_bpm']:.2f}\t"
                                  f"{json.dumps(d['arrangement'])}\n" for d in rows))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("listing")
    ap.add_argument("--from-list", default="notes/key-tenth-pass-training.txt")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=100_000)
    ap.add_argument("--until", default=None, help="UTC HH:MM: stop submitting work then (what is rendered is kept)")
    a = ap.parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    pieces = checked_items(a.from_list)
    songs = song_specs()
    jobs, si = [], 0
    for k, it in enumerate(pieces):
        jobs.append((k, "piece", it))
        if k % 3 == 2 and si < len(songs):
            jobs.append((100_000 + si, "song", songs[si]))
            si += 1
    jobs += [(100_000 + j, "song", songs[j]) for j in range(si, len(songs))]
    jobs = jobs[: a.limit]
    print(f"{len(pieces)} pieces, {len(songs)} songs, {len(jobs)} jobs", file=sys.stderr, flush=True)
    stop = None
    if a.until:
        h, m = map(int, a.until.split(":"))
        stop = dt.datetime.now(dt.timezone.utc).replace(hour=h, minute=m, second=0, microsecond=0)
    rows = []

    def gen():
        for j in jobs:
            if stop is not None and dt.datetime.now(dt.timezone.utc) >= stop:
                return
            yield j

    with ProcessPoolExecutor(a.workers, initializer=_set_scratch, initargs=(SCRATCH,)) as ex:
        # map consumes its iterator at once: feed it in chunks so that --until can stop
        it = gen()
        while True:
            chunk = [j for _, j in zip(range(2 * a.workers), it)]
            if not chunk:
                break
            for d in ex.map(one, chunk):
                if d is None:
                    continue
                rows.append(d)
                print(f"{len(rows)} {d['kind']} {d['id']} {d['meter']} {d['bpm']} pulse {d['pulse_bpm']:.1f}",
                      file=sys.stderr, flush=True)
                if len(rows) % 25 == 0:
                    _write(rows, a.out, a.listing)
    _write(rows, a.out, a.listing)
    return 0


def _set_scratch(path: str) -> None:
    global SCRATCH
    SCRATCH = path


if __name__ == "__main__":
    raise SystemExit(main())
