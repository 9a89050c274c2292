"""Tempo, fourteenth pass: the ONE blind evaluation (notes/tempo-fourteenth-pass.md), run only after the freeze commit
"tempo: fourteenth pass design frozen (fourteenth pass)". Written before it (not run at the preparation stop).

    # per split S in holdout13, holdout14; the frozen design from this tree, the shipped from main's src first on
    # PYTHONPATH (git -C /work/main archive); the first run writes TRACKS_S.pkl, the second reads it (same tracks)
    .venv/bin/python scripts/tempo_fourteenth_eval.py run frozen FROZEN_S.json RENDERED_SET_DIR S TRACKS_S.pkl
    PYTHONPATH=MAIN_SRC .venv/bin/python scripts/tempo_fourteenth_eval.py run shipped SHIPPED_S.json RENDERED_SET_DIR S TRACKS_S.pkl
    .venv/bin/python scripts/tempo_fourteenth_eval.py compare FROZEN_S.json SHIPPED_S.json      # rule 1, per split
    .venv/bin/python scripts/tempo_fourteenth_eval.py pool FROZEN_13.json SHIPPED_13.json FROZEN_14.json SHIPPED_14.json

``run`` is the ninth pass's (scripts/tempo_ninth_eval.py: the calibration test's `_tempo_cases` / `_tempo_figures`, the
19 controls, one beat track per clip for both designs) on every piece of the split. ``compare`` and ``pool`` count
after leaving out `EXCLUDED` (holdout14's two pieces whose titles are in the network's training set: their four
judgements and their 19 controls each), as the notes fix; the shipped design's trust figures on all 40 stay as they are.
Ship rule 3 (speed) is measured apart with benchmarks/analysis_speed.py.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tempo_ninth_eval as E  # noqa: E402

BLIND = ("holdout13", "holdout14")
#: fixed by the notes before anything was computed (the network's training set holds tunes of these titles)
EXCLUDED = {"holdout14": ("reel_lochness", "air_pulse_of_my_heart")}


def figures(path: str) -> dict:
    """One run's JSON with `EXCLUDED` left out: right / wrong / unreliable counts, the cases, the passing controls."""
    d = json.loads(Path(path).read_text())
    out = set(EXCLUDED.get(d["split"], ()))
    cases = [c for c in d["cases"] if c[0] not in out]
    assert len(cases) == d["n"] - 4 * len(out), (d["split"], len(cases), d["n"])  # four judgements a piece
    return dict(split=d["split"], name=d["name"], n=len(cases), cases=cases,
                right=sum(c[2] == c[3] for c in cases), wrong=sum(c[3] not in (c[2], "unreliable") for c in cases),
                unreliable=sum(c[3] == "unreliable" for c in cases),
                controls=[c for c in d["control_passes"] if c[0] not in out], left_out=sorted(out))


def compare(frozen: str, shipped: str) -> bool:
    """Ship rule 1 on one split: right not fewer, wrong not more, no control newly passing."""
    fz, sh = figures(frozen), figures(shipped)
    assert fz["split"] == sh["split"] and [c[:3] for c in fz["cases"]] == [c[:3] for c in sh["cases"]]
    new_controls = [c for c in fz["controls"] if c not in sh["controls"]]
    differ = [(a[0], round(a[1], 1), a[2], b[3], a[3]) for a, b in zip(fz["cases"], sh["cases"]) if a[3] != b[3]]
    ok = fz["right"] >= sh["right"] and fz["wrong"] <= sh["wrong"] and not new_controls
    print(f"{fz['split']} (left out: {fz['left_out']}): frozen {fz['right']}/{fz['wrong']}/{fz['unreliable']} of "
          f"{fz['n']}, controls {len(fz['controls'])}; shipped {sh['right']}/{sh['wrong']}/{sh['unreliable']}, controls "
          f"{len(sh['controls'])}; new controls {new_controls}; rule 1 met: {ok}")
    print("judgements that differ (clip, bpm, want, shipped, frozen):", differ)
    return ok


def pool(*paths: str) -> None:
    """Rules 1 (each split) and 2 (pooled: more right than the shipped's) over (frozen, shipped) pairs."""
    pairs = list(zip(paths[::2], paths[1::2]))
    assert sorted(figures(f)["split"] for f, _s in pairs) == sorted(BLIND), pairs
    rule1 = all([compare(f, s) for f, s in pairs])
    fr, sr = (sum(figures(p)["right"] for p in side) for side in (paths[::2], paths[1::2]))
    n = sum(figures(f)["n"] for f, _s in pairs)
    print(f"pooled: frozen {fr} right of {n}, shipped {sr}; rule 2 met: {fr > sr}; rules 1 and 2 met: {rule1 and fr > sr}"
          " (rule 3, speed, apart)")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "run":
        E.run(*sys.argv[2:7], blind=BLIND)
    elif cmd == "compare":
        compare(*sys.argv[2:4])
    elif cmd == "pool":
        pool(*sys.argv[2:])
