"""Key, twelfth pass (notes/key-twelfth-pass.md): the eleventh pass's frozen model, unchanged; only its
flag's margin m and probability floor p are chosen, on the ten dev splits, by the rule declared in
advance. Nothing else is fitted or chosen here.

    .venv/bin/python scripts/key_twelfth_flag.py MODEL.json DEV.pkl[,DEV2.pkl]

MODEL.json: the eleventh pass's weights (notes/key-eleventh-pass-weights.json); DEV.pkl:
scripts/key_features.py dumps of calibrate, holdout, holdout2-holdout9 (run against main's src, so
that each clip's "shipped" field is the shipped estimator's own verdict). Refuses holdout10.

Prints: (1) the reproduction table (the design with the eleventh pass's m 0.75, p 0.55, and the
shipped estimator: KK+T, related runner-up within 0.15, recomputed from the dumps and checked
against the dumps' own "shipped" verdicts); (2) every grid point, with constraints A, B, C;
(3) the feasible set and the choice; (4) the dev figures per split at the choice.

Rule (declared): A. wrong keys left unflagged summed over holdout4-holdout9 <= the shipped's;
B. the same over the four generated splits <= the shipped's there; C. on every dev split at most
half of the keys read right are flagged. Among feasible points: fewest right keys flagged over all
ten splits; ties -> larger m, then larger p.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from key_tenth_eval import MODELS, clip_features, design, flagged, logprobs, summarise, table  # noqa: E402

GENERATED = ("calibrate", "holdout", "holdout2", "holdout3")
REAL = ("holdout4", "holdout5", "holdout6", "holdout7", "holdout8", "holdout9")
DEV = GENERATED + REAL
#: the blind split of this pass: never scored before the freeze commit
BLIND = ("holdout10",)
MARGINS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
PROBS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.3 .. 0.95


def _sum(t: dict, splits, field: str) -> int:
    return sum(t[s][field] for s in splits)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("dev")
    a = ap.parse_args()
    model = json.loads(Path(a.model).read_text())
    assert model["model"] == "M2" and model["data"] == "T10b+G50", "not the eleventh pass's model"
    dev = [d for f in a.dev.split(",") for d in pickle.load(open(f, "rb"))]
    assert not any(d["split"] in BLIND for d in dev), "the blind split in the dev dumps"
    dev = [d for d in dev if d["split"] in DEV]
    assert {d["split"] for d in dev} == set(DEV), sorted({d["split"] for d in dev})
    for d in dev:
        d["f"] = clip_features(d)
    w = np.asarray(model["weights"])  # as written (rounded), as key.py reads them
    sm = summarise(dev, [logprobs(design(d["f"], MODELS[model["model"]]), w) for d in dev])
    ssm = summarise(dev, [d["f"]["kkt"] for d in dev])
    shipped_fl = flagged(ssm, "F0", 0.15, 2.0)
    ts = table(ssm, shipped_fl, DEV)
    # the recomputed shipped estimator must be the dumps' own verdicts (main's analyze_key)
    same = sum(d["shipped"]["mirex_score"] == float(ssm["mirex"][i]) and d["shipped"]["ambiguous"] == bool(shipped_fl[i])
               for i, d in enumerate(dev))
    print(f"shipped estimator recomputed = the dumps' own verdicts on {same} of {len(dev)} clips")

    print("\n(1) reproduction: the design with the eleventh pass's flag (m 0.75, p 0.55) | shipped")
    t11 = table(sm, flagged(sm, "F2", 0.75, 0.55), DEV)
    print("split       n  minor | MIREX minor wrong unfl rightfl | shipped MIREX minor wrong unfl rightfl")
    for s in DEV:
        n = int((sm["split"] == s).sum())
        nm = int(sm["minor"][sm["split"] == s].sum())
        x, y = t11[s], ts[s]
        print(f"{s:10s} {n:3d} {nm:4d}   | {x['mirex']:.3f} {x['minor']:.3f} {x['wrong']:4d} {x['unflagged']:4d} "
              f"{x['right_flagged']:5d}   | {y['mirex']:.3f} {y['minor']:.3f} {y['wrong']:4d} {y['unflagged']:4d} "
              f"{y['right_flagged']:5d}")
    cap_a, cap_b = _sum(ts, REAL, "unflagged"), _sum(ts, GENERATED, "unflagged")
    print(f"\nshipped wrong unflagged: real (holdout4-9) {cap_a}, generated {cap_b}")

    print("\n(2) grid: m p | A real wrong unflagged | B generated wrong unflagged | C worst split right flagged/right "
          "| right flagged (10 splits) | feasible")
    feasible = []
    for m in MARGINS:
        for p in PROBS:
            t = table(sm, flagged(sm, "F2", m, p), DEV)
            ua, ub = _sum(t, REAL, "unflagged"), _sum(t, GENERATED, "unflagged")
            ok_c = all(t[s]["right_flagged"] <= t[s]["right"] / 2 for s in DEV)
            worst = max(DEV, key=lambda s: t[s]["right_flagged"] / max(t[s]["right"], 1))
            rf = _sum(t, DEV, "right_flagged")
            ok = ua <= cap_a and ub <= cap_b and ok_c
            print(f"  m {m:4.2f} p {p:.2f} | A {ua:3d} {'ok' if ua <= cap_a else '--'} | B {ub:3d} "
                  f"{'ok' if ub <= cap_b else '--'} | C {worst} {t[worst]['right_flagged']}/{t[worst]['right']} "
                  f"{'ok' if ok_c else '--'} | {rf:3d} | {'FEASIBLE' if ok else ''}")
            if ok:
                feasible.append((rf, -m, -p, m, p, ua, ub))
    print(f"\n(3) feasible points: {len(feasible)}")
    for rf, _nm, _np, m, p, ua, ub in sorted(feasible):
        print(f"  m {m:4.2f} p {p:.2f}: right flagged {rf}, wrong unflagged real {ua} / generated {ub}")
    if not feasible:
        print("NO FEASIBLE POINT: nothing is frozen")
        return 1
    _rf, _nm, _np, m, p, _ua, _ub = min(feasible)
    print(f"CHOICE: m {m} p {p}")

    print(f"\n(4) dev figures at the choice (m {m}, p {p}) | shipped")
    t = table(sm, flagged(sm, "F2", m, p), DEV)
    print("split       n  minor | MIREX minor wrong unfl rightfl | shipped MIREX minor wrong unfl rightfl")
    for s in DEV:
        n = int((sm["split"] == s).sum())
        nm = int(sm["minor"][sm["split"] == s].sum())
        x, y = t[s], ts[s]
        print(f"{s:10s} {n:3d} {nm:4d}   | {x['mirex']:.3f} {x['minor']:.3f} {x['wrong']:4d} {x['unflagged']:4d} "
              f"{x['right_flagged']:5d}   | {y['mirex']:.3f} {y['minor']:.3f} {y['wrong']:4d} {y['unflagged']:4d} "
              f"{y['right_flagged']:5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
