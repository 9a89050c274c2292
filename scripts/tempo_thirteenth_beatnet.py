"""The tempo thirteenth pass's pulse network (notes/tempo-thirteenth-pass.md), for its scripts.

The network now ships as `acekit.analysis.beatnet` (tempo fourteenth pass); this module is that code, not a copy:
the dev and training scripts import it under their old name. Weights: the package's beatnet_weights.npz (byte for
byte notes/tempo-thirteenth-pass-weights.npz, the pass's record); TEMPO13_WEIGHTS names another file for `PulseNet.load`
callers that pass it.
"""
from __future__ import annotations

import os
from pathlib import Path

from acekit.analysis.beatnet import (  # noqa: F401  (re-exported for the pass's scripts)
    DILATIONS,
    FILTERS,
    FPS,
    HOP,
    KERNEL,
    N_FFT,
    N_MELS,
    SR,
    TEMPO_BPM,
    PulseNet,
    beat_features,
    check_input,
    default_net,
    mass_near,
    mass_near_any,
    pulse_probabilities,
)
from acekit.analysis.beatnet import WEIGHTS as _PACKAGE_WEIGHTS

WEIGHTS = Path(os.environ.get("TEMPO13_WEIGHTS", _PACKAGE_WEIGHTS))
