"""Key, sixteenth pass (notes/key-sixteenth-pass.md): render the key network's TRAINING music and keep only its input
(the pooled semitone roll, `acekit.analysis.keynet.pitch_roll` as `key.chroma_frames` computes it) and its key label
(the audio is deleted at once).

    ACEKIT_CALIBRATION_DIR=/tmp/key16/cache nice -n 10 .venv/bin/python scripts/key_sixteenth_train.py \
        /tmp/key16/train.pkl notes/key-sixteenth-pass-training.txt [--workers 2] [--until HH:MM]

Training music: the tempo thirteenth pass's list (notes/tempo-thirteenth-pass-training.txt) in its job order, rebuilt
as that pass built it (`tempo_thirteenth_train.checked_items` / `song_specs` / `_factor`; each job's tempo asserted
equal to that list's): (a) the 963 corpus pieces reserved for key training, each with its listed arrangement at the
listed tempo, derived by `scores.derive` (split "key10train": last-note truth, asserted equal to the T10 list's), its
MIDI transposed ONCE by s_i = random.Random(16000 + i).randrange(12) - 5 semitones (note numbers of every non-drum
channel; the truth's tonic shifted alike); (b) the 325 generated songs t13train#### at their drawn key. Before
anything is rendered every piece is asserted against every split's pieces (HOLDOUT4_PIECES ... HOLDOUT15_PIECES):
identity (score + tune number, O'Neill number, BWV, work folder), (source, number), and every abc title (each T:
field, and music21's title of split tunes, normalised as tests/test_calibration_build.py `_norm_title`); no song
name of any calibration song list.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import pickle
import random
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SCRATCH = "/tmp/key16/render"
TEMPO_LIST = "notes/tempo-thirteenth-pass-training.txt"
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _norm_title(t: str | None) -> str:
    """As tests/test_calibration_build.py: lower case, "the " dropped, letters only."""
    return "".join(ch for ch in (t or "").lower().replace("the ", "") if ch.isalpha())


def t_fields(m21, source: str, number: int) -> list[str]:
    text = Path(m21.corpus.getWork(source)).read_text(errors="replace")
    for block in re.split(r"(?m)^(?=X:)", text):
        mx = re.match(r"X:\s*(\d+)", block)
        if mx and int(mx.group(1)) == number:
            return re.findall(r"(?m)^T:\s*(.*?)\s*$", block)
    raise AssertionError(f"{source}: no tune X:{number}")


def transposition(i: int) -> int:
    return random.Random(16000 + i).randrange(12) - 5


def shifted(key: str, s: int) -> str:
    from acekit.keys import parse_key

    k = parse_key(key)
    return f"{NAMES[(k.pitch_class + s) % 12]} {k.mode}"


def transpose_midi(midi: bytes, s: int) -> bytes:
    """``midi`` with every note of every non-drum channel (channel 9 untouched) moved by ``s`` semitones."""
    import mido

    mf = mido.MidiFile(file=io.BytesIO(midi))
    for tr in mf.tracks:
        for msg in tr:
            if msg.type in ("note_on", "note_off", "polytouch") and msg.channel != 9:
                n = msg.note + s
                if not 0 <= n <= 127:
                    raise ValueError(f"note {msg.note} + {s} leaves 0..127")
                msg.note = n
    out = io.BytesIO()
    mf.save(file=out)
    return out.getvalue()


def jobs_checked() -> list[tuple]:
    """The tempo pass's jobs (index, kind, item) read from its list in its order (piece k: the k-th piece line, the
    index its tempo factor was drawn with; song: 100000 + its number), each piece's truth and arrangement from the T10
    list (notes/key-tenth-pass-training.txt), each tempo asserted equal to the tempo list's; pieces then asserted
    against every split's pieces (a piece sharing an abc title is dropped, said on stderr)."""
    import tempo_thirteenth_train as T
    from key_tenth_train import identity, listed

    from acekit.calibration import scores as S
    from acekit.calibration import songs as G
    from acekit.calibration.scores import require_music21

    m21 = require_music21()
    t10 = iter(listed("notes/key-tenth-pass-training.txt"))  # in order: the tempo pass kept 963 of its 975
    skipped = 0
    songs = {s.name: s for s in T.song_specs()}
    rows = [ln.split("\t") for ln in Path(TEMPO_LIST).read_text().splitlines() if not ln.startswith("#")]
    assert len(rows) == 1288
    jobs, k = [], 0
    for r in rows:
        if r[0] == "piece":
            src, num = r[1].split("#")
            want = (src, int(num) if num else None)
            it = next(t10)
            while (it["source"], it["number"]) != want:  # a T10 piece the tempo pass dropped (title clash)
                assert it["source"].endswith(".abc"), it
                skipped += 1
                it = next(t10)
            it = dict(it)
            assert round(it["arrangement"]["bpm"] * T._factor(k), 2) == float(r[3]), (r[:4], k)
            jobs.append((k, "piece", it))
            k += 1
        else:
            sp = songs[r[1]]
            n = int(r[1].removeprefix("t13train"))
            assert round(sp.bpm * T._factor(100_000 + n), 2) == float(r[3]), r[:4]
            jobs.append((100_000 + n, "song", sp))
    assert k == 963 and skipped + sum(1 for _ in t10) == 12, (k, skipped)
    # every split's pieces, holdout4 .. holdout15 (read for these assertions only)
    split = [p for name in dir(S) if re.fullmatch(r"HOLDOUT\d+_PIECES", name) for p in getattr(S, name)]
    assert {p.split for p in split} >= {f"holdout{n}" for n in range(4, 16)}, sorted({p.split for p in split})
    held = set()
    for p in split:
        held |= identity(p.source, p.number)
    split_titles = set()
    for p in split:
        if p.source.endswith(".abc") and p.number:
            split_titles |= {_norm_title(t) for t in t_fields(m21, p.source, p.number)}
            split_titles.add(_norm_title(m21.corpus.parse(p.source, number=p.number).metadata.title))
    split_titles.discard("")
    pairs = {(p.source, p.number) for p in split}
    out = []
    for j in jobs:
        i, kind, it = j
        if kind == "piece":
            assert not identity(it["source"], it["number"]) & held, it
            assert (it["source"], it["number"]) not in pairs, it
            if it["source"].endswith(".abc") and it["number"]:
                own = {_norm_title(t) for t in t_fields(m21, it["source"], it["number"])} - {""}
                if own & split_titles:
                    print(f"dropped (a T: field of a split's tune): {it['source']}#{it['number']} {own & split_titles}",
                          file=sys.stderr, flush=True)
                    continue
                assert not own & split_titles
        out.append(j)
    names = {s.name for n in dir(G) if n.endswith("SONGS") and isinstance(getattr(G, n), tuple) for s in getattr(G, n)}
    assert not any(kind == "song" and it.name in names for _i, kind, it in out)
    return out


def one(job):
    i, kind, item = job
    import numpy as np

    import tempo_thirteenth_train as T
    from acekit.analysis import key as keymod
    from acekit.calibration import scores as S
    from acekit.calibration.build import PIECE_PEAK, SOUNDFONTS as SF, _check_tools, render_args, render_midi
    from acekit.calibration.songs import compose

    try:
        f = T._factor(i)
        s = 0
        if kind == "piece":
            S.LAST_NOTE_RULE_SPLITS = S.LAST_NOTE_RULE_SPLITS | {"key10train"}
            m21 = S.require_music21()
            src, number = item["source"], item["number"]
            score = m21.corpus.parse(src, number=number) if number else m21.corpus.parse(src)
            ts = next(iter(score.recurse().getElementsByClass(m21.meter.TimeSignature)))
            meter = (ts.numerator, ts.denominator)
            probe = S.PieceSpec("t", item["kind"], src, 100, "C major", meter, number=number, split="key10train")
            truth, _rule = S._key_truth(m21, score, probe)
            assert truth.canonical == item["key"], f"{src}#{number}: truth {truth.canonical}, listed {item['key']}"
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
            s = transposition(i)
            midi = transpose_midi(comp.midi, s)
            with tempfile.TemporaryDirectory(dir=SCRATCH) as td:
                y = render_midi(midi, Path(td) / "x.wav", fluidsynth=_check_tools(), soundfont=SF[spec.soundfont],
                                args=render_args(spec))
            y = y[: int((comp.end_s + 0.5) * 44100)]
            y = y * np.float32(PIECE_PEAK / max(float(np.max(np.abs(y))), 1e-9))
            ident = f"{src}#{number or ''}"
            key = shifted(item["key"], s)
            arrangement = {"bpm": bpm, **{k: v for k, v in item["arrangement"].items() if k != "bpm"}}
        else:
            from dataclasses import replace

            spec = replace(item, bpm=round(item.bpm * f, 2))
            comp = compose(spec)
            with tempfile.TemporaryDirectory(dir=SCRATCH) as td:
                y = render_midi(comp.midi, Path(td) / "x.wav", fluidsynth=_check_tools(), soundfont=SF[spec.soundfont],
                                args=render_args(spec))
            ident, key = spec.name, spec.parsed_key.canonical
            arrangement = {"bpm": spec.bpm, "meter": list(spec.meter), "soundfont": spec.soundfont,
                           "drums": spec.drums, "chord_pattern": spec.chord_pattern, "bass_pattern": spec.bass_pattern}
        mono = np.asarray(y, dtype=np.float32)
        mono = mono.mean(axis=1) if mono.ndim == 2 else mono  # analyze_audio's channel: the mono mean
        fr = keymod.chroma_frames(mono, 44100)
        if fr is None:
            raise ValueError("silent render")
        return dict(i=i, id=ident, kind=kind, transposition=s, key=key, roll=fr.pitch.astype(np.float32),
                    duration=mono.size / 44100, arrangement=arrangement)
    except AssertionError:
        raise
    except Exception as e:  # noqa: BLE001 - skipped, said on stderr
        print(f"skip {kind} {i}: {type(e).__name__}: {str(e)[:150]}", file=sys.stderr, flush=True)
        return None


def _write(rows, out, listing) -> None:
    with open(out, "wb") as fh:
        pickle.dump(rows, fh)
    Path(listing).write_text(
        "# Key, sixteenth pass: every training clip of the key network (scripts/key_sixteenth_train.py), in render "
        "order.\n# kind<TAB>piece (source#X: number) or generated song name<TAB>MIDI transposition (semitones)<TAB>"
        "truth key (transposed)<TAB>arrangement\n"
        + "".join(f"{d['kind']}\t{d['id']}\t{d['transposition']:+d}\t{d['key']}\t{json.dumps(d['arrangement'])}\n"
                  for d in rows))


def _set_scratch(path: str) -> None:
    global SCRATCH
    SCRATCH = path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("listing")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=100_000)
    ap.add_argument("--until", default=None, help="UTC HH:MM: stop submitting work then (what is rendered is kept)")
    ap.add_argument("--check-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(SCRATCH, exist_ok=True)
    jobs = jobs_checked()
    print(f"{sum(k == 'piece' for _i, k, _it in jobs)} pieces, {sum(k == 'song' for _i, k, _it in jobs)} songs, "
          f"{len(jobs)} jobs", file=sys.stderr, flush=True)
    if a.check_only:
        return 0
    jobs = jobs[: a.limit]
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
        it = gen()
        while True:
            chunk = [j for _, j in zip(range(2 * a.workers), it)]
            if not chunk:
                break
            for d in ex.map(one, chunk):
                if d is None:
                    continue
                rows.append(d)
                print(f"{len(rows)} {d['kind']} {d['id']} {d['transposition']:+d} {d['key']} {len(d['roll'])} blocks "
                      f"{dt.datetime.now(dt.timezone.utc):%H:%M:%S}", file=sys.stderr, flush=True)
                if len(rows) % 25 == 0:
                    _write(rows, a.out, a.listing)
    _write(rows, a.out, a.listing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
