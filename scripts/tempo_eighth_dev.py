"""Tempo, eighth pass (notes/tempo-eighth-pass.md): candidates scored offline on the eight dev splits,
leave-one-split-out, from features cached once per song.

    .venv/bin/python scripts/tempo_eighth_dev.py cache OUT.pkl CALIBRATION_PARENT [SPLIT ...]
    .venv/bin/python scripts/tempo_eighth_dev.py loso A.pkl,B.pkl[,GENERATED.pkl] [CANDIDATE ...]

``cache`` loads only the eight dev splits (an allow-list: holdout8 and later splits are never read) and stores the
beat track, the two onset envelopes and the chord-change autocorrelation of each song (the seventh pass's format, so
its dump of the 22 generated songs is read the same way). ``loso`` runs this tree's analyser on every song at its own
tempo, 1.1x, 0.9x, 0.75x (the calibration test's judgements) and at 19 controls, with the seventh-pass rule off and
on (= the shipped design on main 8e56439), then scores each candidate of the notes' pool leave-one-split-out: per
held-out split, parameters chosen on the other seven (no added wrong verdict, no control passing that the shipped
design does not pass, there and on songs of split "generated"; best worst-split right share, then total right, then
the most conservative value). Run it against main's analyser (the candidates are offline re-implementations that act
only where the shipped design says "unreliable"); in a tree with the eighth pass its two rules are turned off there.
"""
from __future__ import annotations

import pickle
import sys

from acekit.analysis import load_audio, track_beats
from acekit.analysis import tempo as T

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7")


def cache(out: str, parent: str, splits: tuple[str, ...] = DEV) -> None:
    from acekit.calibration import build_calibration_set

    assert set(splits) <= set(DEV), splits
    cal = build_calibration_set(parent, workers=1)
    feats = {}
    for c in cal.of_kind("song"):
        if c.split not in splits:
            continue
        y, sr = load_audio(cal.path(c), mono=False)
        mono = y.mean(axis=1)
        per, har = T.Periodicity(mono, sr), T.HarmonicRhythm(mono, sr)
        feats[c.id] = dict(split=c.split, bpm=c.truth.bpm_requested, ts=c.truth.time_signature, bt=track_beats(mono, sr),
                           envs=per._envs, har=(har._acf, har._fps), sr=sr)
        print(c.split, c.id, flush=True)
    pickle.dump(feats, open(out, "wb"))


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache(sys.argv[2], sys.argv[3], tuple(sys.argv[4:]) or DEV)


# ---- scoring (loso) ------------------------------------------------------------------------------------------------
import itertools  # noqa: E402

import numpy as np  # noqa: E402

TESTS = {1.0: "pass", 1.1: "fail", 0.9: "fail", 0.75: "fail"}
CONTROLS = (0.5, 2.0, 1.5, 2 / 3, 3.0, 1 / 3, 0.6, 0.65, 0.7, 0.8, 0.85, 1.15, 1.2, 1.25, 1.3, 1.4, 1.6, 1.7, 1.8)
GRID = [round(x, 2) for x in np.arange(0.0, 1.0001, 0.05)]


class _Per(T.Periodicity):
    def __init__(self, envs):  # noqa: D107 - rebuilt from cached envelopes
        self._envs = envs
        self._acfs = [(T._autocorrelation(e), fps) for e, fps in envs]


class _Har(T.HarmonicRhythm):
    def __init__(self, acf, fps):  # noqa: D107
        self._acf, self._fps = acf, fps


def _ref_bpm(r) -> float:
    return r.target_bpm if (r.relation_pulse == "quarter" and r.pulse == "half") else r.pulse_bpm


#: the eighth pass's two rules off, in a tree that has them (the shipped design is then the seventh pass again)
_EIGHTH_OFF = (dict(min_open_beat_harmony_contrast=float("inf"), min_onset_peak_ratio=float("inf"))
               if hasattr(T, "MIN_ONSET_PEAK_RATIO") else {})


def readings(feats: dict) -> dict:
    """{(song, factor): row}: the analyser with the seventh-pass rule off (every evidence field up to it), the
    shipped verdict, the off-beat presence and the onset periodicity at the request and at the onset peak."""
    out = {}
    orig = T.Periodicity, T.HarmonicRhythm
    try:
        for sid, f in feats.items():
            per = _Per(f["envs"])
            T.Periodicity, T.HarmonicRhythm = (lambda y, sr, p=per: p), (lambda y, sr, f=f: _Har(*f["har"]))
            bt = T.BeatTrack(**f["bt"].model_dump())
            presence = per.offbeat_presence(bt.beats_s, 60.0 / bt.bpm) if bt.bpm > 0 else None
            for fac in (*TESTS, *CONTROLS):
                kw = dict(target_bpm=f["bpm"] * fac, time_signature=f["ts"], beat_track=bt, **_EIGHTH_OFF)
                r0 = T.analyze_tempo(np.zeros(16, np.float32), f["sr"], max_offbeat_presence=-1.0, **kw)
                shipped = T.analyze_tempo(np.zeros(16, np.float32), f["sr"], **kw).verdict
                row = dict(split=f["split"], want=TESTS.get(round(fac, 4), "control"), r=r0, shipped=shipped,
                           presence=presence, sal_req=None, sal_peak=None)
                if r0.beat_peak_onsets is not None and r0.pulse_bpm:
                    beat = 60.0 / _ref_bpm(r0)
                    row["sal_req"], row["sal_peak"] = per.at(beat), per.at(beat * r0.beat_peak_onsets)
                out[sid, round(fac, 4)] = row
    finally:
        T.Periodicity, T.HarmonicRhythm = orig
    return out


def _at(x, tol=T.DEFAULT_TEMPO_TOLERANCE_PCT) -> bool:
    return x is not None and abs(x - 1.0) * 100.0 <= tol


def _seventh(row, th, floor, peak_either=False) -> bool:
    """The seventh-pass pass rule on the rule-off result (True = it passes)."""
    r, p = row["r"], row["presence"]
    if r.verdict != "unreliable" or r.relation != "double" or p is None or r.salience_expected is None:
        return False
    peak = _at(r.beat_peak_onsets) or (peak_either and _at(r.beat_peak_harmony))
    return (p <= th + 1e-9 and r.salience_expected >= T.MIN_PULSE_SALIENCE and peak and _ref_bpm(r) >= floor - 1e-9)


def _open_x2(row) -> bool:
    r = row["r"]
    return (row["shipped"] == "unreliable" and r.relation == "double" and row["presence"] is not None
            and r.salience_expected is not None and r.salience_expected >= T.MIN_PULSE_SALIENCE)


def cand_refit(row, th, floor):
    return "pass" if _seventh(row, th, floor) else row["r"].verdict


def cand_witnesses(row, tp, th):
    r = row["r"]
    if (_open_x2(row) and row["presence"] <= tp + 1e-9 and _at(r.beat_peak_onsets) and _ref_bpm(r) >= 55.0 - 1e-9
            and r.harmony_beat_contrast is not None and r.harmony_beat_contrast >= th - 1e-9 and _at(r.harmony_beat_peak)):
        return "pass"
    return row["shipped"]


def cand_either_peak(row, th, floor):
    return "pass" if _seventh(row, th, floor, peak_either=True) else row["r"].verdict


def cand_slow_tier(row, tl):
    r = row["r"]
    if (_open_x2(row) and _ref_bpm(r) < 55.0 and row["presence"] <= tl + 1e-9 and _at(r.beat_peak_onsets)):
        return "pass"
    return row["shipped"]


def cand_onset_peak_fail(row, ratio):
    r = row["r"]
    po, (lo, hi) = r.beat_peak_onsets, T.BEAT_PEAK_WINDOW
    if (row["shipped"] == "unreliable" and r.relation == "off" and r.confidence < T.MIN_CONFIDENCE and po is not None
            and lo * 1.01 < po < hi / 1.01 and abs(po - 1.0) * 100.0 > T.DEFAULT_TEMPO_TOLERANCE_PCT
            and row["sal_peak"] is not None and row["sal_peak"] >= T.MIN_PULSE_SALIENCE
            and row["sal_peak"] >= ratio * max(row["sal_req"], 1e-9) - 1e-9):
        return "fail"
    return row["shipped"]


#: Added after the stress test (own tempi, whatever the tracker read): the onsets of compound-meter and cut-time dance
#: tunes peak at 3/4 or 4/3 of their pulse (a jig at its own tempo 1.47 times more periodic there): 5 never fails there.
METRICAL_PEAKS = (0.75, 4.0 / 3.0)


def cand_onset_peak_fail_b(row, ratio):
    po = row["r"].beat_peak_onsets
    if po is not None and any(abs(po / m - 1.0) * 100.0 <= T.DEFAULT_TEMPO_TOLERANCE_PCT for m in METRICAL_PEAKS):
        return row["shipped"]
    return cand_onset_peak_fail(row, ratio)


def cand_5b_6(row, th, ratio):
    v = cand_contrast(row, th)
    return v if v != row["shipped"] else cand_onset_peak_fail_b(row, ratio)


def cand_contrast(row, th):
    """Added after seeing 1-5: the fifth pass's chord-change rule with a lower contrast, only where shipped is open."""
    r = row["r"]
    ratio_ok = (r.salience_tracked is not None and (r.salience_tracked < T.MIN_PULSE_SALIENCE or
                (r.salience_tracked > 0 and r.salience_expected / r.salience_tracked >= T.SALIENCE_FAIL_RATIO)))
    if (row["shipped"] == "unreliable" and r.relation == "double" and r.harmony_beat_contrast is not None
            and r.harmony_request_beat is not None and r.harmony_request_beat >= T.MIN_BAR_HARMONY
            and r.harmony_beat_contrast >= th - 1e-9 and _at(r.harmony_beat_peak) and ratio_ok):
        return "pass"
    return row["shipped"]


def cand_5_6(row, th, ratio):
    """5 and 6 together (they act on disjoint readings: 6 on x2, 5 on off)."""
    v = cand_contrast(row, th)
    return v if v != row["shipped"] else cand_onset_peak_fail(row, ratio)


#: name -> (verdict function, parameter grid, conservativeness key: larger = more conservative)
CANDIDATES = {
    "1 refit": (cand_refit, list(itertools.product(GRID, (0.0, 40.0, 45.0, 50.0, 55.0, 60.0))), lambda p: (-p[0], p[1])),
    "2 two witnesses": (cand_witnesses, list(itertools.product([x for x in GRID if 0.65 <= x <= 0.95],
                                                                 [x for x in GRID if x <= 0.6])), lambda p: (-p[0], p[1])),
    "3 either peak": (cand_either_peak, list(itertools.product(GRID, (0.0, 40.0, 45.0, 50.0, 55.0, 60.0))),
                      lambda p: (-p[0], p[1])),
    "4 slow tier": (cand_slow_tier, [(x,) for x in GRID if x <= 0.5], lambda p: (-p[0],)),
    "5 onset peak fails off": (cand_onset_peak_fail, [(round(1.0 + 0.25 * i, 2),) for i in range(9)], lambda p: (p[0],)),
    "6 contrast refit (post hoc)": (cand_contrast, [(x,) for x in GRID if 0.3 <= x <= 0.65], lambda p: (p[0],)),
    "5b (post hoc)": (cand_onset_peak_fail_b, [(round(1.0 + 0.25 * i, 2),) for i in range(9)], lambda p: (p[0],)),
    "5b+6": (cand_5b_6, list(itertools.product([x for x in GRID if 0.3 <= x <= 0.65], [round(1.0 + 0.25 * i, 2) for i in range(9)])),
             lambda p: (p[0], p[1])),
    "5+6": (cand_5_6, list(itertools.product([x for x in GRID if 0.3 <= x <= 0.65], [round(1.0 + 0.25 * i, 2) for i in range(9)])),
            lambda p: (p[0], p[1])),
}


def verdicts(rd, fn, params) -> dict:
    return {k: fn(row, *params) for k, row in rd.items()}


def tally(rd, v, splits) -> dict:
    """{split: (right, wrong, n)} over the judgements."""
    out = {}
    for s in splits:
        rows = [(row["want"], v[k]) for k, row in rd.items() if row["split"] == s and row["want"] != "control"]
        out[s] = (sum(w == g for w, g in rows), sum(g not in (w, "unreliable") for w, g in rows), len(rows))
    return out


def new_controls(rd, v, splits) -> list:
    return sorted(k for k, row in rd.items() if row["split"] in splits and row["want"] == "control"
                  and v[k] == "pass" and row["shipped"] != "pass")


def added_wrong(rd, v, splits) -> list:
    return sorted(k for k, row in rd.items() if row["split"] in splits and row["want"] != "control"
                  and v[k] not in (row["want"], "unreliable") and v[k] != row["shipped"])


def choose(rd, name, splits):
    fn, grid, cons = CANDIDATES[name]
    best = None
    for p in grid:
        v = verdicts(rd, fn, p)
        if added_wrong(rd, v, (*splits, "generated")) or new_controls(rd, v, (*splits, "generated")):
            continue
        t = tally(rd, v, splits)
        key = (round(min(r / n for r, _w, n in t.values()), 9), sum(r for r, _w, _n in t.values()), cons(p))
        if best is None or key > best[0]:
            best = (key, p)
    return best[1]


def loso(paths: str, names=None) -> None:
    rd = {}
    for path in paths.split(","):
        rd.update(readings(pickle.load(open(path, "rb"))))
    mism = [k for k, row in rd.items() if cand_refit(row, T.MAX_OFFBEAT_PRESENCE, T.MIN_OFFBEAT_PULSE_BPM) != row["shipped"]]
    print("offline seventh rule differs from the analyser on", len(mism), mism[:5])
    base = {k: row["shipped"] for k, row in rd.items()}
    bt = tally(rd, base, DEV)
    print("shipped:", {s: f"{r}/{n} {r / n:.1%} w{w}" for s, (r, w, n) in bt.items()},
          "worst", f"{min(r / n for r, _w, n in bt.values()):.1%}", "total", sum(r for r, _w, _n in bt.values()),
          "controls passing", sum(1 for k, row in rd.items() if row["want"] == "control" and base[k] == "pass"))
    for name in names or CANDIDATES:
        fn = CANDIDATES[name][0]
        per_fold, total, bad = {}, 0, []
        for s in DEV:
            p = choose(rd, name, tuple(x for x in DEV if x != s))
            v = verdicts(rd, fn, p)
            r, w, n = tally(rd, v, (s,))[s]
            per_fold[s] = (p, r, n)
            total += r
            bad += added_wrong(rd, v, (s,)) + new_controls(rd, v, (s,))
        worst = min(r / n for _p, r, n in per_fold.values())
        print(f"{name}: LOSO worst {worst:.1%} total {total}; folds",
              {s: f"{p} {r / n:.1%}" for s, (p, r, n) in per_fold.items()}, "held-out wrong/new controls:", bad)
        p = choose(rd, name, DEV)
        v = verdicts(rd, fn, p)
        print(f"   all eight: {p}", {s: f"{r / n:.1%}" for s, (r, _w, n) in tally(rd, v, DEV).items()},
              "changed:", sorted((k, base[k], v[k]) for k in v if v[k] != base[k]))


if __name__ == "__main__" and sys.argv[1] == "loso":
    loso(sys.argv[2], sys.argv[3:] or None)
