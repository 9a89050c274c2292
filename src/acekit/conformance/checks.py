"""What a conformance job expects to reach upstream's model, and the comparison against what did.

Pure functions over the stand-ins' records (see ``launcher.py``): one record per call, in order,
``pipeline`` (upstream's GenerationParams/Config as its HTTP layer built them), ``lm`` (a call to
the 5 Hz LM) and ``dit`` (the arguments upstream's pipeline gave the DiT). Every comparison becomes
one `Check`, so the summary counts parameters, not jobs.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field

#: What the stand-in LM answers (launcher.LM_INVENTED): a DiT argument equal to one of these, when
#: the user did not ask for the LM, means the LM overrode the DAW. Kept in step by a test.
LM_INVENTED = {
    "bpm": 137,
    "key_scale": "F# minor",
    "time_signature": "6",
    "captions": "LM-INVENTED CAPTION",
}
#: Seconds of slack when comparing audio lengths (resampling, mp3 frame padding).
LENGTH_TOLERANCE_S = 0.1
#: The CoT switches upstream's pipeline reads (inference.GenerationParams).
COT_SWITCHES = ("use_cot_caption", "use_cot_language", "use_cot_metas")
#: DiT arguments that name "to the end of the source" when None or -1.
_TO_THE_END = {"repainting_end"}


class Check(BaseModel):
    """One compared parameter of one job."""

    surface: str  # client, cli, curl, gateway, matrix
    job: str
    parameter: str
    expected: Any = None
    actual: Any = None
    passed: bool
    note: str = ""


class Expectation(BaseModel):
    """What one job must deliver to upstream's model."""

    surface: str
    job: str
    #: DiT argument name -> intended value (``captions``, ``bpm``, ``key_scale``, ``audio_duration`` ...).
    dit: dict[str, Any] = Field(default_factory=dict)
    #: DiT model (the loaded config name) the job must run on; None = the server's default.
    model: str | None = None
    #: Raw /release_task fields acekit must send explicitly (``thinking``, the CoT switches) -> value.
    sent: dict[str, Any] = Field(default_factory=dict)
    #: Upstream pipeline params (``thinking``, CoT switches) -> intended value. ``use_cot_metas`` is
    #: compared only where upstream honours the request's value (see `upstream_limitations`).
    pipeline: dict[str, Any] = Field(default_factory=dict)
    #: Pipeline config (``audio_format``) -> intended value.
    config: dict[str, Any] = Field(default_factory=dict)
    #: Whether the 5 Hz LM must run (None: not checked). False also accepts the metas-only CoT that
    #: upstream forces when it ignores ``use_cot_metas``, provided it ran with acekit's switches and
    #: got every meta the user gave (so it could invent none).
    lm_called: bool | None = None
    #: Length of the uploaded source / reference the DiT must receive (None: no upload).
    src_seconds: float | None = None
    reference_seconds: float | None = None
    #: Length of the output (None: the source's, when the task is source-locked; not checked otherwise).
    output_seconds: float | None = None
    #: Audio files the client must end up with, and their format.
    files: int | None = None
    audio_format: str | None = None
    #: Metas the user left empty that acekit must measure from the source and send (CLI edit tasks):
    #: DiT argument -> the source's true value (the fixture is made with it).
    measured_metas: dict[str, Any] = Field(default_factory=dict)
    #: User-given DiT values: those must never be the LM's invention. Fields not listed here are
    #: still checked against the LM's inventions when the LM was not asked for.
    guard_invented: bool = True


def _close(a: Any, b: Any, tol: float = 1e-6) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=tol)
    except (TypeError, ValueError):
        return False


_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def values_equal(parameter: str, expected: Any, actual: Any) -> bool:
    """Equality as the model sees it: numbers numerically, seeds as the first seed, ends of -1/None alike,
    booleans also as multipart sends them ("false")."""
    if parameter in _TO_THE_END and expected in (None, -1, -1.0):
        return actual in (None, -1, -1.0)
    if parameter == "seed":
        first = str(actual).split(",")[0].strip() if actual not in (None, "") else ""
        return first == str(expected)
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        if isinstance(actual, str):
            return actual.strip().lower() in (_TRUE if expected else _FALSE)
        return isinstance(actual, bool) and actual is expected
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return _close(expected, actual)
    if isinstance(expected, str):
        return isinstance(actual, str) and actual.strip() == expected.strip()
    return expected == actual


def split_records(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"request": [], "pipeline": [], "lm": [], "dit": []}
    for rec in records:
        out.setdefault(rec.get("call", "?"), []).append(rec)
    return out


def compare(expectation: Expectation, records: list[dict[str, Any]], downloads: list[dict[str, Any]] | None = None) -> list[Check]:
    """Every check of one job, from the records its run appended and the files the client wrote.

    ``downloads``: one dict per audio file the surface produced: ``{"path", "format", "seconds"}``
    (``format`` read from the file's header, ``seconds`` None when it cannot be decoded here).
    """
    e = expectation
    calls = split_records(records)

    def check(parameter: str, expected: Any, actual: Any, passed: bool, note: str = "") -> Check:
        return Check(surface=e.surface, job=e.job, parameter=parameter, expected=expected, actual=actual, passed=passed, note=note)

    checks: list[Check] = [
        check("dit_calls", 1, len(calls["dit"]), len(calls["dit"]) == 1, "one DiT call per job"),
    ]
    if not calls["dit"]:
        return checks
    dit = calls["dit"][-1]
    params = dit.get("params", {})
    for name, want in e.dit.items():
        got = params.get(name)
        checks.append(check(name, want, got, values_equal(name, want, got)))
    for name, want in e.measured_metas.items():
        got = params.get(name)
        checks.append(check(f"{name} (measured from source)", want, got, values_equal(name, want, got),
                            "the user gave none: acekit measures it from SRC"))
    if e.model is not None:
        checks.append(check("model", e.model, dit.get("model"), dit.get("model") == e.model, "the DiT the job ran on"))
    if e.guard_invented and not e.lm_called:
        for name, invented in LM_INVENTED.items():
            got = params.get(name)
            if values_equal(name, invented, got):
                checks.append(check(f"{name} (not LM-invented)", f"not {invented!r}", got, False,
                                    "the LM's invention reached the DiT although the user did not ask for the LM"))
    request = calls["request"][0].get("fields", {}) if calls["request"] else None
    for name, want in e.sent.items():
        got = None if request is None else request.get(name)
        checks.append(check(f"{name} (sent)", want, got, values_equal(name, want, got),
                            "sent explicitly in /release_task" if got is not None else "not sent: the server default decides"))
    pipeline = calls["pipeline"][-1] if calls["pipeline"] else None
    forced_metas = forced_metas_cot(records)
    for name, want in e.pipeline.items():
        got = None if pipeline is None else pipeline.get("params", {}).get(name)
        if name == "use_cot_metas" and forced_metas:
            continue  # upstream ignores the request's value at this ref: reported as a limitation
        checks.append(check(name, want, got, values_equal(name, want, got), "as upstream's HTTP layer built it"))
    for name, want in e.config.items():
        got = None if pipeline is None else pipeline.get("config", {}).get(name)
        checks.append(check(name, want, got, values_equal(name, want, got), "as upstream's HTTP layer built it"))
    if e.lm_called is not None:
        lm = calls["lm"]
        note, passed = "", bool(lm) == e.lm_called
        if lm:
            p = lm[-1].get("params", {})
            note = "LM ran with " + ", ".join(f"{k}={p.get(k)}" for k in ("infer_type", *COT_SWITCHES))
            if not e.lm_called and forced_metas:
                missing = _metas_not_passed(e, p)
                passed = (p.get("infer_type") == "dit" and p.get("use_cot_caption") is False
                          and p.get("use_cot_language") is False and not missing)
                note += ("; only upstream's forced metas CoT, every given meta passed to it as the user's"
                         if passed else f"; metas the LM was not told: {', '.join(missing) or 'none'}")
        expected: Any = e.lm_called
        if not e.lm_called and forced_metas:
            expected = "False, or only upstream's forced metas CoT told every meta"
        checks.append(check("lm_called", expected, bool(lm), passed, note))
    if e.src_seconds is not None:
        info = dit.get("src_audio_info") or {}
        got = info.get("seconds")
        checks.append(check("src_audio seconds", e.src_seconds, got, got is not None and _close(e.src_seconds, got, LENGTH_TOLERANCE_S),
                            f"read by {info.get('reader', 'nobody')}"))
    if e.reference_seconds is not None:
        info = dit.get("reference_audio_info") or {}
        got = info.get("seconds")
        checks.append(check("reference_audio seconds", e.reference_seconds, got,
                            got is not None and _close(e.reference_seconds, got, LENGTH_TOLERANCE_S), f"read by {info.get('reader', 'nobody')}"))
    if e.output_seconds is not None:
        got = dit.get("output_seconds")
        checks.append(check("output seconds", e.output_seconds, got, got is not None and _close(e.output_seconds, got, LENGTH_TOLERANCE_S),
                            f"length from {dit.get('output_seconds_from')}"))
    if downloads is not None:
        if e.files is not None:
            checks.append(check("files", e.files, len(downloads), len(downloads) == e.files, "audio files downloaded"))
        for i, d in enumerate(downloads):
            if e.audio_format is not None:
                checks.append(check(f"file {i} format", e.audio_format, d.get("format"), d.get("format") == e.audio_format, str(d.get("path"))))
            if d.get("seconds") is not None:
                want = dit.get("output_seconds")
                checks.append(check(f"file {i} seconds", want, d["seconds"], _close(want, d["seconds"], LENGTH_TOLERANCE_S),
                                    "saved by upstream's own AudioSaver"))
    return checks


#: DiT argument -> the LM's user_metadata key for the same meta.
_LM_META_KEYS = {"bpm": "bpm", "key_scale": "keyscale", "time_signature": "timesignature"}


def _metas_not_passed(e: Expectation, lm_params: dict[str, Any]) -> list[str]:
    """Metas the user gave that the LM call did not receive as user metadata (so it could overwrite them)."""
    user = lm_params.get("user_metadata") or {}
    wanted = [name for name in _LM_META_KEYS if e.dit.get(name) is not None or name in e.measured_metas]
    return [name for name in wanted if _LM_META_KEYS[name] not in user]


def forced_metas_cot(records: list[dict[str, Any]]) -> bool:
    """True when acekit sent ``use_cot_metas`` false and upstream's pipeline still built it true."""
    calls = split_records(records)
    if not calls["request"] or not calls["pipeline"]:
        return False
    sent = calls["request"][0].get("fields", {}).get("use_cot_metas")
    built = calls["pipeline"][-1].get("params", {}).get("use_cot_metas")
    return sent is not None and values_equal("use_cot_metas", False, sent) and built is True


def upstream_limitations(records: list[dict[str, Any]]) -> list[str]:
    """What upstream does with acekit's request that acekit cannot change (reported, not counted)."""
    if forced_metas_cot(records):
        return ["upstream ignores the request's use_cot_metas at this ref (it builds use_cot_metas = not sample_mode): "
                "with the LM loaded, text2music, lego and complete still run a metas-only CoT; acekit sends every meta "
                "(given or measured from the source) so the LM has nothing left to fill"]
    return []


def sniff_format(head: bytes) -> str | None:
    """Audio container from a file's first bytes (what was saved, whatever the name says)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "opus" if b"OpusHead" in head[:64] else "ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head[4:8] == b"ftyp":
        return "aac"
    return None
