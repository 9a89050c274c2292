"""Tempo, ninth pass (notes/tempo-ninth-pass.md): the shipped eighth pass's dev unreliables, and candidates scored
offline on the ten dev splits, leave-one-split-out, from features cached once per song.

    .venv/bin/python scripts/tempo_ninth_dev.py cache OUT_DIR RENDERED_SET_DIR [SPLIT ...]
    .venv/bin/python scripts/tempo_ninth_dev.py look OUT_DIR
    .venv/bin/python scripts/tempo_ninth_dev.py loso OUT_DIR [CANDIDATE ...]

``cache`` reads the rendered set through its manifest.json only (it never renders: no manifest, no run) and loads
only the ten dev splits (an explicit allow-list: holdout10, holdout11 and the recordings are never read). Per song it
stores the beat track, the two onset envelopes, the chord-change envelope (its autocorrelation is rebuilt from it)
and the mono audio (float16, for a candidate needing a new measure). ``look`` prints what the shipped design leaves
"unreliable" (the declared look); ``loso`` scores the notes' candidate pool.
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np

from acekit.analysis import load_audio, track_beats
from acekit.analysis import tempo as T

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9")
TESTS = {1.0: "pass", 1.1: "fail", 0.9: "fail", 0.75: "fail"}
CONTROLS = (0.5, 2.0, 1.5, 2 / 3, 3.0, 1 / 3, 0.6, 0.65, 0.7, 0.8, 0.85, 1.15, 1.2, 1.25, 1.3, 1.4, 1.6, 1.7, 1.8)


def _calibration(rendered: str):
    from acekit.calibration.manifest import CalibrationSet

    manifest = Path(rendered) / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"{manifest} is absent: wait for the lead's render (this script never renders)")
    data = json.loads(manifest.read_text())
    data["root"] = str(Path(rendered))
    return CalibrationSet.model_validate(data)


def cache(out_dir: str, rendered: str, splits: tuple[str, ...] = DEV) -> None:
    assert set(splits) <= set(DEV), splits
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    cal = _calibration(rendered)
    for s in splits:
        target = out / f"feat_{s}.pkl"
        if target.exists():
            continue
        feats = {}
        for c in cal.of_kind("song", split=s):
            assert c.split in DEV, c.split
            y, sr = load_audio(cal.path(c), mono=False)
            mono = y.mean(axis=1)
            per = T.Periodicity(mono, sr)
            env, fps = T.chord_change_envelope(mono, sr)
            np.save(out / "audio" / f"{c.id}.npy", mono.astype(np.float16))
            feats[c.id] = dict(split=c.split, bpm=c.truth.bpm_requested, ts=c.truth.time_signature,
                               bt=track_beats(mono, sr), envs=per._envs, chord=(env, fps), sr=sr)
            print(s, c.id, flush=True)
        pickle.dump(feats, open(target, "wb"))


def load_feats(out_dir: str) -> dict:
    feats = {}
    for s in DEV:
        feats.update(pickle.load(open(Path(out_dir) / f"feat_{s}.pkl", "rb")))
    assert all(f["split"] in DEV for f in feats.values())
    return feats


class _Per(T.Periodicity):
    def __init__(self, envs):  # noqa: D107 - rebuilt from cached envelopes
        self._envs = envs
        self._acfs = [(T._autocorrelation(e), fps) for e, fps in envs]


class _Har(T.HarmonicRhythm):
    def __init__(self, env, fps):  # noqa: D107
        self._fps = fps
        self._acf = T._autocorrelation(env)


def readings(feats: dict, **limits) -> dict:
    """{(song, factor): row}: the shipped analyser's full result on cached features (every measure it takes)."""
    out = {}
    orig = T.Periodicity, T.HarmonicRhythm
    try:
        for sid, f in feats.items():
            per, har = _Per(f["envs"]), _Har(*f["chord"])
            T.Periodicity, T.HarmonicRhythm = (lambda y, sr, p=per: p), (lambda y, sr, h=har: h)
            bt = T.BeatTrack(**f["bt"].model_dump())
            for fac in (*TESTS, *CONTROLS):
                r = T.analyze_tempo(np.zeros(16, np.float32), f["sr"], target_bpm=f["bpm"] * fac,
                                    time_signature=f["ts"], beat_track=bt, **limits)
                out[sid, round(fac, 4)] = dict(split=f["split"], want=TESTS.get(round(fac, 4), "control"), r=r,
                                               shipped=r.verdict, per=per, har=har, bt=bt, f=f)
    finally:
        T.Periodicity, T.HarmonicRhythm = orig
    return out


def tally(rd, v, splits) -> dict:
    """{split: (right, wrong, n)} over the judgements."""
    out = {}
    for s in splits:
        rows = [(row["want"], v[k]) for k, row in rd.items() if row["split"] == s and row["want"] != "control"]
        out[s] = (sum(w == g for w, g in rows), sum(g not in (w, "unreliable") for w, g in rows), len(rows))
    return out


_FIELDS = ("confidence", "salience_expected", "salience_tracked", "salience_request_only", "harmony_request_bar",
           "harmony_margin", "harmony_beat_contrast", "harmony_request_beat", "harmony_beat_peak", "harmony_tracked_bar",
           "harmony_bar_peak", "harmony_bar_peak_from_tracked", "harmony_bar_peak_value", "beat_peak_onsets",
           "beat_peak_harmony", "offbeat_presence", "salience_onset_peak")


def _line(k, row) -> str:
    r = row["r"]
    ev = " ".join(f"{n.replace('salience_', 's_').replace('harmony_', 'h_')}={getattr(r, n)}" for n in _FIELDS
                  if getattr(r, n) is not None)
    return (f"{row['split']:9s} {k[0]:38s} x{k[1]:<6} {row['want']:7s} {r.time_signature:4s} pulse={r.pulse_bpm} "
            f"trk={r.bpm} {r.relation}/{r.relation_pulse} -> {r.verdict} | {ev}")


def look(out_dir: str) -> None:
    rd = readings(load_feats(out_dir))
    base = {k: row["shipped"] for k, row in rd.items()}
    t = tally(rd, base, DEV)
    print("shipped eighth pass:", {s: f"{r}/{n} {r / n:.1%} w{w}" for s, (r, w, n) in t.items()},
          "worst", f"{min(r / n for r, _w, n in t.values()):.1%}", "total", sum(r for r, _w, _n in t.values()),
          "of", sum(n for _r, _w, n in t.values()), "controls passing",
          sum(1 for k, row in rd.items() if row["want"] == "control" and base[k] == "pass"))
    print("\n== judgements left unreliable ==")
    songs = set()
    for k, row in sorted(rd.items(), key=lambda kv: (DEV.index(kv[1]["split"]), kv[0])):
        if row["want"] != "control" and row["shipped"] == "unreliable":
            print(_line(k, row))
            songs.add(k[0])
    print("\n== controls left unreliable ==")
    for k, row in sorted(rd.items(), key=lambda kv: (DEV.index(kv[1]["split"]), kv[0])):
        if row["want"] == "control" and row["shipped"] == "unreliable":
            print(_line(k, row))
    print("\n== decided controls of the songs with an unreliable judgement ==")
    for k, row in sorted(rd.items(), key=lambda kv: (DEV.index(kv[1]["split"]), kv[0])):
        if row["want"] == "control" and row["shipped"] != "unreliable" and k[0] in songs:
            print(_line(k, row))


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache(sys.argv[2], sys.argv[3], tuple(sys.argv[4:]) or DEV)
    elif sys.argv[1] == "look":
        look(sys.argv[2])
