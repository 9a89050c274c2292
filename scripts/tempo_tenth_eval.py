"""Tempo, tenth pass: the ONE evaluation on a blind split (notes/tempo-tenth-pass.md), run after the freeze commit.
The ninth pass's evaluation (scripts/tempo_ninth_eval.py: the same commands, judgements, controls and per-split
comparison) on the tenth pass's blind split.

    .venv/bin/python scripts/tempo_tenth_eval.py run NAME OUT.json RENDERED_SET_DIR holdout12 TRACKS.pkl
    .venv/bin/python scripts/tempo_tenth_eval.py compare FROZEN.json SHIPPED.json

``compare`` prints the ninth pass's per-split condition (right not fewer); the tenth pass's rule asks for more right
judgements, applied in the notes.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tempo_ninth_eval import main  # noqa: E402

BLIND = ("holdout12",)

if __name__ == "__main__":
    main(sys.argv, blind=BLIND)
