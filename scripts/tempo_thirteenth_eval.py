"""Tempo, thirteenth pass: the ONE evaluation on the blind split (notes/tempo-thirteenth-pass.md), run after the freeze
commit. The ninth pass's evaluation (scripts/tempo_ninth_eval.py: the calibration test's `_tempo_cases` /
`_tempo_figures`, the 19 controls, the same beat tracks for both designs) on holdout13 only.

    .venv/bin/python scripts/tempo_thirteenth_eval.py run NAME OUT.json RENDERED_SET_DIR holdout13 TRACKS.pkl
    .venv/bin/python scripts/tempo_thirteenth_eval.py compare FROZEN.json SHIPPED.json

The shipped design runs from main's ``src`` (``git -C /work/main archive``) first on PYTHONPATH; the frozen from this
tree. The ship rule (right more, wrong not more, no control newly passing, speed) is applied in the notes.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tempo_ninth_eval import main  # noqa: E402

BLIND = ("holdout13",)

if __name__ == "__main__":
    main(sys.argv, blind=BLIND)
