"""Key, eighteenth pass (notes/key-eighteenth-pass.md): the one blind evaluation on holdout17, the frozen flag and
the shipped one (the fourteenth pass's rule) on the same clips and the same key, and the declared ship rule (rules 1
and 2; rules 3 and 4, too-short clips and speed, are checked before).

    PYTHONPATH=src nice -n 10 .venv/bin/python scripts/key_eighteenth_eval.py RENDERED_PARENT [--out T.md]

Refuses to run unless this checkout's history holds the freeze commit ("key: eighteenth pass design frozen") and
src/acekit/analysis equals the frozen one. Both flags are read from one dump by `key_eighteenth_dev.design_rows`,
which `key_eighteenth_dev.py check` proved equal to main's analyze_key (the shipped rule) and to the branch's
(the frozen rule). Prints aggregate figures only. Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import key_eighteenth_dev as dev
import key_seventeenth_dev as k17
from key_seventeenth_eval import _frozen as frozen_commit

FREEZE = "key: eighteenth pass design frozen"
BLIND = "holdout17"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("--out")
    a = ap.parse_args()
    commit = frozen_commit(FREEZE)
    from acekit.analysis import key as keymod

    rule, tau = keymod.FLAG_RULE, keymod.MIN_KEY_PROBABILITY
    out = Path("/tmp/key18/blind.pkl")
    out.parent.mkdir(parents=True, exist_ok=True)
    # this script alone may read the blind split, once, after the freeze
    k17.dump(a.parent, str(out), (BLIND,), (BLIND,), ("recordings",))
    rows = pickle.load(open(out, "rb"))
    shipped, frozen = dev.shipped_rows(rows), dev.design_rows(rows, rule, tau)
    s, f = dev.figures(shipped), dev.figures(frozen)
    lines = [f"blind {BLIND}, frozen at {commit}, flag rule {rule}, min probability {tau}, {s['n']} clips "
             f"({s['n_minor']} minor)", "",
             "| flag | MIREX (clip sum) | minor | wrong | wrong unflagged | right flagged | right unflagged |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, g in (("eighteenth pass", f), ("shipped (fourteenth pass's rule)", s)):
        lines.append(f"| {name} | {g['mirex']:.3f} ({g['sum']:.1f}) | {g['minor']:.3f} | {g['wrong']} | "
                     f"{g['wrong_unflagged']} | {g['right_flagged']} | {g['right_unflagged']} |")
    rules = {"1 wrong unflagged <= shipped + 1": f["wrong_unflagged"] <= s["wrong_unflagged"] + 1,
             "2 right unflagged >= shipped + 4": f["right_unflagged"] >= s["right_unflagged"] + 4}
    lines += [""] + [f"- rule {k}: {'holds' if v else 'FAILS'}" for k, v in rules.items()]
    lines.append(f"- verdict (rules 1-2; rules 3-4 checked before): {'SHIP' if all(rules.values()) else 'NOT SHIPPED'}")
    assert [x["key"] for x in shipped] == [x["key"] for x in frozen]  # the key itself is unchanged
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
