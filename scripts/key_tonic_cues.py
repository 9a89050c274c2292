"""Which note names the tonic? A measurement on the exact notes, not an analyser.

Profile key finders read a modal tune's scale right and its tonic wrong (docs/analysis.md "Key: how far
the truth labels are from key finding on perfect notes"). This script takes the scale as given -- from
the truth key's own diatonic collection (its K: mode), or from the best music21 profile finder's reading
(as scripts/key_symbolic_ceiling.py gets it) -- and re-chooses the tonic among the scale's modal tonics
(C4: ionian, mixolydian, dorian, aeolian; C6: + lydian, phrygian) by one symbolic cue at a time, read off
the exact notes acekit renders for the clip (the derived MIDI of `scores.derive`: the score's opening,
whole bars up to MAX_EXCERPT_S). Scored with acekit's `mirex_key_score` against the truth rule. Nothing
here changes an analyser: it asks whether a design that transcribed melody and bass could name the tonic.

A point cue (one note) that is not a candidate tonic, or is missing, falls back to the profile finder's
best-correlated candidate (the same finder's 24 correlations); a count cue takes the candidate with the
largest count (profile order breaks ties).

The split filter is an explicit allow-list, holdout4 to holdout12 (corpus splits, all spent for key
design); holdout13 is blind and never loaded.

    nice -n 10 .venv/bin/python scripts/key_tonic_cues.py   # about 7 min of one CPU; 4 min with the finder cache
"""
from __future__ import annotations

import argparse
import collections
import io
import itertools
import json
import sys
import tempfile
from pathlib import Path

import mido

from acekit.analysis.key import mirex_key_score
from acekit.calibration import scores
from acekit.calibration.midi import DRUM_CHANNEL, PPQ
from acekit.keys import Key, parse_key

sys.path.insert(0, str(Path(__file__).parent))
from key_symbolic_ceiling import METHODS  # noqa: E402 - the same five finders, the same way

ALLOWED = ("holdout4", "holdout5", "holdout6", "holdout7", "holdout8", "holdout9", "holdout10", "holdout11",
           "holdout12")
#: mode -> (semitones above the collection's ionian tonic, MIREX mode)
MODES = {"ionian": (0, "major"), "mixolydian": (7, "major"), "dorian": (2, "minor"), "aeolian": (9, "minor"),
         "lydian": (5, "major"), "phrygian": (4, "minor")}
C4 = ("ionian", "mixolydian", "dorian", "aeolian")
C6 = C4 + ("lydian", "phrygian")
_MODE_OF = {"major": "ionian", "minor": "aeolian"}
PROFILE = "the profile's pick"


# ---------------------------------------------------------------- finders (cached: the slow part)

def _finder_readings(m21, midi: bytes, folder: Path) -> dict[str, dict[str, float]]:
    """Each finder's correlation for each of the 24 keys ("C major": r), drums removed as
    key_symbolic_ceiling.py removes them; {} for a finder that gives up."""
    path = folder / "clip.mid"
    path.write_bytes(midi)
    score = m21.converter.parse(str(path))
    for part in list(score.parts):
        inst = part.getInstrument()
        if inst is not None and (inst.midiChannel == 9 or isinstance(inst, m21.instrument.UnpitchedPercussion)):
            score.remove(part)
    out: dict[str, dict[str, float]] = {}
    for method in METHODS:
        try:
            k = score.analyze(method)
        except Exception:  # noqa: BLE001 - as in key_symbolic_ceiling.py: a missing estimate
            out[method] = {}
            continue
        out[method] = {parse_key(f"{x.tonic.name.replace('-', 'b')} {x.mode}").canonical: x.correlationCoefficient
                       for x in [k, *k.alternateInterpretations]}
        out[method]["_best"] = parse_key(f"{k.tonic.name.replace('-', 'b')} {k.mode}").canonical
    return out


# ---------------------------------------------------------------- notes of the excerpt

def _notes(midi: bytes) -> list[list[tuple[int, int, int]]]:
    """(on tick, off tick, pitch) per pitched track, in track order (the score's parts top down, then an
    accompaniment's chords and bass); drums and the conductor left out."""
    tracks = []
    for tr in mido.MidiFile(file=io.BytesIO(midi)).tracks:
        t, open_, notes, pitched = 0, {}, [], False
        for msg in tr:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    break
                pitched = True
                open_.setdefault(msg.note, []).append(t)
            elif msg.type in ("note_off", "note_on") and open_.get(msg.note):
                notes.append((open_[msg.note].pop(0), t, msg.note))
        if pitched and notes:
            tracks.append(sorted(notes))
    return tracks


def _line(notes: list[tuple[int, int, int]], top: bool) -> list[tuple[int, int, int]]:
    """The top (or bottom) voice of a track: at each onset the highest (lowest) note starting there, kept
    unless a higher (lower) note of the track is still sounding."""
    by_on = collections.defaultdict(list)
    for n in notes:
        by_on[n[0]].append(n)
    pick = max if top else min
    out = []
    for on in sorted(by_on):
        n = pick(by_on[on], key=lambda x: x[2])
        held = [m[2] for m in notes if m[0] < on < m[1]]
        if held and pick(held + [n[2]]) != n[2]:
            continue
        out.append(n)
    return out


def _cues(comp, spec) -> dict[str, object]:
    """Each cue: a pitch class (point cue), a 12-list of weights (count cue), or None."""
    tracks = _notes(comp.midi)
    melody = _line(tracks[0], top=True)
    bass = _line(tracks[-1], top=False)  # the lowest part or the accompaniment's bass; a solo tune's own line
    every = [n for tr in tracks for n in tr]
    pad = comp.extra["pad_ql"]
    first_db = round((comp.extra["pickup_ql"] + pad) * PPQ)
    bar = round(spec.bar_ql * PPQ)
    n_bars = comp.extra["bars"]
    downbeats = [first_db + b * bar for b in range(n_bars)]

    def last_before(line, tick):
        notes = [n for n in line if n[0] < tick]
        return notes[-1][2] % 12 if notes else None

    def on_or_before(line, tick):
        notes = [n for n in line if n[0] <= tick]
        return notes[-1][2] % 12 if notes else None

    def longest(line, tick):
        notes = [(min(n[1], tick + bar) - max(n[0], tick), -n[0], n[2])
                 for n in line if n[0] < tick + bar and n[1] > tick]
        return max(notes)[2] % 12 if notes else None  # the earlier of equals

    # the longest rest of the top voice (the gap to the next onset after every melody note has ended)
    rest, end_so_far = None, None
    for a, b in zip(melody, melody[1:]):
        end_so_far = max(end_so_far or 0, max(m[1] for m in tracks[0] if m[0] <= a[0]))
        gap = b[0] - end_so_far
        if gap > 0 and (rest is None or gap > rest[0]):
            rest = (gap, a[2] % 12)
    sounding = [n for n in bass if n[0] <= first_db < n[1]] or [n for n in bass if n[0] >= first_db]

    def weights(notes, dur: bool):
        w = [0.0] * 12
        for on, off, p in notes:
            w[p % 12] += (off - on) if dur else 1.0
        return w

    on_db = set(downbeats)
    return {
        "last melody note": melody[-1][2] % 12,
        "last bass note": bass[-1][2] % 12,
        "melody before the longest rest": rest[1] if rest else None,
        "melody at the end of bar 4": last_before(melody, first_db + 4 * bar),
        "melody at the end of bar 8": last_before(melody, first_db + min(8, n_bars) * bar),
        "bass at the end of bar 4": last_before(bass, first_db + 4 * bar),
        "bass at the end of bar 8": last_before(bass, first_db + min(8, n_bars) * bar),
        # the cadence note of an 8-bar strain lands on a late strong beat of bar 8 (bar 4 for a half strain);
        # the last note before bar 9 is often the next strain's pickup
        "melody on the downbeat of bar 4": on_or_before(melody, first_db + 3 * bar),
        "melody on the downbeat of bar 8": on_or_before(melody, first_db + (min(8, n_bars) - 1) * bar),
        "bass on the downbeat of bar 8": on_or_before(bass, first_db + (min(8, n_bars) - 1) * bar),
        "longest melody note of bar 8": longest(melody, first_db + (min(8, n_bars) - 1) * bar),
        "first melody note": melody[0][2] % 12,
        "first downbeat's bass note": sounding[0][2] % 12 if sounding else None,
        "most frequent pc on downbeats (all voices)": weights([n for n in every if n[0] in on_db], False),
        "most frequent pc on downbeats (melody)": weights([n for n in melody if n[0] in on_db], False),
        "longest total duration pc (all voices)": weights(every, True),
        "longest total duration pc (melody)": weights(melody, True),
        "lowest note overall": min(n[2] for n in every) % 12,
    }


def _first_part(m21, spec, comp) -> dict[str, bool]:
    """Does the excerpt hold the end of the tune's first part (the first repeat, double or final bar line,
    first endings skipped: the excerpt skips them too), and the end of the whole piece as written?"""
    _, score = scores._parse(spec)
    part = score.parts[0]
    measures = list(part.getElementsByClass(m21.stream.Measure))
    strain_end = None
    for i, m in enumerate(measures):
        brackets = [list(sp.numberRange) for sp in m.getSpannerSites() if isinstance(sp, m21.spanner.RepeatBracket)]
        if [1] in brackets:
            continue
        rb = m.rightBarline
        marked = rb is not None and (isinstance(rb, m21.bar.Repeat) or rb.type != "regular")
        second_end = any(2 in b for b in brackets) and (
            i + 1 == len(measures) or not any(isinstance(sp, m21.spanner.RepeatBracket)
                                              for sp in measures[i + 1].getSpannerSites()))
        if (marked or second_end) and i > 0:
            strain_end = m.getOffsetInHierarchy(part) + m.duration.quarterLength
            break
    last = measures[-1]
    piece_end = last.getOffsetInHierarchy(part) + last.duration.quarterLength
    if strain_end is None:
        strain_end = piece_end
    end = comp.extra["excerpt_ql"]  # a trailing half bar is dropped: the score offset the excerpt reaches
    covered = max(a + min(b - a, end - at) for a, b, at in comp.extra["segments"] if at < end)
    inside = strain_end <= covered + 1e-6
    at = next((at + strain_end - a for a, b, at in comp.extra["segments"] if a < strain_end <= b + 1e-6), None)
    return {"first part": inside, "whole piece": piece_end <= covered + 1e-6,
            "first part end tick": round((at + comp.extra["pad_ql"]) * PPQ) if inside and at is not None else None}


# ---------------------------------------------------------------- choosing and scoring

def _collection(truth: Key, rule: str) -> int:
    """The ionian tonic of the truth key's diatonic collection, by its K: mode (a mixolydian A tune has D's
    notes), else major/minor."""
    mode = _MODE_OF[truth.mode]
    if rule.startswith("K: "):
        mode = rule.split(",")[0].split()[2]
        mode = _MODE_OF.get(mode, mode)
    return (truth.pitch_class - MODES[mode][0]) % 12


def _candidates(ionian: int, modes) -> list[Key]:
    return [Key.from_pitch_class(ionian + MODES[m][0], MODES[m][1]) for m in modes]


def _sharp_names(corr: dict[str, float]) -> dict[str, float]:
    """Correlations keyed by the sharp spelling `Key.from_pitch_class` gives (music21 spells Bb, not A#)."""
    return {k if k == "_best" else (lambda x: Key.from_pitch_class(x.pitch_class, x.mode).canonical)(parse_key(k)): v
            for k, v in corr.items()}


def _choose(cue, cands: list[Key], corr: dict[str, float]) -> Key:
    ranked = sorted(cands, key=lambda k: -corr.get(k.canonical, -2.0))  # profile order
    if isinstance(cue, list):
        return max(ranked, key=lambda k: cue[k.pitch_class])  # max() keeps the first of equals
    if cue is not None:
        for k in ranked:
            if k.pitch_class == cue:
                return k
    return ranked[0]


def _vote(keys: list[Key], cands: list[Key], corr: dict[str, float]) -> Key:
    ranked = sorted(cands, key=lambda k: -corr.get(k.canonical, -2.0))
    return max(ranked, key=lambda k: sum(c.same_key(k) for c in keys))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", nargs="+", default=list(ALLOWED))
    ap.add_argument("--cache", default="/tmp/tonic/finders.json", help="finder correlations, computed once")
    args = ap.parse_args()
    bad = [s for s in args.splits if s not in ALLOWED]
    if bad:
        raise SystemExit(f"not in the allow-list: {bad}")
    m21 = scores.require_music21()
    pieces = [p for p in scores.CORPUS_PIECES if p.split in args.splits]
    assert all(p.split in ALLOWED for p in pieces)
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, spec in enumerate(pieces):
            comp = scores.derive(spec)
            if spec.name not in cache:
                cache[spec.name] = _finder_readings(m21, comp.midi, Path(tmp))
                if i % 20 == 0:
                    cache_path.parent.mkdir(parents=True, exist_ok=True)
                    cache_path.write_text(json.dumps(cache))
            cues, part = _cues(comp, spec), _first_part(m21, spec, comp)
            # the score's structure, not something a transcription hears: the melody note that ends the first
            # part (repeat, double or final bar line), where the excerpt holds it
            tick = part["first part end tick"]
            melody = _line(_notes(comp.midi)[0], top=True)
            ending = [n for n in melody if n[0] < tick] if tick is not None else []
            cues["melody at the end of the first part (score bar lines)"] = ending[-1][2] % 12 if ending else None
            rows.append((spec, comp, {m: _sharp_names(c) for m, c in cache[spec.name].items()}, cues, part))
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache))

    splits = [s for s in args.splits if any(r[0].split == s for r in rows)]
    # the best finder pooled over these splits (chosen on the same data)
    finder_mirex = {m: sum(mirex_key_score(c.extra["key"], f[m]["_best"]) if f[m] else 0.0 for _, c, f, _, _ in rows)
                    for m in METHODS}
    best = max(METHODS, key=lambda m: finder_mirex[m])
    print("finders, pooled MIREX:", {m: round(v / len(rows), 3) for m, v in finder_mirex.items()}, "best:", best)
    cue_names = list(rows[0][3])

    def table(choose, title):
        """choose(row, cands, corr) -> Key; a row per scale source x candidate set."""
        out = {}
        for scale in ("truth", "finder"):
            for modes, cname in ((C4, "C4"), (C6, "C6")):
                vals = collections.defaultdict(list)
                for row in rows:
                    spec, comp, fr, cues, _ = row
                    truth, corr = parse_key(comp.extra["key"]), fr[best]
                    if scale == "truth":
                        ionian = _collection(truth, comp.extra["key_rule"])
                    else:
                        fk = parse_key(corr["_best"])
                        ionian = (fk.pitch_class + (0 if fk.mode == "major" else 3)) % 12
                    est = choose(row, _candidates(ionian, modes), corr)
                    vals[spec.split].append(mirex_key_score(truth, est))
                out[(scale, cname)] = vals
        return title, out

    results = [table(lambda r, c, corr: _choose(None, c, corr),
                     f"profile ({best}) among the candidates, no cue")]
    results.append(table(lambda r, c, corr: max(c, key=lambda k: mirex_key_score(parse_key(r[1].extra["key"]), k)),
                         "oracle: the best candidate (the ceiling of any tonic cue)"))
    for name in cue_names:
        results.append(table(lambda r, c, corr, name=name: _choose(r[3][name], c, corr), name))

    # combinations of the cues a transcription could give, and the profile's own pick (so that "the profile
    # unless two cues agree on another tonic" is in the pool): a vote of 2 or 3 (profile order breaks ties),
    # and "A, else B" between point cues; chosen by pooled MIREX on the finder's scale, C4 (the realistic
    # case), on these same clips (in-sample: optimistic)
    heard = [n for n in cue_names if "score bar lines" not in n] + [PROFILE]
    for r in rows:
        r[3][PROFILE] = None  # a point cue that is missing falls back to the profile's pick
    point = [n for n in heard if n != PROFILE and not isinstance(rows[0][3][n], list)]
    combos = []
    for size in (2, 3):
        for names in itertools.combinations(heard, size):
            combos.append((f"vote of {' + '.join(names)}",
                           lambda r, c, corr, names=names: _vote([_choose(r[3][n], c, corr) for n in names], c, corr)))
    for a, b in itertools.permutations(point, 2):
        def prio(r, c, corr, a=a, b=b):
            pcs = {k.pitch_class for k in c}
            return _choose(r[3][a] if r[3][a] in pcs else r[3][b], c, corr)
        combos.append((f"{a}, else {b}", prio))
    scored = []
    for name, fn in combos:
        total = 0.0
        for r in rows:
            fk = parse_key(r[2][best]["_best"])
            cands = _candidates((fk.pitch_class + (0 if fk.mode == "major" else 3)) % 12, C4)
            total += mirex_key_score(parse_key(r[1].extra["key"]), fn(r, cands, r[2][best]))
        scored.append((total, name, fn))
    scored.sort(key=lambda x: -x[0])
    print(f"top combinations of {len(combos)} (finder scale, C4, pooled clip sum of {len(rows)}):")
    for s, name, _ in scored[:12]:
        print(f"  {s:.1f}  {name}")
    results.append(table(scored[0][2], f"best combination (chosen on these clips): {scored[0][1]}"))

    n = len(rows)
    print(f"\n{n} clips; the excerpt holds the end of the first part: {sum(r[4]['first part'] for r in rows)}, "
          f"the whole piece: {sum(r[4]['whole piece'] for r in rows)}")
    for s in splits:
        sub = [r for r in rows if r[0].split == s]
        print(f"  {s}: {len(sub)} clips, first part ends inside {sum(r[4]['first part'] for r in sub)}, "
              f"whole piece {sum(r[4]['whole piece'] for r in sub)}")
    abc = [r for r in rows if r[0].source.endswith(".abc")]
    print(f"abc tunes {len(abc)}: first part inside {sum(r[4]['first part'] for r in abc)}")
    # the last melody note, by whether the first part ends inside the excerpt (finder scale, C4)
    for inside in (True, False):
        sub = [r for r in rows if r[4]["first part"] == inside]
        if sub:
            v = [mirex_key_score(parse_key(r[1].extra["key"]),
                                 _choose(r[3]["last melody note"], _candidates(
                                     (parse_key(r[2][best]["_best"]).pitch_class
                                      + (0 if parse_key(r[2][best]["_best"]).mode == "major" else 3)) % 12, C4),
                                     r[2][best])) for r in sub]
            print(f"last melody note, finder scale C4, first part {'inside' if inside else 'not inside'}: "
                  f"{sum(v) / len(v):.3f} over {len(v)}")
    # how often a point cue names one of the candidates (else the profile's pick stands in), finder scale C4
    cover = []
    for name in cue_names:
        if not isinstance(rows[0][3][name], list):
            hit = 0
            for r in rows:
                fk = parse_key(r[2][best]["_best"])
                pcs = {k.pitch_class for k in _candidates((fk.pitch_class + (0 if fk.mode == "major" else 3)) % 12, C4)}
                hit += r[3][name] in pcs
            cover.append(f"{name} {hit}")
    print(f"point cues naming a C4 candidate of the finder's scale (of {len(rows)}): " + "; ".join(cover))
    fp = "melody at the end of the first part (score bar lines)"
    for scale in ("truth", "finder"):
        t = next(x for x in results if x[0] == fp)[1][(scale, "C4")]
        p0 = results[0][1][(scale, "C4")]
        for inside in (True, False):
            a, b = [], []
            for sp in splits:
                for r, v, w in zip([r for r in rows if r[0].split == sp], t[sp], p0[sp]):
                    if r[4]["first part"] == inside:
                        a.append(v)
                        b.append(w)
            print(f"first-part-end cue, {scale} scale C4, first part {'inside' if inside else 'not inside'} "
                  f"({len(a)}): {sum(a) / len(a):.3f} (profile on the same clips {sum(b) / len(b):.3f}); "
                  f"exact {sum(v == 1.0 for v in a)}")
    # by kind: modal abc tunes, other abc tunes, scores decided by the final bass
    for scale, cname in (("finder", "C4"),):
        print(f"\nby kind ({scale} scale, {cname}): profile / last melody / before longest rest / bar-8 downbeat / "
              "first-part end / best combination / oracle")
        kinds = {"modal (K: mixolydian/dorian/...)": lambda r: r[1].extra["key_rule"].startswith("K: ")
                 and r[1].extra["key_rule"].split(",")[0].split()[2] not in ("major", "minor", "ionian", "aeolian"),
                 "other abc": lambda r: r[1].extra["key_rule"].startswith("K: ")
                 and r[1].extra["key_rule"].split(",")[0].split()[2] in ("major", "minor", "ionian", "aeolian"),
                 "final-bass scores": lambda r: not r[1].extra["key_rule"].startswith("K: ")}
        for kind, pred in kinds.items():
            names = [r[0].name for r in rows if pred(r)]
            cells = []
            for title in (results[0][0], "last melody note", "melody before the longest rest",
                          "melody on the downbeat of bar 8", "melody at the end of the first part (score bar lines)", results[-1][0], results[1][0]):
                t = next(x for x in results if x[0] == title)[1][(scale, cname)]
                flat = {}
                for sp in splits:
                    for r, v in zip([r for r in rows if r[0].split == sp], t[sp]):
                        flat[r[0].name] = v
                vs = [flat[nm] for nm in names]
                cells.append(f"{sum(vs) / len(vs):.3f}" if vs else "-")
            print(f"  {kind} ({len(names)}): " + " / ".join(cells))

    for scale, cname in (("truth", "C4"), ("finder", "C4"), ("truth", "C6"), ("finder", "C6")):
        print(f"\n#### scale from the {'truth key' if scale == 'truth' else best + ' reading'}, candidates {cname}\n")
        print("| cue | " + " | ".join(splits) + " | pooled |")
        print("| --- |" + " --- |" * (len(splits) + 1))
        for title, t in results:
            vals = t[(scale, cname)]
            every = [v for s in splits for v in vals[s]]
            cells = [f"{sum(vals[s]) / len(vals[s]):.3f}" for s in splits]
            print(f"| {title} | " + " | ".join(cells) + f" | {sum(every) / len(every):.3f} |")
    print("\nclips per split: " + ", ".join(f"{s} {sum(r[0].split == s for r in rows)}" for s in splits))


if __name__ == "__main__":
    main()
