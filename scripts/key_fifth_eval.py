"""Key, fifth pass (docs/analysis.md): score candidate tonic cues on the dev splits from the
features `scripts/key_features.py` dumped, leave-one-split-out.

    .venv/bin/python scripts/key_fifth_eval.py FEATURES.pkl [check | search | modal | margin WEIGHTS | classifier TRAIN.pkl]

FEATURES.pkl: scripts/key_features.py, then scripts/key_bass_cqt.py (the CQT bass cues); TRAIN.pkl:
scripts/key_train_features.py on the songs of scripts/key_training_songs.py.

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


def modal_profiles() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mixolydian (major profile with b7 and 7 swapped) and dorian (minor profile with b6 and 6
    swapped) versions of each profile, tonic first."""
    out = {}
    for name, (maj, mnr) in PROFILES.items():
        mix, dor = np.array(maj), np.array(mnr)
        mix[[10, 11]] = mix[[11, 10]]
        dor[[8, 9]] = dor[[9, 8]]
        out[name] = (mix, dor)
    return out


_MODAL = modal_profiles()


def modal_corr(pcp: np.ndarray) -> np.ndarray:
    """(24,): mean KK+Temperley correlation with the mixolydian (labelled major, 0-11) and dorian
    (labelled minor, 12-23) profiles of every tonic."""
    out = np.zeros(24)
    if np.ptp(pcp) == 0:
        return out
    for name in ("krumhansl", "temperley"):
        for m, prof in enumerate(_MODAL[name]):
            for t in range(12):
                out[m * 12 + t] += np.corrcoef(pcp, np.roll(prof, t))[0, 1]
    return out / 2


def cues(d: dict) -> dict[str, np.ndarray]:
    """Every candidate cue as a 24-vector (higher = more evidence for that key)."""
    hp, b = d["hpcp"], d["bass"]
    out = {}
    out["profile"] = profile_corr_all(hp.mean(axis=0))
    out["modal"] = modal_corr(hp.mean(axis=0).astype(float))
    out["dorian"] = out["modal"].copy()
    out["dorian"][:12] = -9.0  # dorian profiles only (labelled minor), no mixolydian ones
    bm = norm(b.sum(axis=0))
    out["bass_profile"] = profile_corr_all(bm)
    out["bass_share"] = tonic_vec(bm)
    for v in ("bass130", "bass180", "low_note"):
        if v in d:
            out[v + "_share"] = tonic_vec(norm(d[v].sum(axis=0)))
    for v in ("cqt_bass", "cqt_bass2"):
        if v in d:
            c = d[v]
            out[v + "_share"] = tonic_vec(norm(c.sum(axis=0)))
            e = c.sum(axis=1)
            live = e > 0.05 * e.max() if e.max() > 0 else e > 0
            out[v + "_argmax"] = tonic_vec(norm(np.bincount(c[live].argmax(axis=1), minlength=12).astype(float)))
    # frame-normalised: every frame with bass counts the same, whatever its loudness
    rows = b / np.maximum(b.sum(axis=1, keepdims=True), 1e-12)
    out["bass_share_frames"] = tonic_vec(norm(rows.sum(axis=0)))
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
    if "modal_penalty" in weights:  # the best of the tonal and the modal profile of each labelled key
        s = np.maximum(s, c["modal"] - weights["modal_penalty"])
    if "dorian_penalty" in weights:
        s = np.maximum(s, c["dorian"] - weights["dorian_penalty"])
    weights = {k: v for k, v in weights.items() if k not in ("modal_penalty", "dorian_penalty")}
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


def check_shipped(data: list[dict]) -> None:
    """The offline evaluation with no cue must reproduce the tests' figures of the shipped estimator."""
    for s in SPLITS:
        sh = [d for d in data if d["split"] == s]
        print(s, len(sh), "shipped(test)", round(np.mean([d["shipped"]["mirex_score"] for d in sh]), 3),
              "offline", evaluate(data, {}, split=s))
    return 0


GRID = (0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0)
SINGLE = ("cqt_bass_share", "cqt_bass2_share", "cqt_bass_argmax", "cqt_bass2_argmax", "bass130_share", "bass180_share",
          "low_note_share", "bass_share_frames", "bass_profile", "bass_share", "beat_bass_share", "beat_bass_profile",
          "cadence", "cadence_plagal", "end_bass", "start_bass")


def loso(data: list[dict], space: list[dict[str, float]], **kw) -> tuple[list[dict], list[dict]]:
    """For each split: the weights chosen on the other three (criterion), scored on it."""
    per = {}
    for w in space:
        per[tuple(sorted(w.items()))] = {s: evaluate(data, w, split=s, **kw) for s in SPLITS}
    out, chosen = [], []
    for held in SPLITS:
        best = max(per, key=lambda k: rank_key([per[k][s] for s in SPLITS if s != held]))
        chosen.append(dict(best))
        out.append(per[best][held])
    return out, chosen, per


def report(name: str, res: list[dict], chosen=None) -> None:
    print(f"{name:40s} " + " ".join(f"{r['mirex']:.3f}/{r['minor']:.3f}/{r['unflagged']}" for r in res)
          + f"  worst {min(r['mirex'] for r in res):.3f} minor {min(r['minor'] for r in res):.3f}"
          + f" unfl {sum(r['unflagged'] for r in res)}" + (f"  w {chosen}" if chosen else ""))


def search(data: list[dict]) -> None:
    report("shipped", [evaluate(data, {}, split=s) for s in SPLITS])
    for cue in SINGLE:
        res, chosen, per = loso(data, [{cue: w} for w in GRID])
        report(cue + " LOSO", res, [c[cue] for c in chosen])
        allfit = max(per, key=lambda k: rank_key(list(per[k].values())))
        report(cue + " all-4 fit", list(per[allfit].values()), dict(allfit))
    for a, b in itertools.combinations(SINGLE[:-1], 2):
        res, chosen, per = loso(data, [{a: wa, b: wb} for wa in GRID for wb in GRID])
        report(f"{a}+{b} LOSO", res, [(c[a], c[b]) for c in chosen])




# ---- a conditional-logit over rotation-invariant features, trained on generated songs only ----

CUE_FEATURES = ("profile", "modal", "bass_share", "cqt_bass_share", "end_bass", "start_bass")


def cand_features(d: dict) -> np.ndarray:
    """(24, F): each key's cues (`CUE_FEATURES`), each centred over the 24 keys."""
    X = np.stack([d["cues"][c] for c in CUE_FEATURES], axis=1)
    return X - X.mean(axis=0)


def cand_features_chroma(d: dict) -> np.ndarray:
    """(24, F): for each key, the chroma and bass chroma rotated to its tonic (sum-normalised), and
    the key's profile correlation."""
    hp = norm(d["hpcp"].mean(axis=0).astype(float))
    bs = norm(d["bass"].sum(axis=0).astype(float))
    prof = d["cues"]["profile"]
    rows = []
    for k in range(24):
        t = k % 12
        rows.append(np.concatenate([np.roll(hp, -t), np.roll(bs, -t), [prof[k]]]))
    return np.array(rows)


def logit_scores(theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    f = X.shape[1]
    return np.concatenate([X[:12] @ theta[:f], X[12:] @ theta[f:]])


def train_logit(train: list[dict], l2: float) -> np.ndarray:
    from scipy.optimize import minimize

    Xs = [cand_features(d) for d in train]
    ys = [KEYS.index(next(k for k in KEYS if k.pitch_class == parse_key(d["key"]).pitch_class
                          and k.mode == parse_key(d["key"]).mode)) for d in train]
    f = Xs[0].shape[1]

    def loss(th):
        tot, g = 0.0, np.zeros_like(th)
        for X, y in zip(Xs, ys):
            s = logit_scores(th, X)
            s = s - s.max()
            p = np.exp(s) / np.exp(s).sum()
            tot -= np.log(p[y] + 1e-300)
            # grad: sum_k p_k x_k - x_y, split by mode
            gx = np.zeros_like(th)
            gx[:f] = p[:12] @ X[:12]
            gx[f:] = p[12:] @ X[12:]
            gx[(0 if y < 12 else f):(f if y < 12 else 2 * f)] -= X[y]
            g += gx
        return tot / len(Xs) + l2 * th @ th, g / len(Xs) + 2 * l2 * th

    return minimize(loss, np.zeros(2 * f), jac=True, method="L-BFGS-B").x


def classifier_search(data: list[dict], train: list[dict]) -> None:
    for d in train:
        d["cues"] = cues(d)
    for l2 in (0.0001, 0.001, 0.01, 0.1):
        th = train_logit(train, l2)
        # training fit
        acc = np.mean([KEYS[int(np.argmax(logit_scores(th, cand_features(d))))].canonical
                       == parse_key(d["key"]).canonical for d in train])
        for d in data:
            s = logit_scores(th, cand_features(d))
            d["cues"][f"logit{l2}"] = (s - s.mean()) / 10
        print(f"l2 {l2}: train accuracy {acc:.3f}")
        space = [{f"logit{l2}": w} for w in (0, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 20, 100)]
        res, chosen, per = loso(data, space)
        report(f"logit l2={l2} LOSO", res, [c[f"logit{l2}"] for c in chosen])
        for w in (0.3, 1, 5, 100):
            report(f"  logit l2={l2} w={w}", list(per[((f"logit{l2}", w),)].values()))




def margin_loso(data: list[dict], weights: dict[str, float], any_runner: bool) -> None:
    """The fourth pass's flag rule, leave-one-split-out: the margin leaving fewest wrong keys unflagged
    while flagging at most half of the right ones in every training split (ties: the smaller margin)."""
    grid = [round(x, 2) for x in np.arange(0.0, 0.31, 0.01)]
    per = {m: {s: evaluate(data, weights, margin=m, any_runner=any_runner, split=s) for s in SPLITS} for m in grid}
    for held in SPLITS:
        train = [s for s in SPLITS if s != held]
        ok = [m for m in grid if all(per[m][s]["right_flagged"] <= (per[m][s]["n"] - per[m][s]["wrong"]) / 2
                                     for s in train)]
        best = min(ok, key=lambda m: (sum(per[m][s]["unflagged"] for s in train), m))
        r = per[best][held]
        print(f"  any_runner={any_runner} held {held}: margin {best} -> unflagged {r['unflagged']} of {r['wrong']} "
              f"wrong, right flagged {r['right_flagged']} of {r['n'] - r['wrong']}")
    for m in (0.1, 0.15, 0.2):
        print("  margin", m, [(s, per[m][s]["unflagged"], per[m][s]["right_flagged"]) for s in SPLITS])




def modal_search(data: list[dict]) -> None:
    pen = (0, 0.02, 0.05, 0.1, 0.2, 9.0)
    for name, key in (("dorian", "dorian_penalty"), ("modal", "modal_penalty")):
        res, chosen, _ = loso(data, [{key: p} for p in pen])
        report(f"{name} profiles LOSO", res, [c[key] for c in chosen])
        res, chosen, _ = loso(data, [{key: p, "bass_share": w} for p in pen for w in GRID])
        report(f"{name} + bass_share LOSO", res, [(c[key], c["bass_share"]) for c in chosen])
        for m in (0.13, 0.15):
            res, chosen, _ = loso(data, [{key: p, "bass_share": w} for p in pen for w in GRID], margin=m)
            report(f"  same, margin {m}", res)


def main() -> int:
    """FEATURES.pkl [check | search | modal | margin WEIGHTS | classifier TRAIN.pkl[,TRAIN2.pkl]]"""
    import ast

    data = pickle.load(open(sys.argv[1], "rb"))
    for d in data:
        d["cues"] = cues(d)
    what = sys.argv[2] if len(sys.argv) > 2 else "check"
    if what == "check":
        check_shipped(data)
    elif what == "search":
        search(data)
    elif what == "modal":
        modal_search(data)
    elif what == "margin":  # e.g. "{'dorian_penalty': 0}"
        weights = ast.literal_eval(sys.argv[3])
        margin_loso(data, weights, any_runner=False)
        margin_loso(data, weights, any_runner=True)
    elif what == "classifier":
        classifier_search(data, [x for p in sys.argv[3].split(",") for x in pickle.load(open(p, "rb"))])
    else:
        raise SystemExit(main.__doc__)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
