"""Key, eighth pass (notes/key-eighth-pass.md): the seventh pass's frozen logit ranking kept as is,
flag rules for it scored offline on the seven dev splits, leave-one-split-out.

    .venv/bin/python scripts/key_eighth_eval.py DEV.pkl[,DEV2.pkl,...] [--only A] [--frontier]

DEV: scripts/key_features.py dumps. The logit's weights are notes/key-seventh-pass-weights.json
(the constants of the seventh pass's frozen key.py). Per held-out split a rule's parameters are
chosen on the other six by the fourth pass's flag rule (fewest wrong keys unflagged while flagging
at most half of the right keys in every training split; ties -> fewer right keys flagged -> the
stricter grid point); rules are ranked by LOSO wrong keys unflagged summed over the seven splits.
Not used by acekit itself.
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

from key_seventh_eval import design, prepare  # noqa: E402
from key_sixth_eval import rel  # noqa: E402

SPLITS = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6")
REAL = ("holdout4", "holdout5", "holdout6")
SHIPPED_REAL_UNFLAGGED = 10  # 5 + 3 + 2 (docs/analysis.md, "Key, seventh pass")
P_GRID = tuple(np.round(np.arange(0.30, 0.951, 0.05), 2))
M_GRID = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)
T_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
_SC = {"same": 1.0, "fifth": 0.5, "relative": 0.3, "parallel": 0.2, "other": 0.0}
WEIGHTS = Path(__file__).parent.parent / "notes/key-seventh-pass-weights.json"


def related(a: int, b: int) -> bool:
    """Fifth (either way), relative or parallel."""
    return rel(a, b) != "other" or rel(b, a) == "fifth"


def features(c: dict, theta: np.ndarray) -> dict:
    s = design(c, "kkt") @ theta
    s = s - (s.max() + np.log(np.exp(s - s.max()).sum()))
    order = np.argsort(-s)
    best, run = int(order[0]), int(order[1])
    rel_keys = [k for k in range(24) if k != best and related(best, k)]
    e = c["edma"]
    return dict(
        split=c["split"], id=c["id"], key=c["key"], y=c["y"], best=best, score=_SC[rel(c["y"], best)],
        P=float(np.exp(s[best])), d_any=float(s[best] - s[run]),
        d_run_rel=float(s[best] - s[run]) if related(best, run) else np.inf,  # the seventh pass's close call
        d_rel=float(s[best] - max(s[k] for k in rel_keys)),
        edma_dis=e != best, edma_rel=e != best and related(best, e), d_edma=float(s[best] - s[e]),
        strength=float(c["kkt"][best]), short=c["duration"] < 3,
    )


def rules() -> dict:
    """name -> (parameter grid, flag(row, params))."""
    weak = lambda r: r["strength"] < 0.5  # noqa: E731
    return {
        "A seventh pass: weak | EDMA | related runner-up < m": (
            {"m": M_GRID}, lambda r, p: weak(r) or r["edma_dis"] or r["d_run_rel"] < p["m"]),
        "B P < p": ({"p": P_GRID}, lambda r, p: r["P"] < p["p"]),
        "C weak | P < p": ({"p": P_GRID}, lambda r, p: weak(r) or r["P"] < p["p"]),
        "D weak | EDMA | P < p": ({"p": P_GRID}, lambda r, p: weak(r) or r["edma_dis"] or r["P"] < p["p"]),
        "E weak | related EDMA | P < p": ({"p": P_GRID}, lambda r, p: weak(r) or r["edma_rel"] or r["P"] < p["p"]),
        "F weak | any runner-up < m": ({"m": M_GRID}, lambda r, p: weak(r) or r["d_any"] < p["m"]),
        "G weak | related key < m": ({"m": M_GRID}, lambda r, p: weak(r) or r["d_rel"] < p["m"]),
        "H weak | related EDMA | related key < m": (
            {"m": M_GRID}, lambda r, p: weak(r) or r["edma_rel"] or r["d_rel"] < p["m"]),
        "I weak | P < p | EDMA within m2": (
            {"p": P_GRID, "m2": M_GRID},
            lambda r, p: weak(r) or r["P"] < p["p"] or (r["edma_dis"] and r["d_edma"] < p["m2"])),
        "J P < p | strength < t": ({"p": P_GRID, "t": T_GRID}, lambda r, p: r["P"] < p["p"] or r["strength"] < p["t"]),
        "K weak | related key < m | P < p": (
            {"m": M_GRID, "p": P_GRID}, lambda r, p: weak(r) or r["d_rel"] < p["m"] or r["P"] < p["p"]),
    }


def tally(rows, flag, p) -> dict:
    out = {}
    for r in rows:
        f = r["short"] or flag(r, p)
        o = out.setdefault(r["split"], dict(n=0, wrong=0, unflagged=0, right_flagged=0, flagged=0))
        o["n"] += 1
        o["flagged"] += f
        wrong = r["score"] < 1
        o["wrong"] += wrong
        o["unflagged"] += wrong and not f
        o["right_flagged"] += (not wrong) and f
    return out


def grid(space):
    names = list(space)
    for vals in itertools.product(*(space[n] for n in names)):
        yield dict(zip(names, vals))


def choose(rows, space, flag, train):
    ok, fallback = None, None
    for p in grid(space):
        t = tally([r for r in rows if r["split"] in train], flag, p)
        unf = sum(t[s]["unflagged"] for s in train)
        rf = sum(t[s]["right_flagged"] for s in train)
        fl = sum(t[s]["flagged"] for s in train)
        k = (unf, rf, fl)
        if all(t[s]["right_flagged"] <= 0.5 * (t[s]["n"] - t[s]["wrong"]) for s in train):
            if ok is None or k < ok[0]:
                ok = (k, p)
        if fallback is None or (rf, unf) < fallback[0]:
            fallback = ((rf, unf), p)
    return (ok or fallback)[1], ok is not None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dev")
    ap.add_argument("--only", action="append")
    ap.add_argument("--frontier", action="store_true",
                    help="reported only, after the ranking: each grid point of the one-parameter rules on all seven splits")
    a = ap.parse_args()
    w = json.loads(WEIGHTS.read_text())
    theta = np.array(w["major"] + w["minor"] + [w["minor_bias"], w["kkt_weight"]])
    rows = [features(prepare(d), theta) for f in a.dev.split(",") for d in pickle.load(open(f, "rb"))
            if d["split"] in SPLITS]
    for s in SPLITS:
        rs = [r for r in rows if r["split"] == s]
        print(f"{s}: {len(rs)} clips, MIREX {np.mean([r['score'] for r in rs]):.3f}, wrong {sum(r['score'] < 1 for r in rs)}")
    if a.frontier:
        for name, (space, flag) in rules().items():
            if len(space) != 1 or (a.only and not any(name.startswith(o) for o in a.only)):
                continue
            for p in grid(space):
                t = tally(rows, flag, p)
                print(f"{name[:1]} {p}: " + " ".join(
                    f"{s} {t[s]['unflagged']} unflagged / {t[s]['right_flagged']} of {t[s]['n'] - t[s]['wrong']} right flagged;"
                    for s in SPLITS) + f" real unflagged {sum(t[s]['unflagged'] for s in REAL)}")
        return 0
    for name, (space, flag) in rules().items():
        if a.only and not any(name.startswith(o) for o in a.only):
            continue
        held, picks = {}, {}
        for h in SPLITS:
            train = [s for s in SPLITS if s != h]
            p, ok = choose(rows, space, flag, train)
            held[h] = tally([r for r in rows if r["split"] == h], flag, p)[h]
            picks[h] = (p, ok)
        unf = sum(held[s]["unflagged"] for s in SPLITS)
        rf = sum(held[s]["right_flagged"] for s in SPLITS)
        real = sum(held[s]["unflagged"] for s in REAL)
        per = " / ".join(f"{held[s]['unflagged']}" for s in SPLITS)
        rper = " / ".join(f"{held[s]['right_flagged']}/{held[s]['n'] - held[s]['wrong']}" for s in SPLITS)
        allp, _ = choose(rows, space, flag, list(SPLITS))
        print(f"{name}: LOSO unflagged {per} = {unf} (real {real}, shipped {SHIPPED_REAL_UNFLAGGED}) | "
              f"right flagged {rper} = {rf} | all-seven pick {allp}", flush=True)
        print("    picks " + "; ".join(f"{s} {picks[s][0]}{'' if picks[s][1] else ' (no grid point in budget)'}"
                                     for s in SPLITS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
