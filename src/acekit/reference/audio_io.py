"""Read source audio and write results, at the engine's 48 kHz stereo, with soundfile (libsndfile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from acekit.audiofile import unreadable_reason
from acekit.reference.engine import SAMPLE_RATE


class AudioDecodeError(ValueError):
    """The uploaded source is not audio libsndfile can read."""


def load_audio(path: Path | str, *, display_name: str | None = None) -> np.ndarray:
    """Decode any libsndfile format (wav, flac, ogg, mp3) to float32 ``(n, 2)`` at 48 kHz."""
    name = display_name or Path(path).name
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception:  # libsndfile raises LibsndfileError / RuntimeError subclasses; its words mislead
        reason = unreadable_reason(path)
        raise AudioDecodeError(
            f"cannot decode source audio {name!r}: {reason}; send wav, flac, ogg or mp3"
        ) from None
    if audio.size == 0:
        raise AudioDecodeError(f"source audio {name!r} is empty")
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    elif audio.shape[1] > 2:
        audio = audio[:, :2]
    if sr != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, sr, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(audio)


def mp3_supported() -> bool:
    return "MP3" in sf.available_formats()


def write_audio(path: Path, audio: np.ndarray, audio_format: str) -> tuple[Path, str]:
    """Write ``audio`` as ``audio_format``; returns (path written, format used).

    MP3 needs libsndfile >= 1.1 and opus >= 1.0.29; libsndfile has no AAC encoder. Where a format is
    missing we write wav and say so (callers report it). ``wav32`` is upstream's 32-bit float wav (``.wav``).
    """
    fmt = audio_format.lower()
    if (fmt == "mp3" and not mp3_supported()) or (fmt == "opus" and "OPUS" not in sf.available_subtypes("OGG")) \
            or fmt == "aac":
        fmt = "wav"
    path = path.with_suffix(".wav" if fmt == "wav32" else "." + fmt)
    clipped = np.clip(audio, -1.0, 1.0)
    if fmt == "mp3":
        sf.write(str(path), clipped, SAMPLE_RATE, format="MP3", subtype="MPEG_LAYER_III")
    elif fmt == "flac":
        sf.write(str(path), clipped, SAMPLE_RATE, format="FLAC", subtype="PCM_24")
    elif fmt == "opus":
        sf.write(str(path), clipped, SAMPLE_RATE, format="OGG", subtype="OPUS")
    elif fmt == "wav32":
        sf.write(str(path), clipped, SAMPLE_RATE, format="WAV", subtype="FLOAT")
    else:
        sf.write(str(path), clipped, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return path, fmt
