"""Key, tenth pass (notes/key-tenth-pass.md): render corpus pieces RESERVED FOR KEY TRAINING the way
the real-music splits are rendered (scores.derive + fluidsynth, six soundfonts, solo / band /
part arrangements, detuned, wet or rebalanced renders, the same excerpt length and peak), dump the
shipped pipeline's per-frame features of each (scripts/key_features.py ``frames_of``: tuned,
HPSS'd HPCP, bass chroma, lowest note, energy) and delete the audio at once.

    ACEKIT_CALIBRATION_DIR=/tmp/key10/cache .venv/bin/python scripts/key_tenth_train.py OUT.pkl LIST.txt \
        [--workers 2] [--limit N]
    ACEKIT_CALIBRATION_DIR=/tmp/key11/cache .venv/bin/python scripts/key_tenth_train.py OUT.pkl LIST.txt \
        --from-list notes/key-tenth-pass-training.txt [--start S --limit N] [--scratch /tmp/key11]

``--from-list`` (key, eleventh pass) re-renders exactly the listed pieces with the listed arrangements
(the T10 lines of notes/key-tenth-pass-training.txt) and asserts that the truth key still matches.

Which pieces (the key-training rule shared with the builders of the blind splits, see
tests/test_calibration_build.py ``_key_training_reserved``): abc tunes whose X: number n has
n % 7 == 1 (O'Neill's 1850, Aird's Airs, Ryan's Mammoth, Essen folksongs), the Bach chorales at
index i % 7 == 1 of the sorted list (notes/key-sixth-pass-corpus-profiles.json "training"), and
scores at index i % 7 == 1 of the sorted works of the composers the real splits use. Never a piece
of holdout4..holdout8, nor one sharing a tune number (O'Neill), file and number (Aird's,
Ryan's, Essen), BWV number or work folder with one (checked here and again in ``main``). Key truth by the
calibration set's rules, the last-note rule included (`scores.derive`); a piece derive refuses is
skipped. The order is fixed (seeded shuffle, minor-like and other pieces interleaved 1:1 so that
about half are minor, as the splits); LIST.txt gets every piece used, with its arrangement.
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parent.parent
STEP = 7
SOUNDFONTS = ("fluidr3", "timgm6mb", "musescore", "csound", "opl3", "musescore_hq")
MELODY = ("fiddle", "flute", "whistle", "accordion", "violin", "harp", "piano", "clarinet", "guitar", "oohs", "cello")
CHORALE = ("organ organ organ organ", "strings strings strings strings", "choir choir choir choir",
           "piano piano piano piano", "violin violin viola cello", "reed_organ", "clarinet flute cello bass",
           "harpsichord")
COMPOSERS = ("mozart", "beethoven", "haydn", "schubert", "chopin", "corelli", "joplin", "cpebach", "schumann_robert",
             "schumann_clara", "beach", "johnson_j_r", "liliuokalani")


def held_keys(names: tuple[str, ...] | None = None) -> set:
    """Identity keys of every holdout4..holdout8 piece and what it shares (tune numbers, BWV, folders);
    ``names``: only these HOLDOUTn_PIECES tuples."""
    from acekit.calibration import scores as S

    out = set()
    for name in dir(S):
        if name.startswith("HOLDOUT") and name.endswith("_PIECES") and (names is None or name in names):
            for p in getattr(S, name):
                out |= identity(p.source, p.number)
    return out


def identity(source: str, number: int | None) -> set:
    top = source.split("/")[0]
    if source.endswith(".abc"):
        if top == "oneills1850":
            return {(top, number)}  # a tune number names the tune across the book's files
        return {(source, number)}
    if top == "bach":
        m = re.match(r"bach/bwv(\d+)", source)
        return {("bwv", m.group(1) if m else source)}
    return {("work", "/".join(source.split("/")[:2]).rsplit(".", 1)[0])}


def abc_tunes(m21, src: str) -> list[tuple[int, str]]:
    text = Path(m21.corpus.getWork(src)).read_text(errors="replace")
    out = []
    for block in re.split(r"(?m)^(?=X:)", text):
        mx = re.match(r"X:\s*(\d+)", block)
        mk = re.search(r"(?m)^K:\s*(.*)$", block)
        if mx and mk and int(mx.group(1)) % STEP == 1:
            k = mk.group(1).strip()
            minor = any(m in k.lower() for m in ("min", "aeo", "dor", "phr")) or bool(re.match(r"^[A-G][b#]?m\b", k))
            out.append((int(mx.group(1)), "minor" if minor else "other"))
    return out


def candidates(held: set | None = None) -> list[dict]:
    from acekit.calibration.scores import require_music21

    m21 = require_music21()
    held = held_keys() if held is None else held
    items = []
    for p in sorted(str(x).split("corpus/")[-1] for x in m21.corpus.getCorePaths()):
        if p.endswith(".abc") and p.split("/")[0] in ("oneills1850", "airdsAirs", "ryansMammoth", "essenFolksong"):
            for n, mode in abc_tunes(m21, p):
                items.append({"source": p, "number": n, "kind": "tune", "mode": mode})
    for t in json.loads((ROOT / "notes/key-sixth-pass-corpus-profiles.json").read_text())["training"]:
        if t["style"] == "chorale":
            items.append({"source": t["source"], "number": None, "kind": "chorale", "mode": t["mode"]})
    for comp in COMPOSERS:
        paths = sorted(str(x).split("corpus/")[-1] for x in m21.corpus.getComposer(comp))
        for i, c in enumerate(paths):
            if i % STEP == 1:
                items.append({"source": c, "number": None, "kind": "work", "mode": "other"})
    items = [i for i in items if not (identity(i["source"], i["number"]) & held)]
    rng = random.Random(10)
    minor = [i for i in items if i["mode"] == "minor"]
    other = [i for i in items if i["mode"] != "minor"]
    rng.shuffle(minor)
    rng.shuffle(other)
    out = []
    for k in range(max(len(minor), len(other))):
        out += [x for x in (minor[k] if k < len(minor) else None, other[k] if k < len(other) else None) if x]
    return out


def arrangement(i: int, item: dict, meter: tuple[int, int]) -> dict:
    """Programs, tempo and render conditions of the i-th piece, drawn as the real splits spread them."""
    from acekit.calibration.scores import _on

    rng = random.Random(1000 + i)
    sf = SOUNDFONTS[i % len(SOUNDFONTS)]
    kw: dict = {"soundfont": sf}
    r = rng.random()
    if r < 0.2:
        kw["tuning_cents"] = rng.choice((-30, -26, -22, -20, 20, 22, 24, 26, 28, 30, 32))
    elif r < 0.4:
        kw["effects"] = "wet"
    elif r < 0.5:
        kw["mix"] = "bass_up"
    num, den = meter
    compound = den == 8 and num % 3 == 0 and num >= 6
    if item["kind"] == "tune":
        kw["programs"] = _on(rng.choice(MELODY))
        if rng.random() < 0.4:  # a band: melody, kit, bass and chords read from the melody
            kw.update(harmonise=True, drums=rng.random() < 0.85, chord_program=rng.choice((21, 24, 0)))
            if kw.get("mix") is None and rng.random() < 0.2:
                kw["mix"] = "drums_up" if kw["drums"] else "bass_up"
        if compound:
            bpm = rng.choice((168, 170, 172, 174)) if rng.random() < 0.85 else rng.choice((120, 132))
        elif meter == (2, 2):
            bpm = rng.choice((200, 204, 208)) if rng.random() < 0.7 else rng.choice((150, 152))
        elif meter == (2, 4):
            bpm = rng.choice((104, 112, 132, 136, 88))
        elif meter == (3, 4):
            bpm = rng.choice((60, 66, 72, 96, 184))
        else:
            bpm = rng.choice((64, 66, 72, 100, 120, 150))
    elif item["kind"] == "chorale":
        kw["programs"] = _on(rng.choice(CHORALE))
        bpm = rng.choice((60, 66, 72, 76, 84, 90))
    else:
        kw["programs"] = _on(rng.choice(("piano", "violin violin viola cello", "strings strings strings cello",
                                         "piano piano", "flute piano piano")))
        bpm = rng.choice((72, 84, 96, 108, 120, 132))
    return {"bpm": bpm, **kw}


SCRATCH = "/tmp/key10"


def listed(path: str) -> list[dict]:
    """The T10 lines of a training listing: source, X: number, truth key, arrangement JSON."""
    out = []
    for line in Path(path).read_text().splitlines():
        parts = line.split("\t")
        if line.startswith("#") or len(parts) != 4 or parts[0].startswith("train"):
            continue
        src, number, key, arr = parts
        out.append({"source": src, "number": int(number) if number else None,
                    "kind": "chorale" if src.startswith("bach/") else "tune" if src.endswith(".abc") else "work",
                    "key": key, "arrangement": json.loads(arr)})
    return out


def one(args):
    i, item = args
    import numpy as np
    from key_features import frames_of

    from acekit.calibration import scores as S
    from acekit.calibration.build import PIECE_PEAK, SOUNDFONTS as SF, _check_tools, render_args, render_midi

    S.LAST_NOTE_RULE_SPLITS = S.LAST_NOTE_RULE_SPLITS | {"key10train"}
    m21 = S.require_music21()
    src, number = item["source"], item["number"]
    try:
        score = m21.corpus.parse(src, number=number) if number else m21.corpus.parse(src)
        ts = next(iter(score.recurse().getElementsByClass(m21.meter.TimeSignature)))
        meter = (ts.numerator, ts.denominator)
        probe = S.PieceSpec("t", item["kind"], src, 100, "C major", meter, number=number, split="key10train")
        key, rule = S._key_truth(m21, score, probe)
        mode_name = ""
        first = next(iter(score.recurse().getElementsByClass(m21.key.KeySignature)), None)
        if isinstance(first, m21.key.Key) and first.mode in ("dorian", "mixolydian", "phrygian", "lydian"):
            mode_name = first.mode
        if "arrangement" in item:  # --from-list: the listed arrangement, the listed truth
            assert key.canonical == item["key"], f"{src}#{number}: truth {key.canonical}, listed {item['key']}"
            arr = dict(item["arrangement"])
            arr["programs"] = tuple(arr["programs"])
            if item.get("index") is not None:  # the listing lacks chord_program: redraw the arrangement, check it
                drawn = arrangement(item["index"], item, meter)
                ref = S.PieceSpec("t", item["kind"], src, 100, "C major", meter, **{k: v for k, v in drawn.items()
                                                                                     if k != "bpm"})
                got = {k: getattr(ref, k) for k in arr if k != "bpm"} | {"bpm": drawn["bpm"]}
                assert got == arr, f"{src}#{number}: drawn {got}, listed {arr}"
                arr = drawn
        else:
            arr = arrangement(i, item, meter)
        spec = S.PieceSpec(f"k10_{i}", item["kind"], src, arr.pop("bpm"), key.canonical, meter, number=number,
                           mode_name=mode_name, split="key10train", **arr)
        comp = S.derive(spec)
        with tempfile.TemporaryDirectory(dir=SCRATCH) as td:
            y = render_midi(comp.midi, Path(td) / "x.wav", fluidsynth=_check_tools(), soundfont=SF[spec.soundfont],
                            args=render_args(spec))
        y = y[: int((comp.end_s + 0.5) * 44100)]
        y = y * np.float32(PIECE_PEAK / max(float(np.max(np.abs(y))), 1e-9))
        d = frames_of(y.mean(axis=1), 44100)
        d.update(id=f"{src}#{number or ''}", split="train10", key=key.canonical, source=src, number=number,
                 kind=item["kind"], mode_name=mode_name, arrangement={k: v for k, v in spec.__dict__.items()
                                                                        if k in ("bpm", "programs", "harmonise",
                                                                                 "drums", "soundfont", "tuning_cents",
                                                                                 "effects", "mix")})
        return d
    except AssertionError:
        raise
    except Exception as e:  # noqa: BLE001 - skipped, said on stderr
        print(f"skip {src}#{number}: {type(e).__name__}: {str(e)[:150]}", file=sys.stderr, flush=True)
        return None


def _set_scratch(path: str) -> None:
    global SCRATCH
    SCRATCH = path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("listing")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=10_000)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--kinds", default="tune,chorale,work",
                    help="only these kinds (a second queue: the chorales and works, which the 1:1 shuffle leaves at 4 %%)")
    ap.add_argument("--from-list", help="re-render exactly these pieces with these arrangements (a training listing)")
    ap.add_argument("--scratch", default=SCRATCH, help="folder for the short-lived renders")
    a = ap.parse_args()
    os.makedirs(a.scratch, exist_ok=True)
    items = listed(a.from_list) if a.from_list else candidates()
    held = held_keys()
    if a.from_list:  # the main queue's index of each listed piece (candidates as of 19:03: holdout4-8 held out)
        index = {(c["source"], c["number"]): i
                 for i, c in enumerate(candidates(held_keys(tuple(f"HOLDOUT{n}_PIECES" for n in range(4, 9)))))}
        for it in items:
            it["index"] = index.get((it["source"], it["number"])) if it["kind"] == "tune" else None
            assert it["kind"] != "tune" or it["index"] is not None, it
    assert not any(identity(i["source"], i["number"]) & held for i in items)
    print(f"{len(items)} candidates ({sum(i.get('mode') == 'minor' for i in items)} minor-like)", file=sys.stderr,
          flush=True)
    todo = list(enumerate(items))
    if a.from_list:
        pass
    elif a.kinds != "tune,chorale,work":
        kinds = set(a.kinds.split(","))
        todo = [(10_000 + i, it) for i, it in todo if it["kind"] in kinds]  # other arrangements than the main queue's
    todo = todo[a.start: a.start + a.limit]
    rows = []
    with ProcessPoolExecutor(a.workers, initializer=_set_scratch, initargs=(a.scratch,)) as ex:
        for d in ex.map(one, todo):
            if d is None:
                continue
            rows.append(d)
            print(f"{len(rows)} {d['id']}: {d['key']} {d['arrangement']}", file=sys.stderr, flush=True)
            if len(rows) % 20 == 0:
                with open(a.out, "wb") as fh:
                    pickle.dump(rows, fh)
                Path(a.listing).write_text("".join(f"{d['source']}\t{d['number'] or ''}\t{d['key']}\t"
                                                   f"{json.dumps(d['arrangement'])}\n" for d in rows))
    with open(a.out, "wb") as fh:
        pickle.dump(rows, fh)
    Path(a.listing).write_text("".join(f"{d['source']}\t{d['number'] or ''}\t{d['key']}\t"
                                       f"{json.dumps(d['arrangement'])}\n" for d in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
