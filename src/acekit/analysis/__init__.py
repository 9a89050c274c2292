"""Pure-function analysers of generated music, and `analyze_clip` that runs them all.

Libraries: essentia (``RhythmExtractor2013`` beats/tempo, ``KeyExtractor`` with the EDMA
profile), pyloudnorm (BS.1770 loudness), soxr (resampling), scipy/librosa filters (mel).
Thresholds were calibrated on the rendered calibration set (`acekit.calibration`).
"""

from __future__ import annotations

import importlib
from typing import Any

# Names load on first use (PEP 562): `acekit.analysis.trust` is plain data that the capabilities
# document reads, and importing it should not load essentia, librosa and scipy (seconds).
_HOME = {
    "AudioLoadError": "audio", "load_audio": "audio",
    "BeatGridResult": "beatgrid", "analyze_beat_grid": "beatgrid",
    "BoundaryResult": "boundaries", "analyze_boundaries": "boundaries",
    "ClipAnalysis": "clip", "Thresholds": "clip", "analyze_audio": "clip", "analyze_clip": "clip", "judge": "clip",
    "check_health": "clip",
    "HealthResult": "health", "analyze_health": "health",
    "KeyResult": "key", "analyze_key": "key", "mirex_key_score": "key",
    "PreservationResult": "preservation", "analyze_preservation": "preservation",
    "BeatTrack": "tempo", "TempoResult": "tempo", "analyze_tempo": "tempo", "track_beats": "tempo",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AudioLoadError", "BeatGridResult", "BeatTrack", "BoundaryResult", "ClipAnalysis", "HealthResult", "KeyResult",
    "PreservationResult", "TempoResult", "Thresholds", "analyze_audio", "analyze_beat_grid", "analyze_boundaries",
    "analyze_clip", "analyze_health", "check_health", "analyze_key", "analyze_preservation", "analyze_tempo", "judge", "load_audio",
    "mirex_key_score", "track_beats",
]
