"""Pure-function analysers of generated music, and `analyze_clip` that runs them all.

Libraries: essentia (``RhythmExtractor2013`` beats/tempo, ``KeyExtractor`` with the EDMA
profile), pyloudnorm (BS.1770 loudness), soxr (resampling), scipy/librosa filters (mel).
Thresholds were calibrated on the rendered calibration set (`acekit.calibration`).
"""

from acekit.analysis.audio import AudioLoadError, load_audio
from acekit.analysis.beatgrid import BeatGridResult, analyze_beat_grid
from acekit.analysis.boundaries import BoundaryResult, analyze_boundaries
from acekit.analysis.clip import ClipAnalysis, Thresholds, analyze_audio, analyze_clip, judge
from acekit.analysis.health import HealthResult, analyze_health
from acekit.analysis.key import KeyResult, analyze_key, mirex_key_score
from acekit.analysis.preservation import PreservationResult, analyze_preservation
from acekit.analysis.tempo import BeatTrack, TempoResult, analyze_tempo, track_beats

__all__ = [
    "AudioLoadError", "BeatGridResult", "BeatTrack", "BoundaryResult", "ClipAnalysis", "HealthResult", "KeyResult",
    "PreservationResult", "TempoResult", "Thresholds", "analyze_audio", "analyze_beat_grid", "analyze_boundaries",
    "analyze_clip", "analyze_health", "analyze_key", "analyze_preservation", "analyze_tempo", "judge", "load_audio",
    "mirex_key_score", "track_beats",
]
