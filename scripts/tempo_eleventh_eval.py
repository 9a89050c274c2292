"""Tempo, eleventh pass: the ONE evaluation on the blind split (notes/tempo-eleventh-pass.md), run after the freeze
commit. The ninth pass's evaluation (scripts/tempo_ninth_eval.py: the same commands, judgements, controls and per-split
comparison) on the eleventh pass's blind split.

    .venv/bin/python scripts/tempo_eleventh_eval.py run NAME OUT.json RENDERED_SET_DIR holdout13 TRACKS.pkl
    .venv/bin/python scripts/tempo_eleventh_eval.py compare FROZEN.json SHIPPED.json

``compare`` prints the ninth pass's per-split condition (right not fewer); the eleventh pass's rule asks for more right
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
