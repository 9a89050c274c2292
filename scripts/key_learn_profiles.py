"""Key, sixth pass (docs/analysis.md): learn major / minor key profiles from real music, the
duration-weighted pitch classes of the openings of music21 corpus pieces (Bach chorales, O'Neill's
fiddle tunes), rotated to each piece's tonic.

    .venv/bin/python scripts/key_learn_profiles.py OUT.json

Which pieces: a fixed rule (every STEP-th chorale of the sorted corpus list, every STEP-th tune
number of O'Neill's 1850), never a holdout4 piece. The key by the calibration set's truth rules
(`acekit.calibration.scores._key_truth`: an abc tune's K: field, a chorale's final bass against
its key signature); a piece the rules do not decide is skipped. Every piece used is written to
OUT.json ("training": source#number and key) so that a later split can drop the overlap.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from acekit.calibration.scores import HOLDOUT4_PIECES, PieceSpec, ScoreError, _key_truth, require_music21

#: every STEP-th piece: a small share of the corpus, so that few pieces of a later corpus split overlap
STEP = 7
#: the opening read, in quarter notes: about a 20 s excerpt (chorales ~70, tunes ~180 quarters a minute)
OPENING_QL = {"chorale": 24.0, "tune": 56.0}
ONEILL_FILES = ("0001-0050.abc", "0051-0100.abc", "0101-0200.abc", "0201-0300.abc", "0301-0350.abc",
                "0351-0400.abc", "0401-0486.abc", "0501-0550.abc", "0550-0625.abc", "0626-0700.abc",
                "0759-0810.abc", "0811-0899.abc", "0900-0950.abc", "1001-1031.abc", "1031-1115.abc",
                "1136-1175.abc", "1176-1275.abc", "1276-1375.abc", "1376-1475.abc", "1476-1555.abc",
                "1577-1624.abc", "1625-1700.abc", "1701-1780.abc", "1801-1850.abc")


def candidates() -> list[tuple[str, str, int | None]]:
    m21 = require_music21()
    held = {(p.source, p.number) for p in HOLDOUT4_PIECES}
    out: list[tuple[str, str, int | None]] = []
    chorales = sorted(str(p).split("corpus/")[-1] for p in m21.corpus.getComposer("bach"))
    chorales = [c for c in chorales if re.match(r"bach/bwv[\d.]+(\.mxl|\.xml)?$", c) or c.startswith("bach/bwv")]
    for i, c in enumerate(chorales):
        src = c.rsplit(".", 1)[0] if c.endswith((".mxl", ".xml")) else c
        if i % STEP == 1 and (src, None) not in held and (c, None) not in held:
            out.append(("chorale", src, None))
    for f in ONEILL_FILES:
        text = Path(m21.corpus.getWork("oneills1850/" + f)).read_text(errors="replace")
        for n in sorted({int(x) for x in re.findall(r"^X:\s*(\d+)", text, flags=re.M)}):
            if n % STEP == 1 and ("oneills1850/" + f, n) not in held:
                out.append(("tune", "oneills1850/" + f, n))
    return out


def opening_pcp(m21, score, limit_ql: float) -> np.ndarray:
    h = np.zeros(12)
    for n in score.recurse().notes:
        if n.duration.isGrace or isinstance(n, m21.harmony.ChordSymbol):
            continue
        t = float(n.getOffsetInHierarchy(score))
        if t >= limit_ql:
            continue
        d = min(float(n.duration.quarterLength), limit_ql - t)
        for p in n.pitches:
            h[p.pitchClass] += d
    return h


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    a = ap.parse_args()
    m21 = require_music21()
    sums = {"major": np.zeros(12), "minor": np.zeros(12)}
    per_style = {}
    modal: dict[str, list[np.ndarray]] = {}
    used = []
    for style, src, number in candidates():
        spec = PieceSpec(f"train_{src}_{number}", style, src, 100, "C major", (4, 4), number=number)
        try:
            score = m21.corpus.parse(src, number=number) if number else m21.corpus.parse(src)
            key, how = _key_truth(m21, score, spec)
        except (ScoreError, Exception) as e:  # noqa: BLE001 - a piece that does not parse or decide is skipped
            print(f"skip {src}#{number}: {e}", file=sys.stderr)
            continue
        h = opening_pcp(m21, score, OPENING_QL[style])
        if h.sum() <= 0:
            continue
        h = np.roll(h / h.sum(), -key.pitch_class)
        sums[key.mode] += h
        mode = how.split()[-1] if style == "tune" else key.mode  # the K: field's mode (dorian, mixolydian ...)
        modal.setdefault(mode, []).append(h)
        per_style.setdefault((style, key.mode), []).append(h)
        used.append({"source": src, "number": number, "style": style, "key": key.canonical, "mode": mode})
        print(f"{style} {src}#{number}: {key.canonical}", file=sys.stderr)
    counts = {m: sum(1 for u in used if u["key"].endswith(m)) for m in sums}
    prof = {m: [round(float(x), 5) for x in sums[m] / max(counts[m], 1)] for m in sums}
    styles = {f"{s} {m}": [round(float(x), 5) for x in np.mean(v, axis=0)] for (s, m), v in per_style.items()}
    modes = {m: [round(float(x), 5) for x in np.mean(v, axis=0)] for m, v in modal.items()}
    mode_counts = {m: len(v) for m, v in modal.items()}
    Path(a.out).write_text(json.dumps({"profiles": prof, "per_style": styles, "counts": counts, "modes": modes,
                                       "mode_counts": mode_counts,
                                       "rule": f"every {STEP}th chorale / O'Neill tune number, no holdout4 piece",
                                       "training": used}, indent=1))
    print(json.dumps({"profiles": prof, "counts": counts}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
