"""A minimal Standard MIDI File (format 1) writer and tempo map.

Written here rather than depending on mido/pretty_midi at run time: ``acekit calibrate`` only
needs to *write* note, program, tempo and meter events, which is a few dozen lines of the
SMF 1.0 spec. The tests read the files back with mido to prove they are valid.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PPQ = 480  #: ticks per quarter note
DRUM_CHANNEL = 9  #: GM channel 10, zero-based


def _varlen(value: int) -> bytes:
    """SMF variable-length quantity (7 bits per byte, high bit = more follows)."""
    if value < 0:
        raise ValueError(f"negative delta time {value}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


@dataclass
class Track:
    """Events of one track as (tick, order, bytes); ``order`` puts note-offs before note-ons at a tick."""

    name: str
    events: list[tuple[int, int, bytes]] = field(default_factory=list)

    def program(self, channel: int, program: int, *, tick: int = 0) -> None:
        self.events.append((tick, 1, bytes([0xC0 | channel, program & 0x7F])))

    def note(self, channel: int, pitch: int, velocity: int, start_tick: int, end_tick: int) -> None:
        if end_tick <= start_tick:
            raise ValueError(f"note {pitch} ends ({end_tick}) before it starts ({start_tick})")
        pitch = max(0, min(127, pitch))
        velocity = max(1, min(127, velocity))
        self.events.append((start_tick, 2, bytes([0x90 | channel, pitch, velocity])))
        self.events.append((end_tick, 0, bytes([0x80 | channel, pitch, 0])))

    def control(self, channel: int, controller: int, value: int, *, tick: int = 0) -> None:
        self.events.append((tick, 1, bytes([0xB0 | channel, controller & 0x7F, max(0, min(127, value))])))

    def pitch_bend(self, channel: int, value: int, *, tick: int = 0) -> None:
        """14-bit pitch bend, 8192 = none."""
        value = max(0, min(16383, value))
        self.events.append((tick, 1, bytes([0xE0 | channel, value & 0x7F, value >> 7])))

    def tempo(self, tick: int, bpm: float) -> None:
        us = int(round(60_000_000 / bpm))
        self.events.append((tick, 1, b"\xff\x51\x03" + us.to_bytes(3, "big")))

    def time_signature(self, tick: int, numerator: int, denominator: int) -> None:
        dd = denominator.bit_length() - 1
        self.events.append((tick, 1, bytes([0xFF, 0x58, 0x04, numerator, dd, 24, 8])))

    def to_bytes(self) -> bytes:
        body = bytearray()
        name = self.name.encode("ascii", "replace")
        body += b"\x00\xff\x03" + _varlen(len(name)) + name
        last = 0
        for tick, _, data in sorted(self.events, key=lambda e: (e[0], e[1])):
            body += _varlen(tick - last) + data
            last = tick
        body += b"\x00\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_smf(tracks: list[Track], *, ppq: int = PPQ) -> bytes:
    """Serialise tracks as an SMF format-1 file (first track conventionally holds tempo/meter)."""
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), ppq)
    return header + b"".join(t.to_bytes() for t in tracks)


@dataclass(frozen=True)
class TempoMap:
    """Piecewise-constant tempo: ``changes`` is a sorted list of (tick, bpm), first at tick 0."""

    changes: tuple[tuple[int, float], ...]
    ppq: int = PPQ

    def seconds(self, tick: float) -> float:
        """Time in seconds of ``tick`` (quarter-note ticks), integrating over tempo changes.

        Uses the whole microseconds per quarter note that the SMF tempo event stores (what
        fluidsynth plays), not the float bpm: they differ by up to a few µs per beat.
        """
        t = 0.0
        for i, (start, bpm) in enumerate(self.changes):
            quarter_s = round(60_000_000 / bpm) / 1e6
            end = self.changes[i + 1][0] if i + 1 < len(self.changes) else None
            if end is not None and tick >= end:
                t += (end - start) / self.ppq * quarter_s
                continue
            return t + (tick - start) / self.ppq * quarter_s
        return t
