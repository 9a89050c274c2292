"""Tempo, eleventh pass (notes/tempo-eleventh-pass.md): choose the music's beat from the audio alone (a conditional
logit over candidate beats), then compare the request with it; scored offline on the thirteen dev splits, nested
leave-one-split-out, from features cached once per song (the tenth pass's cache).

    .venv/bin/python scripts/tempo_eleventh_dev.py cache OUT_DIR RENDERED_SET_DIR [SPLIT ...]
    .venv/bin/python scripts/tempo_eleventh_dev.py loso OUT_DIR [CANDIDATE ...]
    THETA=0.85 .venv/bin/python scripts/tempo_eleventh_dev.py look OUT_DIR CANDIDATE

``cache`` reads the rendered set through its manifest.json only (never renders) and loads only the thirteen dev splits
(an explicit allow-list: holdout13 and the recordings are never read). ``loso`` scores the declared pool (both parts);
``look`` prints what a candidate changes on all thirteen from out-of-split probabilities. Nothing was frozen (notes).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SHIPPED_TEMPO_PY", "/tmp/tempo11/tempo_shipped.py")

import tempo_tenth_dev as D  # noqa: E402

from acekit.analysis import tempo as T  # noqa: E402

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9", "holdout10", "holdout11", "holdout12")
D.DEV = DEV  # the tenth pass's cache / load / tally read this allow-list
TOL = T.DEFAULT_TEMPO_TOLERANCE_PCT
GRID = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)

# ---- the beat-choice model (request-independent) ---------------------------------------------------------------------
LEVELS = ((1.0, "T"), (0.5, "oct"), (2.0, "oct"), (2 / 3, "tern"), (1.5, "tern"), (1 / 3, "three"), (3.0, "three"))
PEAK_RANGE, N_PEAKS, C_RANGE = (30.0, 300.0), 3, (25.0, 330.0)
A_NAMES = ("s", "s_half", "s_double", "z", "z2", "isT", "oct", "tern", "three", "peak", "confT", "confOct",
           "comp_z", "cut_z", "tern_meter")
B_NAMES = A_NAMES + ("h", "h_half", "alt")
C_NAMES = B_NAMES + ("s_bar", "h_bar")  # pool part 2 (added late)
NONE_NAMES = ("none", "none_conf")


def onset_peaks(per, lo=PEAK_RANGE[0], hi=PEAK_RANGE[1], n=N_PEAKS) -> list[float]:
    """The ``n`` highest local maxima of the onset periodicity over ``lo``-``hi`` BPM (1 % log grid), as BPM."""
    bpms = np.exp(np.arange(np.log(lo), np.log(hi) + 1e-9, np.log(1.01)))
    curve = np.array([per.at(60.0 / b) for b in bpms])
    idx = [i for i in range(1, len(curve) - 1) if curve[i] > curve[i - 1] and curve[i] >= curve[i + 1]]
    idx.sort(key=lambda i: -curve[i])
    return [float(bpms[i]) for i in idx[:n]]


def _meter_flags(ts) -> tuple[bool, bool, bool]:
    num, den = T._meter(ts)
    compound = den == 8 and num % 3 == 0 and num >= 6
    return compound, den == 2, compound or (num == 3 and den == 4) or (num == 9 and den == 8)


def candidates(per, tracked_bpm: float) -> list[dict]:
    """Candidate beats (BPM) with their flags: the tracker's metrical levels and the onset-periodicity peaks."""
    out: list[dict] = []

    def add(c, kind):
        if not (C_RANGE[0] <= c <= C_RANGE[1]):
            return
        for d in out:
            if abs(c / d["bpm"] - 1.0) * 100.0 <= TOL:
                d[kind] = 1.0
                return
        out.append({"bpm": c, "isT": 0.0, "oct": 0.0, "tern": 0.0, "three": 0.0, "peak": 0.0, kind: 1.0})

    if tracked_bpm > 0:
        for r, kind in LEVELS:
            add(tracked_bpm * r, "isT" if kind == "T" else kind)
    for p in onset_peaks(per):
        add(p, "peak")
    return out


def features(per, har, bt, ts, full: bool) -> tuple[list[float], np.ndarray, np.ndarray]:
    """(candidate BPMs, candidate feature rows, the "none" row): nothing here reads a requested tempo."""
    compound, cut, tern_meter = _meter_flags(ts)
    conf = float(bt.confidence)
    cands = candidates(per, float(bt.bpm))
    alt = None
    rows = []
    for d in cands:
        c = d["bpm"]
        L = 60.0 / c
        s = per.at(L)
        z = float(np.log2(c / 100.0))
        row = [s, s - per.at(L / 2), s - per.at(2 * L), z, z * z, d["isT"], d["oct"], d["tern"], d["three"], d["peak"],
               conf * d["isT"], conf * d["oct"], compound * z, cut * z, tern_meter * d["tern"]]
        if full:
            h = har.at(L)
            a = 0.0
            if bt.bpm > 0 and abs(c / (bt.bpm / 2.0) - 1.0) * 100.0 <= TOL:
                if alt is None:
                    op = per.offbeat_presence(bt.beats_s, 60.0 / bt.bpm) if len(bt.beats_s) else None
                    alt = 0.0 if op is None else T.MAX_OFFBEAT_PRESENCE - op
                a = alt
            row += [h, h - har.at(L / 2), a]
        if full == "C":
            bar = T.pulses_per_bar(ts) * L
            row += [per.at(bar), har.at(bar) - har.at(bar / 2)]
        rows.append(row)
    X = np.asarray(rows, dtype=float) if rows else np.zeros((0, len(C_NAMES if full == "C" else B_NAMES if full
                                                                    else A_NAMES)))
    return [d["bpm"] for d in cands], X, np.array([1.0, conf])


def matches(c: float, accepted) -> bool:
    return any(abs(c / a - 1.0) * 100.0 <= TOL for a in accepted)


def song_table(feats: dict, full: bool) -> dict:
    """{song: dict(bpms, X, xn, right)}: ``right`` the mask of candidates at an accepted pulse of its own tempo."""
    out = {}
    for sid, f in feats.items():
        per, har = D._Per(f["envs"]), D._Har(*f["chord"])
        bt = T.BeatTrack(**f["bt"].model_dump())
        bpms, X, xn = features(per, har, bt, f["ts"], full)
        acc = T.expected_pulse(f["bpm"], f["ts"])[2]
        out[sid] = dict(split=f["split"], bpms=bpms, X=X, xn=xn, right=np.array([matches(c, acc) for c in bpms], bool),
                        ts=f["ts"], bpm=f["bpm"])
    return out


class BeatModel:
    """Conditional logit over a song's candidates and "none"; weights on standardised features, L2 ``lam``."""

    def __init__(self, lam: float = 1.0):
        self.lam = lam

    def fit(self, rows: list[dict]) -> "BeatModel":
        from scipy.optimize import minimize

        allx = np.vstack([r["X"] for r in rows if len(r["X"])])
        self.mu, self.sd = allx.mean(axis=0), allx.std(axis=0) + 1e-9
        k = allx.shape[1]
        rows = [r for r in rows if len(r["X"])]
        X = np.vstack([(r["X"] - self.mu) / self.sd for r in rows])
        XN = np.vstack([r["xn"] for r in rows])
        starts = np.cumsum([0] + [len(r["X"]) for r in rows])[:-1]
        seg = np.repeat(np.arange(len(rows)), [len(r["X"]) for r in rows])
        tc = np.concatenate([r["right"] for r in rows]).astype(float)
        tn = np.array([not r["right"].any() for r in rows], float)

        def nll(w):
            sc, sn = X @ w[:k], XN @ w[k:]
            mx = np.maximum(np.maximum.reduceat(sc, starts), sn)
            ec, en = np.exp(sc - mx[seg]), np.exp(sn - mx)
            z = np.add.reduceat(ec, starts) + en
            pc, pn = ec / z[seg], en / z
            pm = np.add.reduceat(pc * tc, starts) + pn * tn
            pm = np.maximum(pm, 1e-300)
            gc = pc - pc * tc / pm[seg]
            gn = pn - pn * tn / pm
            loss = -float(np.log(pm).sum()) + 0.5 * self.lam * float(w @ w)
            grad = np.concatenate([X.T @ gc, XN.T @ gn]) + self.lam * w
            return loss, grad

        w0 = np.zeros(k + 2)
        res = minimize(nll, w0, jac=True, method="L-BFGS-B", options=dict(maxiter=500))
        self.w = res.x
        return self

    def proba(self, row: dict) -> np.ndarray:
        k = len(self.mu)
        X = (row["X"] - self.mu) / self.sd
        sc = np.append(X @ self.w[:k] if len(X) else np.zeros(0), row["xn"] @ self.w[k:])
        sc -= sc.max()
        p = np.exp(sc)
        return p / p.sum()

    def dump(self, names) -> dict:
        k = len(self.mu)
        return dict(features=list(names), mean=self.mu.tolist(), scale=self.sd.tolist(), weights=self.w[:k].tolist(),
                    none_features=list(NONE_NAMES), none_weights=self.w[k:].tolist(), l2=self.lam)


def p_match_else(bpms, p, request_bpm, ts) -> tuple[float, float, float]:
    """(p_match, p_else, p_pulse): mass at an accepted pulse of the request, elsewhere (not "none"), and at the
    request's expected pulse only (pool part 2's "p")."""
    _n, pulse, acc = T.expected_pulse(request_bpm, ts)
    m = np.array([matches(c, acc) for c in bpms], bool)
    q = np.array([matches(c, (pulse,)) for c in bpms], bool)
    return float(p[:-1][m].sum()), float(p[:-1][~m].sum()), float(p[:-1][q].sum())


# ---- candidates of the pool ------------------------------------------------------------------------------------------
def verdict(kind: str, row: dict, pm: float, pe: float, pp: float, theta: float) -> str:
    """kind: "U+" (pass only, on unreliable), "U+-" (pass or fail, on unreliable), "R+-" (on any verdict), "U+p" (as
    U+, the mass at the request's expected pulse only)."""
    sh = row["shipped"]
    if kind.startswith("U") and sh != "unreliable":
        return sh
    if kind == "U+p":
        return "pass" if pp >= theta - 1e-12 else sh
    if pm >= theta - 1e-12:
        return "pass"
    if kind != "U+" and pe >= theta - 1e-12:
        return "fail"
    return sh


POOL = {"UA+": ("U+", False), "UB+": ("U+", True), "UA+-": ("U+-", False), "UB+-": ("U+-", True),
        "RA+-": ("R+-", False), "RB+-": ("R+-", True),
        "UB+p": ("U+p", True), "UC+": ("U+", "C"), "UC+p": ("U+p", "C")}  # the last three: pool part 2 (added late)
N_PARAMS = {False: len(A_NAMES) + 2 + 1, True: len(B_NAMES) + 2 + 1}


def request_probs(rd: dict, table: dict, probs: dict) -> dict:
    """{(song, factor): (p_match, p_else)}."""
    out = {}
    for k, row in rd.items():
        sid, fac = k
        t = table[sid]
        out[k] = p_match_else(t["bpms"], probs[sid], t["bpm"] * fac, t["ts"])
    return out


def verdicts(rd, pme, kind, theta) -> dict:
    return {k: verdict(kind, row, *pme[k], theta) for k, row in rd.items()}


def bad(rd, v, splits) -> list:
    return D.added_wrong(rd, v, splits) + D.new_controls(rd, v, splits)


def choose_theta(rd, pme, kind, splits):
    best = None
    for th in GRID:
        v = verdicts(rd, pme, kind, th)
        if bad(rd, v, splits):
            continue
        t = D.tally(rd, v, splits)
        key = (round(min(r / n for r, _w, n in t.values()), 9), sum(r for r, _w, _n in t.values()), th)
        if best is None or key > best[0]:
            best = (key, th)
    return None if best is None else best[1]


def fit_probs(table, train_splits) -> dict:
    m = BeatModel().fit([t for t in table.values() if t["split"] in train_splits])
    return m, {sid: m.proba(t) for sid, t in table.items()}


def oos_probs(table, splits) -> dict:
    """Each split's songs' probabilities from a model fitted on the other splits of ``splits``."""
    out = {}
    for s in splits:
        _m, p = fit_probs(table, tuple(x for x in splits if x != s))
        out.update({sid: p[sid] for sid, t in table.items() if t["split"] == s})
    return out


def accuracy(table, probs, splits) -> str:
    n = sum(1 for t in table.values() if t["split"] in splits)
    top = sum(1 for sid, t in table.items() if t["split"] in splits and (
        t["right"][int(np.argmax(probs[sid][:-1]))] if len(t["bpms"]) and np.argmax(probs[sid]) < len(t["bpms"])
        else not t["right"].any()))
    cov = sum(1 for t in table.values() if t["split"] in splits and t["right"].any())
    return f"top choice right {top}/{n}, a right candidate exists {cov}/{n}"


def loso(out_dir: str, names=None) -> None:
    feats = D.load_feats(out_dir)
    rd = D.readings(feats)
    base = {k: row["shipped"] for k, row in rd.items()}
    bt = D.tally(rd, base, DEV)
    print("shipped:", {s: f"{r}/{w}/{n - r - w} {r / n:.1%}" for s, (r, w, n) in bt.items()},
          "worst", f"{min(r / n for r, _w, n in bt.values()):.1%}", "total", sum(r for r, _w, _n in bt.values()),
          "of", sum(n for _r, _w, n in bt.values()), "controls passing",
          sum(1 for k, row in rd.items() if row["want"] == "control" and base[k] == "pass"), flush=True)
    sets = sorted({POOL[n][1] for n in (names or POOL)}, key=str)
    tables = {full: song_table(feats, full) for full in sets}
    # nested: for each held-out split s, out-of-split probabilities of the other twelve (models on eleven), and the
    # held-out split's from a model on the twelve
    nested = {}
    for full in sets:
        table = tables[full]
        nested[full] = {}
        for s in DEV:
            others = tuple(x for x in DEV if x != s)
            _m, p12 = fit_probs(table, others)
            nested[full][s] = (oos_probs(table, others), p12)
        allo = oos_probs(table, DEV)
        label = {False: "A", True: "B", "C": "C"}[full]
        print(f"set {label}: out-of-split beat choice: {accuracy(table, allo, DEV)}", flush=True)
    for name in names or POOL:
        kind, full = POOL[name]
        table = tables[full]
        per_fold, total, held_bad = {}, 0, []
        for s in DEV:
            others = tuple(x for x in DEV if x != s)
            inner, p12 = nested[full][s]
            pme_in = request_probs({k: r for k, r in rd.items() if r["split"] in others}, table, inner)
            rd_in = {k: r for k, r in rd.items() if r["split"] in others}
            th = choose_theta(rd_in, pme_in, kind, others)
            rd_s = {k: r for k, r in rd.items() if r["split"] == s}
            if th is None:
                r_, _w, n_ = D.tally(rd_s, {k: base[k] for k in rd_s}, (s,))[s]
                per_fold[s] = (None, r_, _w, n_)
                total += r_
                continue
            pme_s = request_probs(rd_s, table, p12)
            v = verdicts(rd_s, pme_s, kind, th)
            r_, w_, n_ = D.tally(rd_s, v, (s,))[s]
            per_fold[s] = (th, r_, w_, n_)
            total += r_
            held_bad += bad(rd_s, v, (s,))
        worst = min(r / n for _t, r, _w, n in per_fold.values())
        print(f"{name}: LOSO worst {worst:.1%} total {total}; folds",
              {s: f"{t} {r}/{w}/{n - r - w} {r / n:.1%}" for s, (t, r, w, n) in per_fold.items()},
              "held-out added wrong / new controls:", held_bad, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        D.cache(sys.argv[2], sys.argv[3], tuple(sys.argv[4:]) or DEV)
    elif sys.argv[1] == "loso":
        loso(sys.argv[2], sys.argv[3:] or None)


def look(out_dir: str, name: str) -> None:
    """What a candidate changes at each theta on all thirteen (out-of-split probabilities): the changed verdicts with
    the top candidate, p_match and p_else."""
    feats = D.load_feats(out_dir)
    rd = D.readings(feats)
    kind, full = POOL[name]
    table = song_table(feats, full)
    probs = oos_probs(table, DEV)
    pme = request_probs(rd, table, probs)
    for th in GRID:
        v = verdicts(rd, pme, kind, th)
        t = D.tally(rd, v, DEV)
        ch = sorted((k, rd[k]["split"], rd[k]["want"], rd[k]["shipped"], v[k]) for k in v if v[k] != rd[k]["shipped"])
        print(f"theta {th}: total {sum(r for r, _w, _n in t.values())} bad {bad(rd, v, DEV)} changed {len(ch)}")
    th = float(os.environ.get("THETA", "0.85"))
    v = verdicts(rd, pme, kind, th)
    for k in sorted(k for k in v if v[k] != rd[k]["shipped"]):
        row, t = rd[k], table[k[0]]
        p = probs[k[0]]
        top = np.argsort(-p[:-1])[:3]
        r = row["r"]
        print(f"{row['split']:9s} {k[0]:34s} x{k[1]:<6} {row['want']:7s} {r.time_signature} pulse={r.pulse_bpm} "
              f"trk={r.bpm} c={r.confidence} {r.relation} {row['shipped']}->{v[k]}"
              f" pm={pme[k][0]:.3f} pe={pme[k][1]:.3f}"
              f" none={p[-1]:.2f} top=" + ", ".join(f"{t['bpms'][i]:.1f}:{p[i]:.2f}" for i in top))


if __name__ == "__main__" and sys.argv[1] == "look":
    look(sys.argv[2], sys.argv[3])
