"""Tempo, twelfth pass (notes/tempo-twelfth-pass.md): a committee of beat tracks on several onset functions, the
sequence chosen by maximum mean mutual agreement, the agreement a confidence; used as a second opinion where the
shipped design says "unreliable" (or, for the R candidates, on any verdict). Scored offline on the thirteen dev
splits, leave-one-split-out, from the eleventh pass's feature cache (the onset envelopes and the chord-change
novelty are stored there, so no audio is read).

    .venv/bin/python scripts/tempo_twelfth_dev.py cache OUT_DIR FEAT_DIR
    .venv/bin/python scripts/tempo_twelfth_dev.py loso OUT_DIR FEAT_DIR [CANDIDATE ...]
    THETA=0.8 .venv/bin/python scripts/tempo_twelfth_dev.py look OUT_DIR FEAT_DIR CANDIDATE

The split filter is the eleventh pass's explicit allow-list of the thirteen dev splits (holdout13 and the
recordings are never read).
"""
from __future__ import annotations

import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SHIPPED_TEMPO_PY", "/tmp/tempo12/tempo_shipped.py")

import tempo_tenth_dev as D  # noqa: E402

from acekit.analysis import tempo as T  # noqa: E402

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9", "holdout10", "holdout11", "holdout12")
D.DEV = DEV
TOL = T.DEFAULT_TEMPO_TOLERANCE_PCT
GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
WINDOW_S = 0.07  # the usual +-70 ms beat F-measure window
MEMBERS_L = ("flux", "bass", "chord", "mix")
MEMBERS_E = ("essentia",) + MEMBERS_L
MEMBERS_P = MEMBERS_E + ("flux60", "bass60", "chord60", "mix60")  # pool part 2 (added late): prior diversity


def dp_beats(env: np.ndarray, fps: float, start_bpm: float = 120.0) -> np.ndarray:
    """librosa's dynamic-programming beat tracker (Ellis 2007) on a precomputed onset envelope, beat times in s."""
    import librosa

    if env.size < 64 or not np.any(env > 0):
        return np.zeros(0)
    _t, b = librosa.beat.beat_track(onset_envelope=np.asarray(env, float), sr=fps, hop_length=1, units="time",
                                     start_bpm=start_bpm)
    return np.asarray(b, float)


def mix_env(envs) -> tuple[np.ndarray, float]:
    """Mean of the log-mel flux and the bass pitch flux, each scaled to unit maximum (the same frame rate)."""
    (a, fa), (b, _fb) = envs
    n = min(a.size, b.size)
    if n == 0:
        return np.zeros(0), fa
    a, b = a[:n], b[:n]
    return 0.5 * (a / (a.max() + 1e-12) + b / (b.max() + 1e-12)), fa


def agreement(a: np.ndarray, b: np.ndarray, window_s: float = WINDOW_S) -> float:
    """Beat F-measure of two beat sequences (symmetric): one-to-one matches within ``window_s``, 2M / (|a| + |b|)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    i = j = m = 0
    while i < len(a) and j < len(b):
        d = a[i] - b[j]
        if abs(d) <= window_s:
            m, i, j = m + 1, i + 1, j + 1
        elif d < 0:
            i += 1
        else:
            j += 1
    return 2.0 * m / (len(a) + len(b))


def committee(tracks: dict, names) -> tuple[str, float, float]:
    """(chosen member, its mean agreement with the others, its tempo from the median beat interval)."""
    best = None
    for k in names:
        mma = float(np.mean([agreement(tracks[k], tracks[o]) for o in names if o != k]))
        if best is None or mma > best[1] + 1e-12:
            best = (k, mma)
    b = tracks[best[0]]
    bpm = 60.0 / float(np.median(np.diff(b))) if len(b) >= 2 else 0.0
    return best[0], best[1], bpm


def cache60(out_dir: str, feat_dir: str) -> None:
    """Pool part 2 (added late): the four librosa members again with the tempo prior at 60 BPM."""
    tracks = pickle.load(open(Path(out_dir) / "committee.pkl", "rb"))
    feats = D.load_feats(feat_dir)
    t0 = time.time()
    for i, (sid, f) in enumerate(feats.items()):
        tr = tracks[sid]
        tr["flux60"] = dp_beats(*f["envs"][0], start_bpm=60.0)
        tr["bass60"] = dp_beats(*f["envs"][1], start_bpm=60.0)
        tr["chord60"] = dp_beats(*f["chord"], start_bpm=60.0)
        tr["mix60"] = dp_beats(*mix_env(f["envs"]), start_bpm=60.0)
        if i % 100 == 0:
            print(f"{i} {sid} {time.time() - t0:.1f}s", flush=True)
    pickle.dump(tracks, open(Path(out_dir) / "committee.pkl", "wb"))
    print(f"{len(tracks)} songs {time.time() - t0:.1f}s")


def cache(out_dir: str, feat_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feats = D.load_feats(feat_dir)
    tracks = {}
    t0 = time.time()
    for i, (sid, f) in enumerate(feats.items()):
        assert f["split"] in DEV
        tr = {"essentia": np.asarray(f["bt"].beats_s, float)}
        tr["flux"] = dp_beats(*f["envs"][0])
        tr["bass"] = dp_beats(*f["envs"][1])
        tr["chord"] = dp_beats(*f["chord"])
        tr["mix"] = dp_beats(*mix_env(f["envs"]))
        tracks[sid] = tr
        if i < 3 or i % 50 == 0:
            print(f"{i} {sid} {time.time() - t0:.1f}s", flush=True)
    pickle.dump(tracks, open(out / "committee.pkl", "wb"))
    print(f"{len(tracks)} songs {time.time() - t0:.1f}s")


# ---- candidates of the pool ------------------------------------------------------------------------------------------
def at_accepted(c: float, request_bpm: float, ts) -> bool:
    acc = T.expected_pulse(request_bpm, ts)[2]
    return c > 0 and any(abs(c / a - 1.0) * 100.0 <= TOL for a in acc)


def is_off(c: float, request_bpm: float, ts) -> bool:
    """The committee's tempo is no metrical reading (x1, 2, 1/2, 3/2, 2/3, 3, 1/3) of any accepted pulse."""
    acc = T.expected_pulse(request_bpm, ts)[2]
    return c > 0 and all(T.tempo_relation(c, a, tolerance_pct=TOL) == "off" for a in acc)


def verdict(kind: str, sh: str, c: float, a: float, request_bpm: float, ts, theta: float) -> str:
    """kind: "K+" pass only, on unreliable; "K+-" pass or fail (elsewhere), on unreliable; "K+-off" pass, or fail only
    when the committee's tempo is off every metrical level, on unreliable; "RK+-" as K+- on any verdict."""
    if kind != "RK+-" and sh != "unreliable":
        return sh
    if a < theta - 1e-12 or c <= 0:
        return sh
    if at_accepted(c, request_bpm, ts):
        return "pass"
    if kind in ("K+-", "RK+-"):
        return "fail"
    if kind == "K+-off" and is_off(c, request_bpm, ts):
        return "fail"
    return sh


POOL = {f"{k}{m}": (k, m) for m in ("E", "L") for k in ("K+", "K+-", "K+-off", "RK+-")}
POOL.update({"K+P": ("K+", "P"), "K+-offP": ("K+-off", "P")})  # pool part 2 (added late)


def readings(feat_dir: str):
    feats = D.load_feats(feat_dir)
    return feats, D.readings(feats)


def chosen(tracks, members) -> dict:
    names = {"E": MEMBERS_E, "L": MEMBERS_L, "P": MEMBERS_P}[members]
    return {sid: committee(tr, names) for sid, tr in tracks.items()}


def verdicts(rd, ch, kind, theta) -> dict:
    out = {}
    for k, row in rd.items():
        sid, fac = k
        _m, a, c = ch[sid]
        f = row["f"]
        out[k] = verdict(kind, row["shipped"], c, a, f["bpm"] * fac, f["ts"], theta)
    return out


def bad(rd, v, splits) -> list:
    return D.added_wrong(rd, v, splits) + D.new_controls(rd, v, splits)


def choose_theta(rd, ch, kind, splits):
    best = None
    for th in GRID:
        v = verdicts(rd, ch, kind, th)
        if bad(rd, v, splits):
            continue
        t = D.tally(rd, v, splits)
        key = (round(min(r / n for r, _w, n in t.values()), 9), sum(r for r, _w, _n in t.values()), th)
        if best is None or key > best[0]:
            best = (key, th)
    return None if best is None else best[1]


def fmt(t) -> str:
    return " ".join(f"{s}:{r}/{w}/{n - r - w}" for s, (r, w, n) in t.items())


def loso(out_dir: str, feat_dir: str, names=None) -> None:
    t0 = time.time()
    tracks = pickle.load(open(Path(out_dir) / "committee.pkl", "rb"))
    feats, rd = readings(feat_dir)
    base = {k: row["shipped"] for k, row in rd.items()}
    bt = D.tally(rd, base, DEV)
    print(f"readings {time.time() - t0:.0f}s; shipped: {fmt(bt)} worst {min(r / n for r, _w, n in bt.values()):.4f}"
          f" total {sum(r for r, _w, _n in bt.values())} of {sum(n for _r, _w, n in bt.values())}; controls passing "
          f"{sum(1 for k, row in rd.items() if row['want'] == 'control' and base[k] == 'pass')}", flush=True)
    sets = sorted({POOL[n][1] for n in (names or POOL)})
    chs = {m: chosen(tracks, m) for m in sets}
    for m, ch in chs.items():
        right = sum(at_accepted(ch[sid][2], f["bpm"], f["ts"]) for sid, f in feats.items())
        mem = {}
        for x in ch.values():
            mem[x[0]] = mem.get(x[0], 0) + 1
        print(f"committee {m}: chosen tempo at an accepted pulse of the own tempo on {right}/{len(feats)} songs; "
              f"chosen members {mem}", flush=True)
    ess = sum(at_accepted(f["bt"].bpm, f["bpm"], f["ts"]) for f in feats.values())
    print(f"essentia tracker alone: {ess}/{len(feats)}", flush=True)
    for name in names or POOL:
        kind, m = POOL[name]
        ch = chs[m]
        per_fold, total, held_bad = {}, 0, []
        for s in DEV:
            others = tuple(x for x in DEV if x != s)
            rd_in = {k: r for k, r in rd.items() if r["split"] in others}
            th = choose_theta(rd_in, ch, kind, others)
            rd_s = {k: r for k, r in rd.items() if r["split"] == s}
            v = {k: base[k] for k in rd_s} if th is None else verdicts(rd_s, ch, kind, th)
            r_, w_, n_ = D.tally(rd_s, v, (s,))[s]
            per_fold[s] = (th, r_, w_, n_)
            total += r_
            held_bad += bad(rd_s, v, (s,))
        worst = min(r / n for _t, r, _w, n in per_fold.values())
        print(f"{name}: LOSO worst {worst:.4f} total {total}; folds (theta r/w/u) "
              + " ".join(f"{s}:{t}:{r}/{w}/{n - r - w}" for s, (t, r, w, n) in per_fold.items())
              + f"; held-out added wrong / new controls: {held_bad} [{time.time() - t0:.0f}s]", flush=True)


def look(out_dir: str, feat_dir: str, name: str) -> None:
    tracks = pickle.load(open(Path(out_dir) / "committee.pkl", "rb"))
    _feats, rd = readings(feat_dir)
    kind, m = POOL[name]
    ch = chosen(tracks, m)
    for th in GRID:
        v = verdicts(rd, ch, kind, th)
        t = D.tally(rd, v, DEV)
        print(f"theta {th}: total {sum(r for r, _w, _n in t.values())} bad {bad(rd, v, DEV)}")
    th = float(os.environ.get("THETA", "0.8"))
    v = verdicts(rd, ch, kind, th)
    for k in sorted(k for k in v if v[k] != rd[k]["shipped"]):
        row = rd[k]
        r = row["r"]
        print(f"{row['split']:9s} {k[0]:34s} x{k[1]:<6} {row['want']:7s} {r.time_signature} pulse={r.pulse_bpm} "
              f"trk={r.bpm} c={r.confidence} {r.relation} {row['shipped']}->{v[k]} committee={ch[k[0]]}")


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "cache60":
        cache60(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "loso":
        loso(sys.argv[2], sys.argv[3], sys.argv[4:] or None)
    elif sys.argv[1] == "look":
        look(sys.argv[2], sys.argv[3], sys.argv[4])
