"""Tempo, twelfth pass: the ONE evaluation on the blind split holdout13 (notes/tempo-twelfth-pass.md), run after the
freeze commit. The ninth pass's evaluation (scripts/tempo_ninth_eval.py: the calibration test's own `_tempo_cases` /
`_tempo_figures`, the 19 controls, both designs on the same clips and the same essentia beat tracks) on holdout13.

    .venv/bin/python scripts/tempo_twelfth_eval.py run NAME OUT.json RENDERED_SET_DIR holdout13 TRACKS.pkl
    .venv/bin/python scripts/tempo_twelfth_eval.py compare FROZEN.json SHIPPED.json

``compare`` prints the ninth pass's per-split condition (right not fewer); the twelfth pass's rule asks for more right
judgements, applied in the notes.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tempo_ninth_eval import main  # noqa: E402

BLIND = ("holdout13",)

if __name__ == "__main__":
    main(sys.argv, blind=BLIND)
