"""Key, fifth pass (docs/analysis.md): score candidate tonic cues on the dev splits from the
features `scripts/key_features.py` dumped, leave-one-split-out.

    .venv/bin/python scripts/key_fifth_eval.py FEATURES.pkl

Criterion (written before scoring, docs/analysis.md "Key, fifth pass"): best worst-split MIREX,
ties (within 0.01) by worst-split minor MIREX, then fewest wrong keys unflagged. A fitted weight is
chosen on three splits by that criterion and scored on the fourth.
"""

from __future__ import annotations

import itertools
import pickle
import sys

import numpy as np

from acekit.analysis.key import PROFILES, _SCORES, key_correlations, key_relation
from acekit.keys import parse_key

SPLITS = ("calibrate", "holdout", "holdout2", "holdout3")
KEYS = [parse_key(f"{n} {m}") for m in ("major", "minor")
        for n in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")]


def profile_corr_all(v: np.ndarray) -> np.ndarray:
    return key_correlations(v) if np.ptp(v) > 0 else np.zeros(24)


def tonic_vec(share: np.ndarray) -> np.ndarray:
    """24-vector: the share of pitch class (tonic) for each key."""
    return np.concatenate([share, share])


def norm(v: np.ndarray) -> np.ndarray:
    s = v.sum()
    return v / s if s > 0 else v


def beat_bass(d: dict) -> np.ndarray:
    """Per-beat bass chroma (mean of frames within each beat), rows unnormalised."""
    t, b = d["times"], d["bass"]
    beats = d["beats"]
    if len(beats) < 2:
        return np.zeros((0, 12))
    edges = np.concatenate([beats, [beats[-1] + np.median(np.diff(beats))]])
    out = []
    for a, z in zip(edges[:-1], edges[1:]):
        sel = (t >= a) & (t < z)
        out.append(b[sel].mean(axis=0) if sel.any() else np.zeros(12))
    return np.array(out)


def cues(d: dict) -> dict[str, np.ndarray]:
    """Every candidate cue as a 24-vector (higher = more evidence for that key)."""
    hp, b = d["hpcp"], d["bass"]
    out = {}
    out["profile"] = profile_corr_all(hp.mean(axis=0))
    bm = norm(b.sum(axis=0))
    out["bass_profile"] = profile_corr_all(bm)
    out["bass_share"] = tonic_vec(bm)
    # bass share with the fifth (tonic 1, dominant 0.5 ... no): tonic minus the mean of the other
    bb = beat_bass(d)
    if len(bb):
        top = bb.argmax(axis=1)
        strong = bb.max(axis=1) > 0.1 * np.median(bb.max(axis=1)) if np.median(bb.max(axis=1)) > 0 else bb.max(axis=1) > 0
        hist = norm(np.bincount(top[strong], minlength=12).astype(float))
        out["beat_bass_share"] = tonic_vec(hist)
        out["beat_bass_profile"] = profile_corr_all(hist)
        # cadential bass motion: a bass move by a fifth down / fourth up onto the tonic (V->I),
        # or IV->I (fourth down), as a share of all bass changes
        seq = top[strong]
        ch = [(a, z) for a, z in zip(seq[:-1], seq[1:]) if a != z]
        cad = np.zeros(12)
        for a, z in ch:
            if (a - z) % 12 == 7:  # a fifth above z moves to z
                cad[z] += 1.0
        out["cadence"] = tonic_vec(cad / len(ch)) if ch else np.zeros(24)
        plag = np.zeros(12)
        for a, z in ch:
            if (a - z) % 12 in (7, 5):
                plag[z] += 1.0
        out["cadence_plagal"] = tonic_vec(plag / len(ch)) if ch else np.zeros(24)
    else:
        for k in ("beat_bass_share", "beat_bass_profile", "cadence", "cadence_plagal"):
            out[k] = np.zeros(24)
    # the end: bass of the last 2 s with sound
    e = d["energy"]
    live = np.nonzero(e > 0.01 * e.max())[0] if e.max() > 0 else np.array([], int)
    if live.size:
        last_t = d["times"][live[-1]]
        sel = (d["times"] > last_t - 2.0) & (d["times"] <= last_t)
        out["end_bass"] = tonic_vec(norm(b[sel].sum(axis=0)))
        first_t = d["times"][live[0]]
        sel = (d["times"] >= first_t) & (d["times"] < first_t + 2.0)
        out["start_bass"] = tonic_vec(norm(b[sel].sum(axis=0)))
    else:
        out["end_bass"] = out["start_bass"] = np.zeros(24)
    return out


def estimate(c: dict[str, np.ndarray], weights: dict[str, float]) -> tuple[int, float, int, float]:
    s = c["profile"].copy()
    for k, w in weights.items():
        s = s + w * c[k]
    o = np.argsort(-s)
    return int(o[0]), float(s[o[0]]), int(o[1]), float(s[o[0]] - s[o[1]])


def evaluate(data: list[dict], weights: dict[str, float], margin: float = 0.15, any_runner: bool = False,
             edma_flag: bool = True, split: str | None = None) -> dict:
    rows = [d for d in data if split is None or d["split"] == split]
    sc, minor, unflag, wrong, right_flag = [], [], 0, 0, 0
    for d in rows:
        k, strength, r, m = estimate(d["cues"], weights)
        truth = parse_key(d["key"])
        est, run = KEYS[k], KEYS[r]
        s = _SCORES[key_relation(truth, est)]
        prof_strength = d["cues"]["profile"][k]
        flagged = d["duration"] < 3 or prof_strength < 0.5
        if not flagged and m < margin:
            rel = key_relation(est, run)
            if rel == "other" and key_relation(run, est) == "fifth":
                rel = "fifth"
            flagged = any_runner or rel != "other"
        if not flagged and edma_flag:
            e = parse_key(d["edma"])
            flagged = (e.pitch_class, e.mode) != (est.pitch_class, est.mode)
        sc.append(s)
        if truth.mode == "minor":
            minor.append(s)
        if s < 1:
            wrong += 1
            unflag += not flagged
        elif flagged:
            right_flag += 1
    return {"mirex": float(np.mean(sc)), "minor": float(np.mean(minor)) if minor else 1.0, "wrong": wrong,
            "unflagged": unflag, "right_flagged": right_flag, "n": len(rows)}


def rank_key(per: list[dict]) -> tuple:
    """Criterion: best worst MIREX (0.01 bins), then best worst minor, then fewest unflagged."""
    worst = min(p["mirex"] for p in per)
    return (round(worst, 3), min(p["minor"] for p in per), -sum(p["unflagged"] for p in per))


def main() -> int:
    data = pickle.load(open(sys.argv[1], "rb"))
    for d in data:
        d["cues"] = cues(d)
    # shipped, for the check against the tests' figures
    for s in SPLITS:
        sh = [d for d in data if d["split"] == s]
        print(s, len(sh), "shipped(test)", round(np.mean([d["shipped"]["mirex_score"] for d in sh]), 3),
              "offline", evaluate(data, {}, split=s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
