"""Key, eighteenth pass (notes/key-eighteenth-pass.md): the declared flag families on the seventeenth pass's key, on
the 17 dev splits, against the shipped flag (the fourteenth pass's), with the declared criterion and its
leave-one-split-out check.

    PYTHONPATH=src nice -n 10 .venv/bin/python scripts/key_eighteenth_dev.py dump /tmp/rendered OUT.pkl [--splits ...]
    PYTHONPATH=/work/main/src .venv/bin/python scripts/key_eighteenth_dev.py check OUT.pkl /tmp/rendered CHECK.pkl
    PYTHONPATH=src .venv/bin/python scripts/key_eighteenth_dev.py score OUT.pkl ... [--check CHECK.pkl] [--out T.md]

``dump`` is the seventeenth pass's (the logit model's and the network's log-probabilities, the KK+T correlations,
the profile estimator's reading and flag, per clip) with holdout16 allowed: it was spent by the seventeenth pass's
blind evaluation. holdout17 and the recordings are refused. ``check``: an `analyze_key` (whichever src is first on
the path: main's for the shipped flag, the branch's for the wired design) on every fifth dumped clip, to prove a
scored row equals it. ``score``: per split and pooled figures, the criterion, the choice. Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np

import key_seventeenth_dev as k17
from key_sixteenth_dev import figures

DEV = k17.DEV + ("holdout16",)
REFUSED = ("holdout17", "recordings")
TAUS = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
FAMILIES = {"A": "probability", "B": "probability+experts", "C": "probability+profiles"}
ORDER = {"A": 0, "C": 1, "B": 2}  # the simplest first (rule 4's last tie-break)


def design_rows(rows: list[dict], rule: str, tau: float) -> list[dict]:
    """Each dumped clip's key (the seventeenth pass's, MODEL_WEIGHT as shipped) and its flag under ``rule`` and
    ``tau``, read by `key.flag_reason`, as `analyze_key` reads them."""
    from acekit.analysis.clip import Thresholds
    from acekit.analysis.key import _SCORES, MODEL_WEIGHT, _key_of, flag_reason, key_relation
    from acekit.keys import parse_key

    th = Thresholds()
    out = []
    for d in rows:
        key = runner = mk = nk = None
        strength = q1 = q2 = 0.0
        if d["model"] is not None and d["net"] is not None:
            s = MODEL_WEIGHT * d["model"] + (1 - MODEL_WEIGHT) * d["net"]
            q = np.exp(s - s.max())
            q /= q.sum()
            order = np.argsort(-q)
            key, runner = _key_of(int(order[0])), _key_of(int(order[1]))
            strength, q1, q2 = float(d["corr"][order[0]]), float(q[order[0]]), float(q[order[1]])
            mk, nk = _key_of(int(np.argmax(d["model"]))), _key_of(int(np.argmax(d["net"])))
        prof = d["profiles"]
        why = flag_reason(key, d["duration"], strength, probability=q1, runner=runner, runner_probability=q2,
                          model_key=mk, net_key=nk, profile_key=prof["key"],
                          profile_ambiguity="flagged" if prof["ambiguous"] else None, rule=rule, min_probability=tau,
                          min_duration_s=th.key_min_duration_s, ambiguous_strength=th.ambiguous_strength)
        mirex = 0.0 if key is None else _SCORES[key_relation(parse_key(d["truth"]), key)]
        out.append({"split": d["split"], "id": d["id"], "truth": d["truth"], "key": key.canonical if key else None,
                    "mirex": mirex, "ambiguous": why is not None, "probability": q1})
    return out


def shipped_rows(rows: list[dict]) -> list[dict]:
    return design_rows(rows, "profiles", 0.0)


def candidates(rows: list[dict]) -> dict[tuple[str, float], list[dict]]:
    return {(fam, tau): design_rows(rows, rule, tau) for fam, rule in FAMILIES.items() for tau in TAUS}


def choose(designs: dict, shipped: list[dict], splits: set[str]) -> tuple[str, float] | None:
    """Rule 4 over rule 1, on ``splits`` only: the most right keys unflagged, then fewer wrong unflagged, then the
    larger tau, then the simplest family; None when no candidate holds rule 1."""
    s = figures([r for r in shipped if r["split"] in splits])
    best = None
    for (fam, tau), rs in designs.items():
        f = figures([r for r in rs if r["split"] in splits])
        if f["wrong_unflagged"] > s["wrong_unflagged"]:
            continue
        rank = (-f["right_unflagged"], f["wrong_unflagged"], -tau, ORDER[fam])
        if best is None or rank < best[0]:
            best = (rank, (fam, tau))
    return None if best is None else best[1]


def score(devs: list[str], check_path: str | None, out: str | None) -> None:
    rows = [d for p in devs for d in pickle.load(open(p, "rb"))]
    assert all(d["split"] in DEV and d["split"] not in REFUSED for d in rows)
    assert len({d["id"] for d in rows}) == len(rows)
    shipped = shipped_rows(rows)
    lines = []
    if check_path:  # the row checked must be the analyze_key that ran (main's: shipped; the branch's: the design)
        got = pickle.load(open(check_path, "rb"))
        rule, tau = got.pop("_rule"), got.pop("_tau")
        mine = {r["id"]: r for r in design_rows(rows, rule, tau)}
        bad = [i for i, g in got.items() if (g["key"], g["ambiguous"], g["mirex"]) !=
               (mine[i]["key"], mine[i]["ambiguous"], mine[i]["mirex"])]
        lines.append(f"check: analyze_key ({rule}, {tau}) on {len(got)} clips; the scored row differs on {len(bad)}")
        assert not bad, bad[:5]
    designs = candidates(rows)
    splits = [s for s in DEV if any(d["split"] == s for d in rows)]
    everything = set(splits)
    chosen = choose(designs, shipped, everything)
    fs = figures(shipped)
    lines += ["## Pooled over the dev splits (every candidate)", "",
              f"shipped flag (fourteenth pass): {fs['n']} clips, MIREX {fs['mirex']:.3f}, wrong {fs['wrong']}, wrong "
              f"unflagged {fs['wrong_unflagged']}, right flagged {fs['right_flagged']}, right unflagged "
              f"{fs['right_unflagged']}", "",
              "| family | tau | wrong unflagged | right flagged | right unflagged | rule 1 | rule 2 |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for (fam, tau), rs in designs.items():
        f = figures(rs)
        lines.append(f"| {fam} ({FAMILIES[fam]}) | {tau:.2f} | {f['wrong_unflagged']} | {f['right_flagged']} | "
                     f"{f['right_unflagged']} | {'holds' if f['wrong_unflagged'] <= fs['wrong_unflagged'] else '-'} | "
                     f"{'holds' if f['right_unflagged'] > fs['right_unflagged'] else '-'} |")
    # rule 3: leave one split out, the whole choice made on the other splits
    loso_rows, picks = [], []
    for held in splits:
        pick = choose(designs, shipped, everything - {held})
        picks.append(f"{held}: {pick}")
        rs = shipped if pick is None else designs[pick]
        loso_rows += [r for r in rs if r["split"] == held]
    fl = figures(loso_rows)
    lines += ["", "## Leave one split out (rule 3)", "", "; ".join(picks), "",
              f"pooled over the held-out splits: wrong unflagged {fl['wrong_unflagged']} (shipped "
              f"{fs['wrong_unflagged']}, allowed {fs['wrong_unflagged'] + 3}), right unflagged {fl['right_unflagged']} "
              f"(shipped {fs['right_unflagged']})"]
    ok3 = fl["wrong_unflagged"] <= fs["wrong_unflagged"] + 3 and fl["right_unflagged"] > fs["right_unflagged"]
    lines += ["", "## Per split: shipped flag against the chosen candidate", "",
              "| split | clips | flag | MIREX | wrong | wrong unflagged | right flagged | right unflagged |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for split in splits + ["pooled"]:
        for name, rs in (("shipped", shipped), (str(chosen), designs.get(chosen, []))):
            sel = [r for r in rs if split == "pooled" or r["split"] == split]
            if not sel:
                continue
            f = figures(sel)
            lines.append(f"| {split} | {f['n']} | {name} | {f['mirex']:.3f} | {f['wrong']} | {f['wrong_unflagged']} | "
                         f"{f['right_flagged']} | {f['right_unflagged']} |")
    if chosen is None:
        verdict = "no candidate holds rule 1: no freeze, no blind evaluation"
    else:
        fc = figures(designs[chosen])
        ok2 = fc["right_unflagged"] > fs["right_unflagged"]
        verdict = (f"chosen {chosen}: rule 1 holds, rule 2 {'holds' if ok2 else 'FAILS'}, rule 3 "
                   f"{'holds' if ok3 else 'FAILS'}: {'freeze' if ok2 and ok3 else 'no freeze, no blind evaluation'}")
    lines += ["", f"**Criterion:** {verdict}"]
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def check(dev: str, parent: str, out: str) -> None:
    """The `analyze_key` first on the path, on every fifth dumped clip; records which flag rule it ran."""
    from acekit.analysis import key as keymod

    rows = pickle.load(open(dev, "rb"))
    want = {d["id"] for d in rows[::5]}
    splits = tuple(dict.fromkeys(d["split"] for d in rows))
    rule = getattr(keymod, "FLAG_RULE", "profiles")  # main before this pass has no FLAG_RULE: the fourteenth's
    got = {"_rule": rule, "_tau": getattr(keymod, "MIN_KEY_PROBABILITY", 0.0)}
    for c, clean, sr, th in k17._clips(parent, splits, DEV, REFUSED):
        if c.id not in want:
            continue
        r = keymod.analyze_key(clean, sr, target_key=c.truth.key, ambiguous_strength=th.ambiguous_strength,
                               ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)
        got[c.id] = {"key": r.key, "ambiguous": r.ambiguous, "mirex": r.mirex_score}
    print(f"check: {keymod.__file__}, rule {rule}, {len(got) - 2} clips")
    with open(out, "wb") as fh:
        pickle.dump(got, fh)


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("parent")
    d.add_argument("out")
    d.add_argument("--splits", nargs="+", default=list(DEV))
    c = sub.add_parser("check")
    c.add_argument("dev")
    c.add_argument("parent")
    c.add_argument("out")
    s = sub.add_parser("score")
    s.add_argument("dev", nargs="+")
    s.add_argument("--check")
    s.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "dump":
        k17.dump(a.parent, a.out, tuple(a.splits), DEV, REFUSED)
    elif a.cmd == "check":
        check(a.dev, a.parent, a.out)
    else:
        score(a.dev, a.check, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
