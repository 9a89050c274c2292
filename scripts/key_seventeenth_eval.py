"""Key, seventeenth pass (notes/key-seventeenth-pass.md): the one blind evaluation on holdout16, the frozen design
and the shipped one on the same clips, and the declared ship rule (rules 1-4; rule 5, speed, is measured before).

    PYTHONPATH=src nice -n 10 .venv/bin/python scripts/key_seventeenth_eval.py RENDERED_PARENT [--out T.md]

Refuses to run unless this checkout's history holds the freeze commit ("key: seventeenth pass design frozen") and
the working tree's key.py and weights equal the frozen ones. The shipped design is the alpha = 1 reading of the same
dump (`key_seventeenth_dev.design_rows`), which `key_seventeenth_dev.py check` proved equal to main's analyze_key.
Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import key_seventeenth_dev as dev

FREEZE = "key: seventeenth pass design frozen"
BLIND = "holdout16"


def _frozen(freeze: str = FREEZE) -> str:
    """The freeze commit named ``freeze``; exits unless it is in this history and src/acekit/analysis equals it."""
    log = subprocess.run(["git", "log", "--format=%H %s"], capture_output=True, text=True, check=True).stdout
    hits = [line.split()[0] for line in log.splitlines() if freeze in line]
    if not hits:
        raise SystemExit(f"no freeze commit ({freeze!r}) in this history: the blind split may not be read")
    changed = subprocess.run(["git", "diff", "--stat", hits[-1], "--", "src/acekit/analysis"],
                             capture_output=True, text=True, check=True).stdout
    if changed.strip():
        raise SystemExit(f"src/acekit/analysis differs from the freeze commit {hits[-1]}:\n{changed}")
    return hits[-1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("--out")
    a = ap.parse_args()
    commit = _frozen()
    from acekit.analysis import key as keymod

    alpha = keymod.MODEL_WEIGHT
    dev.DEV = (BLIND,)  # this script alone may read the blind split, once, after the freeze
    dev.REFUSED = ("recordings",)
    out = Path("/tmp/key17/blind.pkl")
    dev.dump(a.parent, str(out), (BLIND,))
    import pickle

    rows = pickle.load(open(out, "rb"))
    shipped, frozen = dev.design_rows(rows, 1.0), dev.design_rows(rows, alpha)
    naive = dev.naive_rows(rows)
    s, f, n = dev.figures(shipped), dev.figures(frozen), dev.figures(naive)
    lines = [f"blind {BLIND}, frozen at {commit}, MODEL_WEIGHT {alpha}, {s['n']} clips ({s['n_minor']} minor)", "",
             "| design | MIREX (clip sum) | minor | wrong | wrong unflagged | right flagged | right unflagged |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, g in (("seventeenth pass", f), ("shipped", s), ("naive (chroma_cqt + KK)", n)):
        lines.append(f"| {name} | {g['mirex']:.3f} ({g['sum']:.1f}) | {g['minor']:.3f} | {g['wrong']} | "
                     f"{g['wrong_unflagged']} | {g['right_flagged']} | {g['right_unflagged']} |")
    rules = {"1 MIREX above the shipped's": f["mirex"] > s["mirex"],
             "2 wrong unflagged not more": f["wrong_unflagged"] <= s["wrong_unflagged"],
             "3 minor not below": f["minor"] >= s["minor"],
             "4 right unflagged >= shipped - 2": f["right_unflagged"] >= s["right_unflagged"] - 2}
    lines += [""] + [f"- rule {k}: {'holds' if v else 'FAILS'}" for k, v in rules.items()]
    lines.append(f"- verdict (rules 1-4; rule 5 measured before): {'SHIP' if all(rules.values()) else 'NOT SHIPPED'}")
    differ = sum(x["key"] != y["key"] for x, y in zip(shipped, frozen))
    lines.append(f"- clips where the two designs read different keys: {differ}")
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
