"""The source's own metas (bpm, key, time signature, duration) as defaults for an edit request.

A DAW edit (repaint, cover, lego, extract, complete) must fit the source. Upstream ACE-Step
(53067ab) lets its 5 Hz LM fill every meta a lego or complete request leaves empty, and the LM
never hears the source: it was seen choosing 120 bpm, C major, 4/4 and 30 s for a clip that was
none of these. So before submitting, acekit measures what the caller did not give with its own
analysers and sends it; what the caller gave (the DAW's host tempo via ``--bpm``) always wins.

A measurement is only sent when the analyser is confident; otherwise the meta is left to the
server and the reason is recorded (`acekit.models.MetaSource`), so a sidecar never passes an
unreliable guess off as the source's tempo or key:

* bpm: essentia's beat-tracker confidence at least `BPM_MIN_CONFIDENCE`; rounded (the API takes
  an integer). Octave errors (×2, ×½) are possible at any confidence: the DAW should pass ``--bpm``.
* key: only when `acekit.analysis.key.analyze_key` (with `acekit.analysis.clip.Thresholds`' key
  thresholds, as the report judges keys) does not flag it: a key the analyser calls unreliable (too
  short, weak, or not read alike and unflagged by the profile estimator) is not sent as measured.
* time signature: `acekit.analysis.meter` (3/4 vs 4/4 only) at least its `MIN_CONFIDENCE`.
* duration: the file's length, when inside upstream's 10-600 s.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from acekit import contract
from acekit.models import META_FIELDS, MetaSource, TaskRequest

#: Beat-tracker confidence (essentia's 0..5.32 scaled to 0..1) below which the tempo is not sent.
#: essentia's own guide: raw < 1 poor, 1.5-3.5 good; 1.5 raw is 0.28.
BPM_MIN_CONFIDENCE = 0.28


class SourceMetas(BaseModel):
    """What acekit's analysers measured on a source file (raw, before any decision)."""

    path: str
    duration_s: float
    bpm: float
    bpm_confidence: float
    key: str | None
    key_strength: float
    #: `analyze_key` flagged the key (``key_ambiguity`` says why): it is not sent
    key_ambiguous: bool = False
    key_ambiguity: str | None = None
    #: the key's pooled probability (the logit model and the key network; None on silence or in older records)
    key_probability: float | None = None
    time_signature: str | None
    meter_confidence: float


def measure_source_metas(path: Path | str) -> SourceMetas:
    """Run the tempo, key and meter analysers on ``path`` once."""
    from acekit.analysis.audio import load_audio
    from acekit.analysis.clip import Thresholds
    from acekit.analysis.key import analyze_key
    from acekit.analysis.meter import estimate_meter
    from acekit.analysis.tempo import track_beats

    y, sr = load_audio(path)
    beats = track_beats(y, sr)
    th = Thresholds()  # the key thresholds the report judges keys with: one home
    key = analyze_key(y, sr, **th.key_options())
    meter = estimate_meter(y, sr, beat_track=beats)
    return SourceMetas(
        path=str(path), duration_s=round(y.size / sr, 3), bpm=round(beats.bpm, 2),
        bpm_confidence=round(beats.confidence, 4), key=key.key, key_strength=key.strength,
        key_ambiguous=key.ambiguous, key_ambiguity=key.ambiguity, key_probability=key.probability, time_signature=meter.time_signature,
        meter_confidence=meter.confidence,
    )


def decide(measured: SourceMetas) -> dict[str, MetaSource]:
    """Per meta, the value to send (``source="measured"``) or why not (``source="server"``)."""
    from acekit.analysis.key import AMBIGUOUS_STRENGTH
    from acekit.analysis.meter import MIN_CONFIDENCE as METER_MIN_CONFIDENCE

    out: dict[str, MetaSource] = {}
    bpm = int(round(measured.bpm))
    if measured.bpm <= 0:
        out["bpm"] = MetaSource(source="server", note="no beats found in the source: tempo not sent")
    elif measured.bpm_confidence < BPM_MIN_CONFIDENCE:
        out["bpm"] = MetaSource(source="server", confidence=measured.bpm_confidence,
                                note=f"tempo estimate {measured.bpm:g} bpm has confidence {measured.bpm_confidence:.2f} "
                                     f"< {BPM_MIN_CONFIDENCE}: not sent; pass --bpm")
    elif not contract.BPM_MIN <= bpm <= contract.BPM_MAX:
        out["bpm"] = MetaSource(source="server", confidence=measured.bpm_confidence,
                                note=f"tempo estimate {bpm} bpm is outside {contract.BPM_MIN}-{contract.BPM_MAX}: not sent")
    else:
        out["bpm"] = MetaSource(source="measured", value=bpm, confidence=measured.bpm_confidence,
                                note="essentia beat tracker on the source (octave errors possible: pass --bpm)")
    if measured.key is None:
        out["key_scale"] = MetaSource(source="server", note="the source is silent: key not sent")
    elif measured.key_ambiguous:
        out["key_scale"] = MetaSource(source="server", confidence=measured.key_strength,
                                      note=f"key estimate {measured.key} is ambiguous ({measured.key_ambiguity}): "
                                           "the key analyser calls it unreliable, not sent; pass --key")
    elif measured.key_strength < AMBIGUOUS_STRENGTH:
        out["key_scale"] = MetaSource(source="server", confidence=measured.key_strength,
                                      note=f"key estimate {measured.key} has strength {measured.key_strength:.2f} "
                                           f"< {AMBIGUOUS_STRENGTH}: ambiguous, not sent; pass --key")
    else:
        out["key_scale"] = MetaSource(source="measured", value=measured.key, confidence=measured.key_strength,
                                      note="acekit key estimator on the source (acekit.analysis.key.analyze_key: "
                                           "a learned key model over HPCP, bass chroma and KK+T read with a key "
                                           "network; not flagged" + (
                                               f"; pooled probability {measured.key_probability:.2f})"
                                               if measured.key_probability is not None else ")"))
    if measured.time_signature is None:
        out["time_signature"] = MetaSource(source="server", note="too few beats to measure the meter: not sent")
    elif measured.meter_confidence < METER_MIN_CONFIDENCE:
        out["time_signature"] = MetaSource(
            source="server", confidence=measured.meter_confidence,
            note=f"meter estimate {contract.TIME_SIGNATURES[measured.time_signature]} has confidence "
                 f"{measured.meter_confidence:.2f} < {METER_MIN_CONFIDENCE}: not sent; pass --time-signature")
    else:
        out["time_signature"] = MetaSource(
            source="measured", value=measured.time_signature, confidence=measured.meter_confidence,
            note="acekit meter estimate (3/4 vs 4/4 only; 2/4 and 6/8 read as 4/4 and 3/4)")
    d = measured.duration_s
    if contract.DURATION_MIN_S <= d <= contract.DURATION_MAX_S:
        out["duration_s"] = MetaSource(source="measured", value=round(d, 2), note="length of the source file")
    else:
        out["duration_s"] = MetaSource(
            source="server", note=f"the source is {d:.1f} s, outside upstream's "
                                  f"{contract.DURATION_MIN_S:g}-{contract.DURATION_MAX_S:g} s: duration not sent")
    return out


def fill_from_source(request: TaskRequest, source: Path | str, *,
                     measured: SourceMetas | None = None) -> TaskRequest:
    """A copy of ``request`` whose metas left empty are set from ``source`` (see the module doc).

    Nothing happens for a task without a source, when every meta is given, or when the caller asked
    the LM to fill the empty metas (``lm_fill``): then they are left to the server on purpose.
    ``measured`` reuses a measurement (the matrix measures each source once).
    """
    if not request.needs_source or request.lm_fill:
        return request
    missing = [name for name in META_FIELDS if getattr(request, name) is None]
    if not missing:
        return request
    if measured is None:
        try:
            measured = measure_source_metas(source)
        except Exception as exc:  # a file the analysers cannot read: the server still may; say why nothing was sent
            why = f"could not measure the source ({type(exc).__name__}: {exc}): not sent"
            decisions = {name: MetaSource(source="server", note=why) for name in META_FIELDS}
        else:
            decisions = decide(measured)
    else:
        decisions = decide(measured)
    updates: dict = {}
    recorded = dict(request.measured)
    for name in missing:
        choice = decisions[name]
        recorded[name] = choice
        if choice.source == "measured":
            updates[name] = choice.value
    return request.model_copy(update={**updates, "measured": recorded})
