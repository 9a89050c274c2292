"""One parser for every way people write a musical key.

Accepts "A minor", "Am", "a:min", "A Minor", "F#m", "Gb major", "C", "Bbmin", "E♭ major",
"c# minor", "A-minor", "Amin", "Amaj". Emits upstream's canonical ``keyscale`` form,
``"<Note><accidental> <major|minor>"`` (ACE-Step ``constants.VALID_KEYSCALES``), keeping
the user's enharmonic spelling (Gb stays Gb) because the model saw both spellings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Mode = Literal["major", "minor"]

_NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTAL = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
_MODE_WORDS = {
    "": "major", "maj": "major", "major": "major", "ma": "major", "dur": "major", "M": "major",
    "m": "minor", "min": "minor", "minor": "minor", "mi": "minor", "moll": "minor", "-": "minor",
}
_PATTERN = re.compile(r"^\s*([A-Ga-g])\s*(#|♯|b|♭|sharp|flat)?\s*[:\-_ ]?\s*([A-Za-z]*|-)\s*$")
#: Sharp spelling for each pitch class, used when a key is built from a pitch class.
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class KeyParseError(ValueError):
    """The text is not a key this parser understands."""


@dataclass(frozen=True)
class Key:
    """A major or minor key. ``tonic`` keeps the spelling given; ``pitch_class`` is 0 (C) .. 11 (B)."""

    tonic: str
    mode: Mode

    @property
    def pitch_class(self) -> int:
        return (_NATURAL_PC[self.tonic[0]] + _ACCIDENTAL[self.tonic[1:]]) % 12

    @property
    def canonical(self) -> str:
        """Upstream's keyscale spelling, e.g. ``"A minor"``."""
        return f"{self.tonic} {self.mode}"

    @classmethod
    def from_pitch_class(cls, pitch_class: int, mode: Mode) -> "Key":
        return cls(SHARP_NAMES[pitch_class % 12], mode)

    def same_key(self, other: "Key") -> bool:
        """Equal up to enharmonic spelling (F# major == Gb major)."""
        return self.pitch_class == other.pitch_class and self.mode == other.mode

    def __str__(self) -> str:
        return self.canonical


def parse_key(text: str | Key) -> Key:
    """Parse a key in any common spelling; raise `KeyParseError` saying what is accepted.

    >>> parse_key("F#m").canonical
    'F# minor'
    >>> parse_key("a:min").canonical
    'A minor'
    """
    if isinstance(text, Key):
        return text
    if not isinstance(text, str) or not text.strip():
        raise KeyParseError("empty key: write e.g. 'A minor', 'Am', 'F#m' or 'Gb major'")
    raw = text.strip()
    m = _PATTERN.match(raw)
    if not m:
        raise KeyParseError(f"cannot read key {text!r}: write e.g. 'A minor', 'Am', 'a:min', 'F#m' or 'Gb major'")
    letter, accidental, mode_word = m.group(1).upper(), m.group(2) or "", m.group(3) or ""
    accidental = {"sharp": "#", "flat": "b", "♯": "#", "♭": "b"}.get(accidental, accidental)
    # "M" alone means major, "m" minor: only the exact case carries that; other words are case-free.
    mode = _MODE_WORDS.get(mode_word) if mode_word in ("M", "m") else _MODE_WORDS.get(mode_word.lower())
    if mode is None:
        raise KeyParseError(f"cannot read mode {mode_word!r} in key {text!r}: use 'major' or 'minor' (or 'm' for minor)")
    return Key(letter + accidental, mode)  # type: ignore[arg-type]


def canonical_key(text: str | Key) -> str:
    """Shorthand for ``parse_key(text).canonical``."""
    return parse_key(text).canonical
