"""Is this file audio acekit can read, and if not, what is wrong with it, in words a user can act on.

libsndfile's own errors mislead: it picks its MP3 decoder by the ``.mp3`` suffix and reports a
corrupt or non-MP3 file as "File does not exist or is not a regular file (possibly a pipe?)", and
a text file named ``.wav`` as "Format not recognised". `unreadable_reason` looks at the file's
first bytes instead and says what it is (empty, text, a known format that does not decode, or
nothing acekit reads). Used by the CLI before an upload, by the analysers and by the reference
backend for an uploaded source.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

READABLE_FORMATS = "WAV, FLAC, OGG or MP3"
CONVERT_HINT = "convert it with e.g. `ffmpeg -i IN OUT.wav`"


class UnreadableAudio(ValueError):
    """The file is missing, empty, or not audio libsndfile can decode; the message says which."""


def _kind(head: bytes) -> str | None:
    """The audio format the first bytes announce, if any."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "OGG"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    if head[:4] in (b"FORM", b"caff") or head[4:8] == b"ftyp":
        return {b"FORM": "AIFF", b"caff": "CAF"}.get(head[:4], "MP4/AAC")
    return None


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(text) and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) >= 0.95 * len(text)


def unreadable_reason(path: Path | str) -> str:
    """Why ``path`` cannot be read as audio (call it once libsndfile has failed on the file)."""
    path = Path(path)
    if not path.exists():
        return "no such file: check the path"
    if not path.is_file():
        return "not a regular file (a folder, pipe or device): give an audio file"
    size = path.stat().st_size
    if size == 0:
        return "the file is empty (0 bytes)"
    with open(path, "rb") as fh:
        head = fh.read(512)
    kind = _kind(head)
    if kind in ("AIFF", "CAF", "MP4/AAC"):
        return f"it is {kind} audio, which acekit does not read: send {READABLE_FORMATS} ({CONVERT_HINT})"
    if kind is not None:
        return (f"it has a {kind} header but cannot be decoded ({size} bytes): the file is corrupt or "
                f"truncated; export it again or {CONVERT_HINT}")
    if _looks_like_text(head):
        return (f"it is a text file, not audio (it starts with {head[:40].decode('utf-8', 'replace')!r}): give a "
                f"{READABLE_FORMATS} file, or {CONVERT_HINT}")
    return (f"its content is not {READABLE_FORMATS} audio (first bytes {head[:8].hex(' ')}): the file is corrupt or "
            f"in another format; {CONVERT_HINT}")


def check_audio_file(path: Path | str, *, what: str = "audio") -> None:
    """Open ``path`` and decode its first frames; raise `UnreadableAudio` naming ``what`` and the reason."""
    path = Path(path)
    try:
        with sf.SoundFile(str(path)) as fh:
            if fh.frames == 0:
                raise UnreadableAudio(f"{what} {str(path)!r} holds no samples: give a clip with sound in it")
            fh.read(frames=min(fh.frames, 4096), dtype="float32")
    except UnreadableAudio:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as exc:
        raise UnreadableAudio(f"{what} {str(path)!r} is not readable audio: {unreadable_reason(path)}") from exc
