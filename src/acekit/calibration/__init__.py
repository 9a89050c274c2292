"""Calibration set: MIDI with known truth rendered through fluidsynth, plus edited variants."""

from acekit.calibration.build import build_calibration_set, default_cache_dir
from acekit.calibration.manifest import CalibrationClip, CalibrationSet, ClipTruth

__all__ = ["CalibrationClip", "CalibrationSet", "ClipTruth", "build_calibration_set", "default_cache_dir"]
