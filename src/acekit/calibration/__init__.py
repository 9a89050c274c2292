"""Calibration set: MIDI with known truth rendered through fluidsynth, plus edited variants.

Render it with ``acekit calibrate [OUT_DIR]``, ``python -m acekit.calibration [OUT_DIR]`` or
`build_calibration_set`. Names are resolved lazily so ``python -m acekit.calibration.build``
does not import the module twice.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CalibrationClip", "CalibrationSet", "ClipTruth", "build_calibration_set", "default_cache_dir"]


def __getattr__(name: str) -> Any:
    if name in ("build_calibration_set", "default_cache_dir"):
        from acekit.calibration import build

        return getattr(build, name)
    if name in ("CalibrationClip", "CalibrationSet", "ClipTruth"):
        from acekit.calibration import manifest

        return getattr(manifest, name)
    raise AttributeError(f"module 'acekit.calibration' has no attribute {name!r}")
