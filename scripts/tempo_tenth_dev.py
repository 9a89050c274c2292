"""Tempo, tenth pass (notes/tempo-tenth-pass.md; the ninth pass's script extended): the shipped eighth pass's dev unreliables, and candidates scored
offline on the twelve dev splits, leave-one-split-out, from features cached once per song.

    .venv/bin/python scripts/tempo_ninth_dev.py cache OUT_DIR RENDERED_SET_DIR [SPLIT ...]
    .venv/bin/python scripts/tempo_ninth_dev.py look OUT_DIR
    .venv/bin/python scripts/tempo_ninth_dev.py loso OUT_DIR [CANDIDATE ...]

``cache`` reads the rendered set through its manifest.json only (it never renders: no manifest, no run) and loads
only the twelve dev splits (an explicit allow-list: holdout12 and the recordings are never read). Per song it
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
       "holdout9", "holdout10", "holdout11")
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


def readings(feats: dict, mod=None, **limits) -> dict:
    """{(song, factor): row}: the shipped analyser's full result on cached features (every measure it takes); ``mod``:
    the tempo module to run (default: main's, ``shipped_module()``)."""
    out = {}
    T = mod or shipped_module()  # noqa: N806 - the module under test, shadowing this script's import
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


def shipped_module():
    """main's tempo.py (the shipped design), from /work/main's HEAD, or this tree's when SHIPPED_TEMPO_PY is unset and
    /work/main is absent."""
    import importlib.util
    import os
    import subprocess

    path = os.environ.get("SHIPPED_TEMPO_PY", "/tmp/tempo10/tempo_shipped.py")
    if not Path(path).exists():
        src = subprocess.run(["git", "-C", "/work/main", "show", "HEAD:src/acekit/analysis/tempo.py"], check=True,
                             capture_output=True, text=True).stdout
        Path(path).write_text(src)
    spec = importlib.util.spec_from_file_location("tempo_shipped", path)
    m = importlib.util.module_from_spec(spec)
    sys.modules["tempo_shipped"] = m
    spec.loader.exec_module(m)
    return m


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


# ---- the candidate pool (notes/tempo-ninth-pass.md, part 2) and leave-one-split-out scoring --------------------------
import itertools  # noqa: E402

TOL = T.DEFAULT_TEMPO_TOLERANCE_PCT
WIDE = (0.7, 1.0 / 0.7)  # the sixth pass's BEAT_PEAK_WINDOW, used by F for the chord-change bar peak too


def _at(x) -> bool:
    return x is not None and abs(x - 1.0) * 100.0 <= TOL


def _ref_bpm(r) -> float:
    return r.target_bpm if (r.relation_pulse == "quarter" and r.pulse == "half") else r.pulse_bpm


def _inside(x, lo, hi) -> bool:
    return x is not None and lo * 1.01 < x < hi / 1.01


def cand_h(row, theta):
    """H: the chord-change rule with a lower contrast, under an unsure tracker, requested pulse >= 55 BPM."""
    r = row["r"]
    if row["shipped"] != "unreliable" or r.relation != "double" or r.confidence >= T.MIN_CONFIDENCE:
        return row["shipped"]
    se, st = r.salience_expected, r.salience_tracked
    hc, hq, hp = r.harmony_beat_contrast, r.harmony_request_beat, r.harmony_beat_peak
    if None in (se, st, hc, hq, hp) or _ref_bpm(r) < T.MIN_OFFBEAT_PULSE_BPM - 1e-9:
        return row["shipped"]
    ratio_ok = st < T.MIN_PULSE_SALIENCE or (st > 0 and se / st >= T.SALIENCE_FAIL_RATIO)
    if hq >= T.MIN_BAR_HARMONY and _at(hp) and ratio_ok and hc >= theta - 1e-9:
        return "pass"
    return row["shipped"]


def cand_o(row):
    """O: an unsure off reading whose onsets and chord changes both peak at the request, requested pulse >= 55."""
    r = row["r"]
    if (row["shipped"] == "unreliable" and r.relation == "off" and r.confidence < T.MIN_CONFIDENCE
            and _at(r.beat_peak_onsets) and _at(r.beat_peak_harmony) and _ref_bpm(r) >= T.MIN_OFFBEAT_PULSE_BPM - 1e-9):
        return "pass"
    return row["shipped"]


#: Og's guard: the simple ratios of the requested beat at which the music's own beat would lie were the request a
#: multiple or fraction of it (2 and 3 left out: at the music's own tempo, its half bar and bar)
GUARD_RATIOS = (1 / 3, 1 / 2, 3 / 5, 2 / 3, 3 / 4, 4 / 5, 5 / 4, 4 / 3, 3 / 2, 5 / 3)


def guard_salience(per, beat_s: float) -> float:
    return max(per.at(f * beat_s) for f in GUARD_RATIOS)


def cand_og(row, theta):
    """Og: O, and the onset periodicity at the request at least theta x the largest at its simple ratios."""
    r = row["r"]
    if cand_o(row) != "pass" or row["shipped"] == "pass":
        return row["shipped"]
    beat = 60.0 / _ref_bpm(r)
    g = row.get("guard")
    if g is None:
        g = row["guard"] = guard_salience(row["per"], beat)
    se = row["per"].at(beat)
    return "pass" if g <= 0 or se >= theta * g - 1e-9 else row["shipped"]


#: Op's guard (pool part 2): no onset pulse at any of these ratios of the requested beat (3 and 4, the bar, left out)
PULSE_RATIOS = (1 / 3, 1 / 2, 3 / 5, 2 / 3, 3 / 4, 4 / 5, 5 / 4, 4 / 3, 3 / 2, 5 / 3, 2.0)


def no_ratio_pulse(per, beat_s: float) -> bool:
    return max(per.at(f * beat_s) for f in PULSE_RATIOS) < T.MIN_PULSE_SALIENCE


def cand_op(row):
    """Op: O, and no simple ratio of the requested beat is an onset pulse."""
    if cand_o(row) != "pass" or row["shipped"] == "pass":
        return row["shipped"]
    return "pass" if no_ratio_pulse(row["per"], 60.0 / _ref_bpm(row["r"])) else row["shipped"]


def _w(row, theta, triple_half_only: bool):
    r = row["r"]
    if row["shipped"] != "unreliable" or r.relation in ("match", "off"):
        return row["shipped"]
    u, se, st = r.salience_request_only, r.salience_expected, r.salience_tracked
    if u is None or st is None or se is None:
        return row["shipped"]
    fl = T.MIN_PULSE_SALIENCE
    if triple_half_only:
        if r.relation != "half" or T.pulses_per_bar(r.time_signature) % 2 == 0:
            return row["shipped"]
        ok = u >= fl and st >= fl and u / st >= theta - 1e-9
    else:
        ok = u >= fl and st >= fl and st > 0 and se / st >= T.SALIENCE_FAIL_RATIO and u / st >= theta - 1e-9
    return "pass" if ok else row["shipped"]


def cand_w1(row, theta):
    return _w(row, theta, True)


def cand_w2(row, theta):
    return _w(row, theta, False)


def _bar_peak_wide(row) -> float | None:
    r = row["r"]
    bar = T.pulses_per_bar(r.time_signature) * 60.0 / _ref_bpm(r)
    p = row["har"].peak_ratio(bar, *WIDE)
    return float(p) if np.isfinite(p) else None


def _f_fires(po, hbar) -> bool:
    return (_inside(po, *WIDE) and _inside(hbar, *WIDE) and abs(po / hbar - 1.0) * 100.0 <= TOL
            and min(abs(po - 1.0), abs(hbar - 1.0)) * 100.0 > TOL)


def cand_f(row):
    """F: an unsure off reading whose onset beat peak and chord-change bar peak agree, away from the request."""
    r = row["r"]
    if (row["shipped"] == "unreliable" and r.relation == "off" and r.confidence < T.MIN_CONFIDENCE
            and _f_fires(r.beat_peak_onsets, _bar_peak_wide(row))):
        return "fail"
    return row["shipped"]


G = lambda lo, hi: [round(x, 2) for x in np.arange(lo, hi + 1e-9, 0.05)]  # noqa: E731

#: name -> (verdict function, parameter grid, conservativeness key: larger = more conservative)
CANDIDATES = {
    "H": (cand_h, [(x,) for x in G(0.15, 0.5)], lambda p: (p[0],)),
    "O": (cand_o, [()], lambda p: ()),
    "W1": (cand_w1, [(x,) for x in G(1.1, 2.0)], lambda p: (p[0],)),
    "W2": (cand_w2, [(x,) for x in G(1.1, 2.0)], lambda p: (p[0],)),
    "F": (cand_f, [()], lambda p: ()),
    "Og": (cand_og, [(x,) for x in G(0.5, 1.5)], lambda p: (p[0],)),
    "Op": (cand_op, [()], lambda p: ()),
}
CANDIDATES["H"] = (cand_h, [(x,) for x in G(0.15, 0.45)], lambda p: (p[0],))
CANDIDATES["W1"] = (cand_w1, [(x,) for x in G(1.1, 3.0)], lambda p: (p[0],))


def combo(*names):
    parts = [CANDIDATES[n] for n in names]
    sizes = [len(p[1][0]) for p in parts]

    def fn(row, *params):
        i = 0
        for (f, _g, _c), n in zip(parts, sizes):
            v = f(row, *params[i:i + n])
            i += n
            if v != row["shipped"]:
                return v
        return row["shipped"]

    grid = [sum(ps, ()) for ps in itertools.product(*[p[1] for p in parts])]

    def cons(params):
        i, key = 0, ()
        for (_f, _g, c), n in zip(parts, sizes):
            key += c(params[i:i + n])
            i += n
        return key
    return fn, grid, cons


def verdicts(rd, fn, params) -> dict:
    return {k: fn(row, *params) for k, row in rd.items()}


def new_controls(rd, v, splits) -> list:
    return sorted(k for k, row in rd.items() if row["split"] in splits and row["want"] == "control"
                  and v[k] == "pass" and row["shipped"] != "pass")


def added_wrong(rd, v, splits) -> list:
    return sorted(k for k, row in rd.items() if row["split"] in splits and row["want"] != "control"
                  and v[k] not in (row["want"], "unreliable") and v[k] != row["shipped"])


def choose(rd, cand, splits, name=None, stats=None, feats=None):
    fn, grid, cons = cand
    best = None
    for p in grid:
        if stats is not None and stress_hits(stats, name, p, splits, feats):
            continue
        v = verdicts(rd, fn, p)
        if added_wrong(rd, v, splits) or new_controls(rd, v, splits):
            continue
        t = tally(rd, v, splits)
        key = (round(min(r / n for r, _w, n in t.values()), 9), sum(r for r, _w, _n in t.values()), cons(p))
        if best is None or key > best[0]:
            best = (key, p)
    return None if best is None else best[1]


def f_own_tempo_stress(feats) -> list:
    """F at every dev song's own tempo, whatever the tracker read: the songs it would fail (must be none)."""
    out = []
    for sid, f in feats.items():
        per, har = _Per(f["envs"]), _Har(*f["chord"])
        _p, ref, _acc = T.expected_pulse(f["bpm"], f["ts"])
        for refb in _acc:  # the expected pulse, and in 2/2 the quarter too
            po = per.peak_ratio(60.0 / refb, *T.BEAT_PEAK_WINDOW)
            ppb = T.pulses_per_bar(f["ts"]) * (refb / ref)
            hbar = har.peak_ratio(round(ppb) * 60.0 / refb, *WIDE)
            if _f_fires(po if np.isfinite(po) else None, hbar if np.isfinite(hbar) else None):
                out.append((sid, f["split"], refb, round(float(po), 3), round(float(hbar), 3)))
    return out


def stress_stats(feats) -> dict:
    """{name: {(song, factor): statistic}}: for every dev song at the 3 wrong factors and 19 controls, as if an unsure
    tracker gave exactly the reading the rule judges, the value the rule compares with its parameter (the rule passes
    it when value >= parameter; O: +inf whenever it fires). Requests where a rule's other conditions fail are absent."""
    out = {"H": {}, "O": {}, "Og": {}, "W1": {}, "Op": {}}
    for sid, f in feats.items():
        per, har = _Per(f["envs"]), _Har(*f["chord"])
        for fac in (1.1, 0.9, 0.75, *CONTROLS):
            k = (sid, round(fac, 4))
            _p, ref, _acc = T.expected_pulse(f["bpm"] * fac, f["ts"])
            beat = 60.0 / ref
            if ref >= T.MIN_OFFBEAT_PULSE_BPM:
                se, st = per.at(beat), per.at(beat / 2)
                hq, hc = har.at(beat), har.at(beat) - har.at(beat / 2)
                ok = (st < T.MIN_PULSE_SALIENCE or (st > 0 and se / st >= T.SALIENCE_FAIL_RATIO))
                if hq >= T.MIN_BAR_HARMONY and _at(har.peak_ratio(beat)) and ok:
                    out["H"][k] = hc
                po, ph = per.peak_ratio(beat, *T.BEAT_PEAK_WINDOW), har.peak_ratio(beat, *T.BEAT_PEAK_WINDOW)
                if _at(po) and _at(ph):
                    out["O"][k] = float("inf")
                    g = guard_salience(per, beat)
                    out["Og"][k] = float("inf") if g <= 0 else per.at(beat) / g
                    if no_ratio_pulse(per, beat):
                        out["Op"][k] = float("inf")
            ppb = T.pulses_per_bar(f["ts"])
            if ppb % 2 == 1:
                u = T.request_only_salience(per, ref, ref / 2.0, ppb)
                st = per.at(2 * beat)
                fl = T.MIN_PULSE_SALIENCE
                if u is not None and u >= fl and st >= fl:
                    out["W1"][k] = u / st
    return out


def stress_hits(stats, name, params, splits, feats) -> list:
    """Stress hits of a candidate (a combination: of each part) on the songs of ``splits``."""
    hits, i = [], 0
    for part in name.split("+"):
        n = len(CANDIDATES[part][1][0])
        theta = params[i] if n else None
        i += n
        for k, val in stats.get(part, {}).items():
            if feats[k[0]]["split"] in splits and (theta is None or val >= theta - 1e-9):
                hits.append((part, *k, round(val, 3)))
    return hits


def stress(feats, name, params) -> None:
    """Every dev song at the 3 wrong factors and 19 controls, as if an unsure tracker gave the reading the candidate
    judges: how many would it pass (reported, not a criterion)."""
    hits = []
    for sid, f in feats.items():
        per, har = _Per(f["envs"]), _Har(*f["chord"])
        for fac in (1.1, 0.9, 0.75, *CONTROLS):
            _p, ref, _acc = T.expected_pulse(f["bpm"] * fac, f["ts"])
            beat = 60.0 / ref
            if name == "H" and ref >= T.MIN_OFFBEAT_PULSE_BPM:
                se, st = per.at(beat), per.at(beat / 2)
                hq, hc = har.at(beat), har.at(beat) - har.at(beat / 2)
                ok = (st < T.MIN_PULSE_SALIENCE or (st > 0 and se / st >= T.SALIENCE_FAIL_RATIO))
                if hq >= T.MIN_BAR_HARMONY and _at(har.peak_ratio(beat)) and ok and hc >= params[0] - 1e-9:
                    hits.append((sid, round(fac, 3), round(ref, 1), round(hc, 2)))
            if name == "O" and ref >= T.MIN_OFFBEAT_PULSE_BPM:
                po, ph = per.peak_ratio(beat, *T.BEAT_PEAK_WINDOW), har.peak_ratio(beat, *T.BEAT_PEAK_WINDOW)
                if _at(po) and _at(ph):
                    hits.append((sid, round(fac, 3), round(ref, 1)))
            if name in ("W1", "W2"):
                ppb = T.pulses_per_bar(f["ts"])
                if name == "W1" and ppb % 2 == 0:
                    continue
                u = T.request_only_salience(per, ref, ref / 2.0, ppb)
                st, se = per.at(2 * beat), per.at(beat)
                fl = T.MIN_PULSE_SALIENCE
                if (u is not None and u >= fl and st >= fl and u / st >= params[0] - 1e-9
                        and (name == "W1" or se / st >= T.SALIENCE_FAIL_RATIO)):
                    hits.append((sid, round(fac, 3), round(ref, 1), round(u / st, 2)))
    print(f"   stress {name} {params}: {len(hits)} of {len(feats) * 22} wrong/control requests would pass "
          f"if an unsure tracker read them so:", hits[:40])


def loso(out_dir: str, names=None) -> None:
    feats = load_feats(out_dir)
    rd = readings(feats)
    base = {k: row["shipped"] for k, row in rd.items()}
    bt = tally(rd, base, DEV)
    print("shipped:", {s: f"{r}/{n} {r / n:.1%} w{w}" for s, (r, w, n) in bt.items()},
          "worst", f"{min(r / n for r, _w, n in bt.values()):.1%}", "total", sum(r for r, _w, _n in bt.values()),
          "controls passing", sum(1 for k, row in rd.items() if row["want"] == "control" and base[k] == "pass"))
    stats = stress_stats(feats)
    stats.update(stress_exact(feats))  # H and W1: the declared "every other rule left it open" applied (see stress_exact)
    for name in names or ("H", "W1", "O", "Og"):
        cand = combo(*name.split("+")) if "+" in name else CANDIDATES[name]
        fn = cand[0]
        per_fold, total, bad = {}, 0, []
        for s in DEV:
            p = choose(rd, cand, tuple(x for x in DEV if x != s), name, stats, feats)
            if p is None:
                per_fold[s] = (None, *tally(rd, base, (s,))[s][::2])
                total += per_fold[s][1]
                continue
            v = verdicts(rd, fn, p)
            r, w, n = tally(rd, v, (s,))[s]
            per_fold[s] = (p, r, n)
            total += r
            bad += added_wrong(rd, v, (s,)) + new_controls(rd, v, (s,)) + stress_hits(stats, name, p, (s,), feats)
        worst = min(r / n for _p, r, n in per_fold.values())
        print(f"{name}: LOSO worst {worst:.1%} total {total}; folds",
              {s: f"{p} {r / n:.1%}" for s, (p, r, n) in per_fold.items()}, "held-out wrong/new controls:", bad)
        p = choose(rd, cand, DEV, name, stats, feats)
        if p is None:
            print("   all twelve: no admissible value")
            continue
        v = verdicts(rd, fn, p)
        print(f"   all twelve: {p}", {s: f"{r / n:.1%}" for s, (r, _w, n) in tally(rd, v, DEV).items()},
              "changed:", sorted((k, base[k], v[k]) for k in v if v[k] != base[k]))
        # the stress statistics' range on all twelve (for the notes): the value of each hit at the lowest grid value
        lowest = cand[1][0]
        hs = stress_hits(stats, name, lowest, DEV, feats)
        print(f"   stress at the lowest grid value {lowest}: {len(hs)} hits; highest values:",
              sorted(hs, key=lambda h: -h[-1])[:12])




def verify(out_dir: str) -> None:
    """This tree's analyser against the offline frozen design (Op) on main's readings: the same verdict on every dev
    request, and every TempoResult field equal to main's wherever the verdict is (the new field aside)."""
    feats = load_feats(out_dir)
    main, mine = readings(feats), readings(feats, mod=T)
    fn = cand_op
    params = ()
    bad_v = [k for k in main if fn(main[k], *params) != mine[k]["r"].verdict]
    bad_f = [k for k in main if mine[k]["r"].verdict == main[k]["shipped"]
             and mine[k]["r"].model_dump(exclude={"salience_ratio_lags"}) != main[k]["r"].model_dump()]
    changed = sorted((k, main[k]["shipped"], mine[k]["r"].verdict) for k in main
                     if mine[k]["r"].verdict != main[k]["shipped"])
    print(f"{len(main)} requests; verdict differs from the offline design on {len(bad_v)} {bad_v[:5]}; fields differ "
          f"from main's where the verdict is the same on {len(bad_f)} {bad_f[:5]}; verdicts changed from main's:",
          changed)
    t = tally(mine, {k: row["r"].verdict for k, row in mine.items()}, DEV)
    print("this tree:", {s: f"{r}/{n} {r / n:.1%} w{w}" for s, (r, w, n) in t.items()}, "controls passing",
          sum(1 for row in mine.values() if row["want"] == "control" and row["r"].verdict == "pass"))


if __name__ == "__main__" and sys.argv[1] == "verify":
    verify(sys.argv[2])


def fixed(out_dir: str, name: str, *params: str) -> None:
    """A candidate at given parameters on all twelve dev splits (no selection): figures, changed verdicts, stress hits
    (e.g. the ninth pass's design: ``fixed OUT H+O+W1 0.25 1.65``)."""
    feats = load_feats(out_dir)
    rd = readings(feats)
    base = {k: row["shipped"] for k, row in rd.items()}
    cand = combo(*name.split("+")) if "+" in name else CANDIDATES[name]
    p = tuple(float(x) for x in params)
    v = verdicts(rd, cand[0], p)
    for lab, vv in (("shipped", base), (f"{name} {p}", v)):
        t = tally(rd, vv, DEV)
        print(lab, {s: f"{r}/{w}/{n - r - w} {r / n:.1%}" for s, (r, w, n) in t.items()},
              "total", sum(r for r, _w, _n in t.values()))
    print("changed:", sorted((k, rd[k]["split"], rd[k]["want"], base[k], v[k]) for k in v if v[k] != base[k]))
    print("added wrong:", added_wrong(rd, v, DEV), "new controls:", new_controls(rd, v, DEV))
    hs = stress_hits(stress_stats(feats), name, p, DEV, feats)
    print(f"stress hits: {len(hs)}", hs[:60])


if __name__ == "__main__" and sys.argv[1] == "fixed":
    fixed(sys.argv[2], sys.argv[3], *sys.argv[4:])


def stress_exact(feats, mod=None) -> dict:
    """H's and W1's stress statistics, with the declared clause "every other rule left it open" applied: every dev song at
    the 3 wrong factors and 19 controls, judged by the shipped analyser (every measure it takes) on a made-up unsure
    tracker's reading (confidence 0.2, a beat grid) at exactly x2 (H) or x1/2 (W1) of the requested pulse; where the
    shipped design leaves it "unreliable", the value the rule compares with its parameter (absent where the rule's other
    conditions fail)."""
    Tm = mod or shipped_module()  # noqa: N806
    orig = Tm.Periodicity, Tm.HarmonicRhythm
    out = {"H": {}, "W1": {}}
    try:
        for sid, f in feats.items():
            per, har = _Per(f["envs"]), _Har(*f["chord"])
            Tm.Periodicity, Tm.HarmonicRhythm = (lambda y, sr, p=per: p), (lambda y, sr, h=har: h)
            env, fps = f["envs"][0]
            dur = len(env) / fps
            for fac in (1.1, 0.9, 0.75, *CONTROLS):
                k = (sid, round(fac, 4))
                _p, ref, _acc = Tm.expected_pulse(f["bpm"] * fac, f["ts"])
                for name, mult in (("H", 2.0), ("W1", 0.5)):
                    b = ref * mult
                    bt = Tm.BeatTrack(bpm=b, beats_s=[float(x) for x in np.arange(0.3, dur, 60.0 / b)], confidence=0.2)
                    r = Tm.analyze_tempo(np.zeros(16, np.float32), f["sr"], target_bpm=f["bpm"] * fac,
                                         time_signature=f["ts"], beat_track=bt)
                    row = dict(r=r, shipped=r.verdict, per=per, har=har)
                    if r.verdict != "unreliable":
                        continue
                    if name == "H" and cand_h(row, -1.0) == "pass":
                        out["H"][k] = r.harmony_beat_contrast
                    if name == "W1" and cand_w1(row, 0.0) == "pass":
                        out["W1"][k] = r.salience_request_only / r.salience_tracked
    finally:
        Tm.Periodicity, Tm.HarmonicRhythm = orig
    return out


if __name__ == "__main__" and sys.argv[1] == "stress_exact":
    _f = load_feats(sys.argv[2])
    for _n, _d in stress_exact(_f).items():
        _v = sorted(((v, k) for k, v in _d.items()), reverse=True)
        print(_n, len(_v), [(round(v, 3), k[0][:28], k[1], _f[k[0]]["split"]) for v, k in _v[:30]])


if __name__ == "__main__" and sys.argv[1] == "loso":
    loso(sys.argv[2], sys.argv[3:] or None)
