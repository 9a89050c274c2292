"""Compress a clip into a ``data:`` URI so the report plays it when opened on its own."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import soundfile as sf

EMBED_SAMPLE_RATE = 22050


def embed_audio(path: Path, *, max_s: float = 30.0, sample_rate: int = EMBED_SAMPLE_RATE) -> str | None:
    """Mono MP3 at ``sample_rate`` as ``data:audio/mpeg;base64,...``; None if the file cannot be read.

    MP3 because every browser plays it; mono 22 kHz because a 20 s clip then costs ~60-100 KB
    of base64, which keeps a report with a dozen players small enough to mail.
    """
    try:
        data, sr = sf.read(str(path), always_2d=True, dtype="float32")
    except Exception:  # an unreadable clip just gets no embedded player
        return None
    mono = data[: int(max_s * sr)].mean(axis=1)
    mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    if sr != sample_rate:
        import soxr

        mono = soxr.resample(mono, sr, sample_rate)
    buf = io.BytesIO()
    try:
        sf.write(buf, np.clip(mono, -1.0, 1.0), sample_rate, format="MP3", subtype="MPEG_LAYER_III",
                 compression_level=0.6)
        mime = "audio/mpeg"
    except Exception:  # libsndfile without MP3: fall back to Ogg Vorbis
        buf = io.BytesIO()
        sf.write(buf, np.clip(mono, -1.0, 1.0), sample_rate, format="OGG", subtype="VORBIS")
        mime = "audio/ogg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode()}"
