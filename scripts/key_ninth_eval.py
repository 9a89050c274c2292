"""Key, ninth pass (notes/key-ninth-pass.md): evidence of the tonic (phrase ends, held notes, the
lowest note, the last / first seconds) as a re-ranking among the keys of the estimate's diatonic
neighbourhood and/or as a second opinion for the flag; scored offline on the seven dev splits,
leave-one-split-out.

    .venv/bin/python scripts/key_ninth_eval.py DEV.pkl[,DEV2.pkl,...] CORPUS_TRAIN.pkl GEN_TRAIN.pkl [--only PREFIX] [--clips]

DEV: scripts/key_features.py dumps; CORPUS_TRAIN: scripts/key_seventh_train.py; GEN_TRAIN:
scripts/key_train_features.py (generated songs). Per held-out split the ranking's parameters are
chosen on the other six (best worst-split MIREX, ties within 0.01 by worst minor MIREX, then fewest
wrong keys unflagged), then the flag's by the fourth pass's rule (fewest wrong keys unflagged while
flagging at most half of the right keys in every training split). Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from key_seventh_eval import design, norm, prepare, train_logit  # noqa: E402
from key_sixth_eval import rel  # noqa: E402

SPLITS = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6")
REAL = ("holdout4", "holdout5", "holdout6")
_SC = {"same": 1.0, "fifth": 0.5, "relative": 0.3, "parallel": 0.2, "other": 0.0}
K_MARGINS = (0.0, 0.03, 0.05, 0.07, 0.09, 0.11, 0.13, 0.15, 0.17, 0.2, 0.25)
L_MARGINS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
DELTAS = (0.0, 0.02, 0.05, 0.1)
#: added after the first results (notes: the ending-bass flag broke the budget at every delta <= 0.1)
DELTAS_WIDE = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)
T_GRID = (1.0, 2.0, 4.0)
W_K = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
W_L = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0)
RHO = (0.25, 0.5, 1.0)
WEIGHTS = Path(__file__).parent.parent / "notes" / "key-seventh-pass-weights.json"


# ---------------------------------------------------------------- tonic cues
def neighbourhood(best: int) -> list[int]:
    """The 6 keys whose natural scale is within one accidental of ``best``'s, ``best`` first."""
    t = best % 12
    if best < 12:
        return [t, (t + 7) % 12, (t + 5) % 12, 12 + (t + 9) % 12, 12 + (t + 2) % 12, 12 + (t + 4) % 12]
    return [best, 12 + (t + 7) % 12, 12 + (t + 5) % 12, (t + 3) % 12, (t + 10) % 12, (t + 8) % 12]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)


def cues(d: dict) -> dict:
    """name -> 12-bin sum-normalised pitch-class vector (see the notes), plus the ending's decay ratio."""
    hp = np.asarray(d["hpcp"], float)
    lown = np.asarray(d["low_note"], float)
    e = np.asarray(d["energy"], float)
    t = np.asarray(d["times"], float)
    live = e > 1e-3 * e.max() if e.max() > 0 else np.ones(len(e), bool)
    if not live.any():
        live = np.ones(len(e), bool)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.05
    first, last = t[live][0], t[live][-1]
    mean = norm(hp[live].mean(axis=0))
    out = {}
    for T in T_GRID:
        sel = live & (t >= last - T)
        out[f"end{T:g}"] = norm(hp[sel].mean(axis=0))
        out[f"endlow{T:g}"] = norm(lown[sel].sum(axis=0)) if lown[sel].sum() > 0 else mean
        sel = live & (t <= first + T)
        out[f"start{T:g}"] = norm(hp[sel].mean(axis=0))
    k = max(1, int(round(0.5 / dt)))
    n = len(hp)
    if n > k:
        c = _cos(hp[:-k], hp[k:])
        w = np.zeros(n)
        w[:-k] = np.maximum(c, 0) ** 8 * live[:-k]
        out["stable"] = norm((hp * w[:, None]).sum(axis=0)) if w.sum() > 0 else mean
        j0 = max(1, int(round(0.35 / dt)))
        ends = np.zeros(n, bool)
        for i in range(k, n - 1):
            if not live[i] or _cos(hp[i - k:i - k + 1], hp[i:i + 1])[0] < 0.9:
                continue
            nxt = slice(i + 1, min(n, i + 1 + j0))
            if (e[nxt] < 0.6 * e[i]).any() or (_cos(np.repeat(hp[i:i + 1], len(hp[nxt]), 0), hp[nxt]) < 0.7).any():
                ends[i] = True
        out["phrase"] = norm(hp[ends].mean(axis=0)) if ends.any() else mean
    else:
        out["stable"] = out["phrase"] = mean
    out["low"] = norm(lown[live].sum(axis=0)) if lown[live].sum() > 0 else mean
    out["vote"] = norm(out["end2"] + out["phrase"] + out["low"])
    sel = live & (t >= last - 1.0)
    out["_decay"] = float(e[sel].mean() / max(np.median(e[live]), 1e-12))
    return out


CUE_T = {"end": True, "endlow": True, "start": True, "stable": False, "phrase": False, "low": False, "vote": False}


def cue_of(c: dict, name: str, T: float | None) -> np.ndarray:
    return c["cues"][f"{name}{T:g}" if CUE_T[name] else name]


def cue_scores(cv: np.ndarray) -> np.ndarray:
    """(24,) a key's cue score = the cue's share at its tonic."""
    return np.concatenate([cv, cv])


# ---------------------------------------------------------------- bases
def logit_scores(c: dict, theta: np.ndarray, kind: str = "kkt") -> np.ndarray:
    s = design(c, kind) @ theta
    return s - s.max() - np.log(np.exp(s - s.max()).sum())


def seventh_theta() -> np.ndarray:
    w = json.loads(WEIGHTS.read_text())
    return np.array(w["major"] + w["minor"] + [w["minor_bias"], w["kkt_weight"]])


def design_cues(c: dict) -> np.ndarray:
    base = design(c, "kkt")
    extra = []
    for name in ("end2", "phrase", "low"):
        R = np.array([np.roll(c["cues"][name], -t) for t in range(12)]) * 12.0
        F = np.zeros((24, 24))
        F[:12, :12] = R
        F[12:, 12:] = R
        extra.append(F)
    return np.concatenate([base] + extra, axis=1)


def train_cue_logit(rows, weights, lam):
    from scipy.optimize import minimize

    X = np.array([design_cues(c) for c in rows])
    y = np.array([c["y"] for c in rows])
    w = np.asarray(weights, float)
    w = w / w.sum()

    def f(theta):
        s = X @ theta
        s = s - s.max(axis=1, keepdims=True)
        lse = np.log(np.exp(s).sum(axis=1))
        p = np.exp(s - lse[:, None])
        nll = -(w * (s[np.arange(len(y)), y] - lse)).sum()
        g = -(w[:, None] * (X[np.arange(len(y)), y] - np.einsum("nk,nkd->nd", p, X))).sum(axis=0)
        return nll + lam * theta @ theta, g + 2 * lam * theta

    return minimize(f, np.zeros(X.shape[2]), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x


# ---------------------------------------------------------------- estimates
def estimate(c: dict, S: np.ndarray, restrict: list[int] | None, flag_cue: np.ndarray | None) -> tuple:
    """(best, margin to runner-up, runner-up related, tonic gap of the flag cue within N(best))."""
    if restrict is None:
        order = np.argsort(-S)
        best, run = int(order[0]), int(order[1])
    else:
        best = max(restrict, key=lambda k: S[k])
        rest = np.array(S, float).copy()
        rest[best] = -np.inf
        run = int(np.argmax(rest))
    rr = rel(best, run)
    if rr == "other" and rel(run, best) == "fifth":
        rr = "fifth"
    gap = -1.0
    if flag_cue is not None:
        nb = neighbourhood(best)
        gap = float(max(flag_cue[k % 12] for k in nb) - flag_cue[best % 12])
    return best, float(S[best] - S[run]), rr != "other", gap


def table(rows, fn, p) -> dict:
    """Per-clip arrays of one ranking at parameters p (flag-independent parts)."""
    est = [fn(c, p) for c in rows]
    best = np.array([e[0] for e in est])
    return {
        "best": best, "margin": np.array([e[1] for e in est]), "related": np.array([e[2] for e in est]),
        "gap": np.array([e[3] for e in est]),
        "sc": np.array([_SC[rel(c["y"], b)] for c, b in zip(rows, best, strict=True)]),
        "weak": np.array([c["kkt"][b] < 0.5 for c, b in zip(rows, best, strict=True)]),
        "edma": np.array([c["edma"] != b for c, b in zip(rows, best, strict=True)]),
    }


def flagged(tb: dict, short: np.ndarray, flag: str, m: float, delta: float, rho: float | None = None,
            decay: np.ndarray | None = None) -> np.ndarray:
    f = short | tb["weak"] | (tb["related"] & (tb["margin"] < m))
    if flag in ("F0", "F1", "F3"):
        f = f | tb["edma"]
    if flag in ("F1", "F2"):
        f = f | (tb["gap"] > delta)
    if flag == "F3":  # the ending's tonic only where the music ends (the last second decays)
        f = f | ((tb["gap"] > delta) & (decay < rho))
    return f


def figures(tb, fl, meta, splits) -> dict:
    out = {}
    for s in splits:
        i = meta["split"] == s
        sc = tb["sc"][i]
        mi = sc[meta["minor"][i]]
        out[s] = dict(mirex=float(sc.mean()), minor=float(mi.mean()) if len(mi) else 1.0, n=int(i.sum()),
                      wrong=int((sc < 1).sum()), unflagged=int(((sc < 1) & ~fl[i]).sum()),
                      right_flagged=int(((sc == 1) & fl[i]).sum()))
    return out


def rank_key(res, splits):
    worst = min(res[s]["mirex"] for s in splits)
    return (round(worst / 0.01 - 0.5), min(res[s]["minor"] for s in splits),
            -sum(res[s]["unflagged"] for s in splits), worst)


def grid(space):
    names = list(space)
    for vals in itertools.product(*(space[n] for n in names)):
        yield dict(zip(names, vals))


# ---------------------------------------------------------------- the pool
def pool(corpus, gen):
    theta7 = seventh_theta()
    base = {"K": lambda c: c["kkt"], "L": lambda c: c.setdefault("_L", logit_scores(c, theta7))}
    cands = {}
    for b in ("K", "L"):
        margins = K_MARGINS if b == "K" else L_MARGINS
        cands[f"0 {b} F0"] = dict(space={"_": [0]}, fspace={"flag": ["F0"]}, margins=margins, npar=0 if b == "K" else 26,
                                  fn=lambda c, p, b=b: estimate(c, base[b](c), None, None))
        for q in CUE_T:
            tq = T_GRID if CUE_T[q] else (None,)
            for fl in ("F1", "F2"):
                cands[f"1 {b} flag-only {q} {fl}"] = dict(
                    space={"T": tq}, fspace={"flag": [fl]}, margins=margins, npar=(0 if b == "K" else 26) + 2 + CUE_T[q],
                    fn=lambda c, p, b=b, q=q: estimate(c, base[b](c), None, cue_of(c, q, p["T"])))
            W = W_K if b == "K" else W_L
            for kind in ("2 nbhd", "3 all", "4 gated"):
                space = {"T": tq, "w": W}
                if kind == "4 gated":
                    space["rho"] = RHO

                def fn(c, p, b=b, q=q, kind=kind):
                    s0 = base[b](c)
                    cv = cue_of(c, q, p["T"])
                    use = kind != "4 gated" or c["cues"]["_decay"] < p["rho"]
                    S = s0 + p["w"] * cue_scores(cv) if use else s0
                    restrict = None if kind == "3 all" else neighbourhood(int(np.argmax(s0)))
                    return estimate(c, S, restrict, cv)

                for fl in ("F0", "F1", "F2"):
                    npar = (0 if b == "K" else 26) + 1 + CUE_T[q] + (kind == "4 gated") + 1 + (fl != "F0")
                    cands[f"{kind} {b} {q} {fl}"] = dict(space=space, fspace={"flag": [fl]}, margins=margins,
                                                         npar=npar, fn=fn)
    # ---- added after the first results (notes, 16:02): wider delta grid, and F3 (ending only where it decays)
    for b in ("K", "L"):
        margins = K_MARGINS if b == "K" else L_MARGINS
        W = W_K if b == "K" else W_L
        for q in ("endlow", "end", "low", "start", "vote"):
            tq = T_GRID if CUE_T[q] else (None,)
            for fl in ("F1", "F2", "F3"):
                cands[f"A1 {b} flag-only {q} {fl} wide"] = dict(
                    space={"T": tq}, fspace={"flag": [fl]}, margins=margins, deltas=DELTAS_WIDE,
                    npar=(0 if b == "K" else 26) + 2 + CUE_T[q] + (fl == "F3"),
                    fn=lambda c, p, b=b, q=q: estimate(c, base[b](c), None, cue_of(c, q, p["T"])))

                def fn(c, p, b=b, q=q):
                    s0 = base[b](c)
                    cv = cue_of(c, q, p["T"])
                    return estimate(c, s0 + p["w"] * cue_scores(cv), neighbourhood(int(np.argmax(s0))), cv)

                cands[f"A2 nbhd {b} {q} {fl} wide"] = dict(
                    space={"T": tq, "w": W}, fspace={"flag": [fl]}, margins=margins, deltas=DELTAS_WIDE,
                    npar=(0 if b == "K" else 26) + 3 + CUE_T[q] + (fl == "F3"), fn=fn)
    cache = {}

    def learned(p):
        k = (p["a"], p["lam"])
        if k not in cache:
            if p["a"] == 0:
                rows, ws = corpus, [1.0] * len(corpus)
            elif p["a"] == 1:
                rows, ws = gen, [1.0] * len(gen)
            else:
                rows = corpus + gen
                ws = [(1 - p["a"]) / len(corpus)] * len(corpus) + [p["a"] / len(gen)] * len(gen)
            cache[k] = train_cue_logit(rows, ws, p["lam"])
        return cache[k]

    for fl in ("F0", "F1"):
        def fn5(c, p):
            s = design_cues(c) @ learned(p)
            s = s - s.max() - np.log(np.exp(s - s.max()).sum())
            return estimate(c, s, None, c["cues"]["vote"])

        cands[f"5 learned cue logit {fl}"] = dict(space={"a": (0.0, 0.5, 1.0), "lam": (1e-3, 1e-2, 1e-1)},
                                                  fspace={"flag": [fl]}, margins=L_MARGINS, npar=98 + 2 + 1 + (fl != "F0"),
                                                  fn=fn5)
    return cands


def loso(rows, meta, cand, fit_all=False):
    tabs = {}
    plist = list(grid(cand["space"]))
    for i, p in enumerate(plist):
        tabs[i] = table(rows, cand["fn"], p)
    flag = cand["fspace"]["flag"][0]
    dm = 0.15 if cand["margins"] is K_MARGINS else 1.0
    deltas = cand.get("deltas", DELTAS) if flag != "F0" else (0.0,)
    rhos = RHO if flag == "F3" else (None,)
    held, picks = {}, {}
    for h in SPLITS + (("all",) if fit_all else ()):
        train = [s for s in SPLITS if s != h]
        best = None
        for i, p in enumerate(plist):
            fl = flagged(tabs[i], meta["short"], flag, dm, 0.05, 0.5, meta["decay"])
            k = rank_key(figures(tabs[i], fl, meta, train), train)
            if best is None or k > best[0]:
                best = (k, i)
        i = best[1]
        fbest = None
        for m, rh in itertools.product(cand["margins"], rhos):
            for dl in deltas:
                fl = flagged(tabs[i], meta["short"], flag, m, dl, rh, meta["decay"])
                res = figures(tabs[i], fl, meta, train)
                ok = all(res[s]["right_flagged"] <= 0.5 * (res[s]["n"] - res[s]["wrong"]) for s in train)
                rf = sum(res[s]["right_flagged"] for s in train)
                key = (not ok, sum(res[s]["unflagged"] for s in train) if ok else rf, rf, m, -dl, rh or 0)
                if fbest is None or key < fbest[0]:
                    fbest = (key, m, dl, rh)
        (over, *_), m, dl, rh = fbest
        fl = flagged(tabs[i], meta["short"], flag, m, dl, rh, meta["decay"])
        if h == "all":
            picks[h] = (plist[i], m, dl, rh)
            held[h] = figures(tabs[i], fl, meta, SPLITS)
            continue
        held[h] = figures(tabs[i], fl, meta, [h])[h]
        held[h]["est"] = {rows[j]["id"]: (int(tabs[i]["best"][j]), bool(fl[j]), tabs[i]["sc"][j])
                          for j in np.flatnonzero(meta["split"] == h)}
        picks[h] = (plist[i], m, dl, rh)
        held[h]["over_budget"] = over
    return held, picks


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("corpus")
    ap.add_argument("gen")
    ap.add_argument("--only", action="append")
    ap.add_argument("--clips", action="store_true")
    ap.add_argument("--out", help="pickle of every candidate's LOSO results")
    ap.add_argument("--fit", action="store_true", help="also choose the parameters on all seven splits (the frozen values)")
    a = ap.parse_args()
    rows = [d for f in a.dev.split(",") for d in pickle.load(open(f, "rb")) if d["split"] in SPLITS]
    prep = []
    for d in rows:
        c = prepare(d)
        c["cues"] = cues(d)
        prep.append(c)
    meta = {"split": np.array([c["split"] for c in prep]), "minor": np.array([c["y"] >= 12 for c in prep]),
            "short": np.array([c["duration"] < 3 for c in prep]),
            "decay": np.array([c["cues"]["_decay"] for c in prep])}
    need_train = not a.only or any(o.startswith("5") for o in a.only)
    corpus, gen = [], []
    if need_train:
        for f, dst in ((a.corpus, corpus), (a.gen, gen)):
            for d in pickle.load(open(f, "rb")):
                c = prepare(d)
                c["cues"] = cues(d)
                dst.append(c)
    print(f"dev {len(prep)} clips; training corpus {len(corpus)}, generated {len(gen)}", flush=True)
    allres = {}
    for name, cand in pool(corpus, gen).items():
        if a.only and not any(name.startswith(o) for o in a.only):
            continue
        res, picks = loso(prep, meta, cand, a.fit)
        if a.fit:
            print(f"{name}: fitted on all seven: {picks['all']}; in-sample "
                  + " ".join(f"{s} {v['mirex']:.3f}/{v['minor']:.3f} wrong {v['wrong']} unflagged {v['unflagged']} "
                             f"right-flagged {v['right_flagged']}" for s, v in res['all'].items()))
        allres[name] = (res, picks, cand["npar"])
        worst = min(res[s]["mirex"] for s in SPLITS)
        wm = min(res[s]["minor"] for s in SPLITS)
        unf = sum(res[s]["unflagged"] for s in SPLITS)
        real = sum(res[s]["unflagged"] for s in REAL)
        rf = sum(res[s]["right_flagged"] for s in SPLITS)
        print(f"{name} ({cand['npar']}p): " + " / ".join(f"{res[s]['mirex']:.3f}" for s in SPLITS)
              + f" worst {worst:.3f} minor-worst {wm:.3f} | wrong {sum(res[s]['wrong'] for s in SPLITS)}"
              f" unflagged {unf} real {real} ({'/'.join(str(res[s]['unflagged']) for s in REAL)}) right-flagged {rf}"
              f" | folds over the flag budget {sum(res[s]['over_budget'] for s in SPLITS)}",
              flush=True)
        if a.clips:
            for s in SPLITS:
                print(f"    {s}: picks {picks[s]}")
                for cid, (best, fl, sc) in res[s]["est"].items():
                    if sc < 1:
                        c = next(x for x in prep if x["id"] == cid and x["split"] == s)
                        nm = "C C# D D# E F F# G G# A A# B".split()[best % 12] + (" minor" if best >= 12 else " major")
                        print(f"      {cid}: {c['key']} -> {nm} ({sc}) flagged {fl}")
    if a.out:
        with open(a.out, "wb") as fh:
            pickle.dump(allres, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
