"""Typed requests and results of the ACE-Step 1.5 REST API (pydantic v2).

Requests validate on construction against the ranges in `acekit.contract` and say the
allowed range when a value is out of it; ``to_api_fields()`` turns them into the
snake_case fields ``POST /release_task`` reads. Results parse upstream's loose shapes
(``result`` is a JSON *string*, metas may be ``"N/A"``) into typed objects and keep the
raw payload next to them.

Upstream facts (ace-step/ACE-Step-1.5, ``acestep/api/http/release_task_param_parser.py``,
``release_task_models.py``, ``query_result_service.py``, ``jobs/local_cache_updates.py``,
``job_result_payload.py``, ``http/model_service_routes.py``).
"""

from __future__ import annotations

import json
import posixpath
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from acekit import contract
from acekit.contract import TaskStatus, TaskType
from acekit.keys import parse_key

__all__ = [
    "META_FIELDS", "LM_TASKS", "MetaSource", "TaskRequest", "Text2MusicRequest", "RepaintRequest", "CoverRequest", "LegoRequest",
    "ExtractRequest", "CompleteRequest", "REQUEST_CLASSES", "make_request",
    "Envelope", "Metas", "AudioItem", "TaskResult", "Progress", "SubmitResult",
    "Health", "ModelEntry", "ModelList", "JobCounts", "Stats", "GenerationOutcome",
    "parse_time_signature", "parse_task_result", "no_task_error_message",
]


# --------------------------------------------------------------------------- requests


def _check_range(name: str, value: float | int | None, lo: float, hi: float, unit: str = "") -> Any:
    if value is None:
        return None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}{unit} (got {value:g})")
    return value


#: Every spelling of a meter we accept, mapped to the API's ``time_signature`` value.
_METER_SPELLINGS = {**{k: k for k in contract.TIME_SIGNATURES}, **{v: k for k, v in contract.TIME_SIGNATURES.items()}}


def parse_time_signature(value: str | int) -> str:
    """Map ``4``, ``"4"``, ``"4/4"`` (and 2/4, 3/4, 6/8) to the API's value ("2"|"3"|"4"|"6")."""
    text = str(value).strip().replace(" ", "")
    if text in _METER_SPELLINGS:
        return _METER_SPELLINGS[text]
    allowed = ", ".join(f"{k} ({v})" for k, v in contract.TIME_SIGNATURES.items())
    raise ValueError(f"time_signature must be one of {allowed}; got {value!r}")


def _track_name(value: str) -> str:
    name = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if name not in contract.TRACK_NAMES:
        raise ValueError(f"unknown track {value!r}: choose from {', '.join(contract.TRACK_NAMES)}")
    return name


#: The metas a DAW sets, as request field names, in the order acekit reports them.
META_FIELDS = ("bpm", "key_scale", "time_signature", "duration_s")
MetaOrigin = Literal["user", "measured", "server"]


class MetaSource(BaseModel):
    """Where one meta of a request came from, for the sidecar and the matrix record.

    ``user``: given by the caller (the DAW), sent as is. ``measured``: measured from the source audio
    by acekit's analysers before submitting (`acekit.source_metas`), sent. ``server``: not sent; the
    server decides (upstream's LM fills it when loaded, for text2music, lego and complete).
    """

    model_config = ConfigDict(extra="forbid")

    source: MetaOrigin
    value: Any = None
    confidence: float | None = None
    note: str | None = None


class TaskRequest(BaseModel):
    """Fields every task shares. Use a subclass per task (`Text2MusicRequest`, ...).

    ``None`` means "let the server decide" and is not sent. ``extra`` carries upstream
    fields acekit does not model (e.g. ``{"lm_temperature": 0.7}``); it is merged last,
    so it can also override a modelled field on purpose.

    The 5 Hz LM's switches are always sent, so no server default decides them (upstream's
    defaults are ``use_cot_caption=true``, ``use_cot_language=true``: the LM rewrites the caption):

    * ``thinking`` (default false): the LM writes audio codes for the DiT.
    * ``lm_fill`` (default false): the LM may fill the metas left empty (``use_cot_metas``) and
      detect the vocal language (``use_cot_language``).
    * ``lm_rewrite_caption`` (default false): the LM may replace the caption (``use_cot_caption``).

    So by default the DiT gets the caption and metas as given. Upstream 53067ab does not read
    ``use_cot_metas`` (it is always on there): a loaded LM fills *every* empty meta of a text2music,
    lego or complete request whatever acekit sends. That is why edit tasks send metas measured from
    the source (`acekit.source_metas`), and why `meta_sources` says which metas were left to the server.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=(), validate_assignment=True)

    #: Fields whose API name differs from ours.
    _API_NAMES: ClassVar[dict[str, str]] = {"duration_s": "audio_duration"}
    #: Fields that are not sent as they are (handled by `_task_fields` or the client).
    _NOT_SENT: ClassVar[frozenset[str]] = frozenset(
        {"extra", "seed", "track", "tracks", "lm_fill", "lm_rewrite_caption", "measured"})

    task_type: TaskType = TaskType.text2music
    prompt: str = Field(default="", validation_alias=AliasChoices("prompt", "caption"))
    lyrics: str = ""
    bpm: int | None = None
    key_scale: str | None = Field(default=None, validation_alias=AliasChoices("key_scale", "keyscale", "key"))
    time_signature: str | None = Field(default=None, validation_alias=AliasChoices("time_signature", "timesignature"))
    duration_s: float | None = Field(
        default=None, validation_alias=AliasChoices("duration_s", "audio_duration", "duration")
    )
    batch_size: int | None = None
    inference_steps: int | None = None
    guidance_scale: float | None = None
    shift: float | None = None
    infer_method: str | None = None
    seed: int | None = None
    thinking: bool = False
    lm_fill: bool = False
    lm_rewrite_caption: bool = False
    model: str | None = None
    lm_model_path: str | None = None
    audio_format: str | None = None
    #: Upstream PR 1129 (not in 53067ab, which ignores both): a registered guidance variant
    #: (`contract.GUIDANCE_VARIANTS`, others passed through) and its parameter overrides.
    guidance_variant: str | None = None
    guidance_params: dict[str, Any] | None = None
    vocal_language: str | None = None
    instruction: str | None = None
    #: Server-side paths (the server must be able to read them); to upload a local file
    #: pass ``src_audio=``/``reference_audio=`` to `Client.submit` instead.
    src_audio_path: str | None = None
    reference_audio_path: str | None = None
    #: Metas acekit measured from the source audio (set by `acekit.source_metas.fill_from_source`); not sent.
    measured: dict[str, MetaSource] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    # -- validation (messages say the allowed range)

    @field_validator("bpm")
    @classmethod
    def _bpm(cls, v: int | None) -> int | None:
        return _check_range("bpm", v, contract.BPM_MIN, contract.BPM_MAX)

    @field_validator("duration_s")
    @classmethod
    def _duration(cls, v: float | None) -> float | None:
        return _check_range("duration_s", v, contract.DURATION_MIN_S, contract.DURATION_MAX_S, " s")

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, v: int | None) -> int | None:
        return _check_range("batch_size", v, contract.BATCH_MIN, contract.BATCH_MAX)

    @field_validator("inference_steps")
    @classmethod
    def _steps(cls, v: int | None) -> int | None:
        # Turbo models cap at MAX_STEPS_TURBO, base at MAX_STEPS_BASE; the model is the server's choice.
        return _check_range("inference_steps", v, 1, contract.MAX_STEPS_BASE)

    @field_validator("guidance_scale", "shift")
    @classmethod
    def _positive(cls, v: float | None, info: Any) -> float | None:
        if v is not None and v <= 0:
            raise ValueError(f"{info.field_name} must be greater than 0 (got {v:g})")
        return v

    @field_validator("seed")
    @classmethod
    def _seed(cls, v: int | None) -> int | None:
        if v is not None and v < -1:
            raise ValueError(f"seed must be >= 0, or -1 for a random seed (got {v})")
        return v

    @field_validator("key_scale", mode="before")
    @classmethod
    def _key(cls, v: Any) -> Any:
        return None if v is None or v == "" else parse_key(v).canonical

    @field_validator("time_signature", mode="before")
    @classmethod
    def _meter(cls, v: Any) -> Any:
        return None if v is None or v == "" else parse_time_signature(v)

    @field_validator("infer_method")
    @classmethod
    def _infer(cls, v: str | None) -> str | None:
        if v is not None and v not in contract.INFER_METHODS:
            raise ValueError(f"infer_method must be one of {', '.join(contract.INFER_METHODS)} (got {v!r})")
        return v

    @field_validator("guidance_variant")
    @classmethod
    def _variant(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError(f"guidance_variant must be a name, e.g. one of {', '.join(contract.GUIDANCE_VARIANTS)}")
        return None if v is None else v.strip()

    @field_validator("audio_format")
    @classmethod
    def _format(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.lower().lstrip(".")
        if v not in contract.AUDIO_FORMATS:
            raise ValueError(f"audio_format must be one of {', '.join(contract.AUDIO_FORMATS)} (got {v!r})")
        return v

    # -- serialisation

    def _task_fields(self) -> dict[str, Any]:
        """Fields a task derives from its own options (instruction from track, ...)."""
        return {}

    def to_api_fields(self) -> dict[str, Any]:
        """The upstream ``/release_task`` fields for this request (snake_case, ``None`` omitted)."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            if name in self._NOT_SENT:
                continue
            value = getattr(self, name)
            if value is None:
                continue
            out[self._API_NAMES.get(name, name)] = value.value if isinstance(value, TaskType) else value
        if self.seed is not None and self.seed >= 0:
            # Upstream ignores ``seed`` unless use_random_seed is false.
            out["seed"] = self.seed
            out["use_random_seed"] = False
        out.update(self.lm_switches())
        for key, value in self._task_fields().items():
            out.setdefault(key, value)
        out.update(self.extra)
        return out

    def lm_switches(self) -> dict[str, bool]:
        """The LM's switches as sent: ``thinking`` and every ``use_cot_*``, always explicit."""
        return {
            "thinking": self.thinking,
            "use_cot_caption": self.lm_rewrite_caption,
            "use_cot_language": self.lm_fill,
            "use_cot_metas": self.lm_fill,
        }

    def lm_mode(self) -> str:
        """One line for humans: what the 5 Hz LM may do with this request."""
        parts = []
        if self.thinking:
            parts.append("writes audio codes (--thinking)")
        if self.lm_fill:
            parts.append("fills the metas left empty and detects the vocal language (--lm-fill)")
        if self.lm_rewrite_caption:
            parts.append("may rewrite the caption (--lm-rewrite-caption)")
        if not parts:
            return ("off: caption and metas reach the DiT as sent (thinking=false, use_cot_*=false); "
                    "a meta left empty is still filled by a loaded LM on upstream 53067ab")
        return "on: the LM " + "; ".join(parts)

    def meta_sources(self) -> dict[str, MetaSource]:
        """Per meta (`META_FIELDS`): given by the user, measured from the source, or left to the server."""
        out: dict[str, MetaSource] = {}
        for name in META_FIELDS:
            value = getattr(self, name)
            if name in self.measured:
                out[name] = self.measured[name]
            elif value is not None:
                out[name] = MetaSource(source="user", value=value)
            else:
                out[name] = MetaSource(source="server", note=_server_meta_note(self.task_type, name))
        return out

    @property
    def needs_source(self) -> bool:
        """True for tasks that edit a source audio (repaint, cover, lego, extract, complete)."""
        return self.task_type in contract.SOURCE_TASKS


#: Tasks for which upstream runs the 5 Hz LM before the DiT (it skips cover, repaint and extract).
LM_TASKS = frozenset({TaskType.text2music, TaskType.lego, TaskType.complete})
#: Tasks whose output length upstream locks to the source (it ignores audio_duration for them).
DURATION_FROM_SOURCE_TASKS = frozenset({TaskType.cover, TaskType.repaint, TaskType.lego, TaskType.extract})


def _server_meta_note(task: TaskType, name: str) -> str:
    if name == "duration_s" and task in DURATION_FROM_SOURCE_TASKS:
        return "not sent: upstream makes the output as long as the source"
    if task in LM_TASKS:
        without = "upstream's DiT falls back to 120 s" if name == "duration_s" else "the DiT goes without it"
        return f"not sent: a server with the 5 Hz LM loaded fills it (upstream always does), else {without}"
    return "not sent: upstream runs no LM for this task, the DiT goes without it"


class Text2MusicRequest(TaskRequest):
    """Generate music from a caption (+ lyrics, metas)."""

    task_type: Literal[TaskType.text2music] = TaskType.text2music


def _check_region(start: float, end: float) -> None:
    """A source region in seconds: 0 <= start < end, or end -1 for "to the end" (upstream's convention)."""
    if start < 0:
        raise ValueError(f"repainting_start must be >= 0 s (got {start:g})")
    if end == -1:
        return
    if end < 0:
        raise ValueError(f"repainting_end must be > repainting_start, or -1 for 'to the end' (got {end:g})")
    if end <= start:
        raise ValueError(
            f"repainting_start ({start:g} s) must be before repainting_end ({end:g} s); "
            f"use repainting_end=-1 to go to the end"
        )


class RepaintRequest(TaskRequest):
    """Regenerate ``repainting_start``..``repainting_end`` seconds of the source (-1 = to the end)."""

    task_type: Literal[TaskType.repaint] = TaskType.repaint
    repainting_start: float = 0.0
    repainting_end: float = -1.0
    # Newer upstream knobs; None = server default (balanced, 0.5, 10 frames, 0 s).
    # At 53067ab mode + strength set both boundary crossfades and the two crossfade knobs are unused
    # (`contract.REPAINT_MODES`); newer servers may read the knobs.
    repaint_mode: Literal["conservative", "balanced", "aggressive"] | None = None
    repaint_strength: float | None = None
    repaint_latent_crossfade_frames: int | None = None
    repaint_wav_crossfade_sec: float | None = None

    @field_validator("repaint_strength")
    @classmethod
    def _strength(cls, v: float | None) -> float | None:
        return _check_range("repaint_strength", v, 0.0, 1.0)

    @field_validator("repaint_latent_crossfade_frames", "repaint_wav_crossfade_sec")
    @classmethod
    def _non_negative(cls, v: float | None, info: Any) -> float | None:
        if v is not None and v < 0:
            raise ValueError(f"{info.field_name} must be >= 0 (got {v:g})")
        return v

    @model_validator(mode="after")
    def _region(self) -> "RepaintRequest":
        _check_region(self.repainting_start, self.repainting_end)
        return self


class CoverRequest(TaskRequest):
    """Re-render the source audio in a new style; ``audio_cover_strength`` 1.0 keeps most of it."""

    task_type: Literal[TaskType.cover] = TaskType.cover
    audio_cover_strength: float | None = Field(
        default=None, validation_alias=AliasChoices("audio_cover_strength", "cover_strength")
    )
    cover_noise_strength: float | None = None

    @field_validator("audio_cover_strength")
    @classmethod
    def _strength(cls, v: float | None) -> float | None:
        return _check_range("audio_cover_strength", v, contract.COVER_STRENGTH_MIN, contract.COVER_STRENGTH_MAX)

    @field_validator("cover_noise_strength")
    @classmethod
    def _noise(cls, v: float | None) -> float | None:
        return _check_range("cover_noise_strength", v, 0.0, 1.0)


class _TrackRequest(TaskRequest):
    track: str

    @field_validator("track", mode="before")
    @classmethod
    def _track(cls, v: Any) -> str:
        return _track_name(v)

    def _task_fields(self) -> dict[str, Any]:
        # Upstream builds the DiT condition from ``instruction``; track_name is informational.
        return {"instruction": contract.instruction_for(self.task_type, [self.track]), "track_name": self.track}


class LegoRequest(_TrackRequest):
    """Generate one stem (``track``) that fits the source audio, optionally only in a region.

    Upstream masks lego like repaint: ``repainting_start``..``repainting_end`` seconds (-1 = to the end).
    """

    task_type: Literal[TaskType.lego] = TaskType.lego
    repainting_start: float | None = None
    repainting_end: float | None = None

    @model_validator(mode="after")
    def _region(self) -> "LegoRequest":
        if self.repainting_start is not None or self.repainting_end is not None:
            _check_region(self.repainting_start or 0.0,
                          -1.0 if self.repainting_end is None else self.repainting_end)
        return self


class ExtractRequest(_TrackRequest):
    """Extract one stem (``track``) from the source audio."""

    task_type: Literal[TaskType.extract] = TaskType.extract


class CompleteRequest(TaskRequest):
    """Complete the source track with the given stems."""

    task_type: Literal[TaskType.complete] = TaskType.complete
    tracks: list[str] = Field(min_length=1)

    @field_validator("tracks", mode="before")
    @classmethod
    def _tracks(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [t for t in v.replace(",", " ").split() if t]
        return [_track_name(t) for t in v]

    def _task_fields(self) -> dict[str, Any]:
        return {"instruction": contract.instruction_for(TaskType.complete, self.tracks), "track_classes": list(self.tracks)}


REQUEST_CLASSES: dict[TaskType, type[TaskRequest]] = {
    TaskType.text2music: Text2MusicRequest,
    TaskType.repaint: RepaintRequest,
    TaskType.cover: CoverRequest,
    TaskType.lego: LegoRequest,
    TaskType.extract: ExtractRequest,
    TaskType.complete: CompleteRequest,
}


def make_request(task: TaskType | str, **fields: Any) -> TaskRequest:
    """Build the request class for ``task`` (``make_request("lego", track="bass", bpm=120)``)."""
    try:
        cls = REQUEST_CLASSES[TaskType(task)]
    except ValueError:
        raise ValueError(f"unknown task {task!r}: choose from {', '.join(t.value for t in TaskType)}") from None
    return cls(**fields)


# --------------------------------------------------------------------------- responses


class _Loose(BaseModel):
    """Response models keep fields they do not know (upstream adds fields often)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=(), populate_by_name=True)


class Envelope(BaseModel):
    """``{data, code, error, timestamp, extra}`` around every JSON answer."""

    model_config = ConfigDict(extra="allow")

    data: Any = None
    code: int = 200
    error: Any = None
    timestamp: int | float | None = None
    extra: Any = None


def _na_to_none(v: Any) -> Any:
    if isinstance(v, str) and v.strip() in ("", "N/A", "None", "null"):
        return None
    return v


class Metas(_Loose):
    """What the server says it generated. Upstream writes ``"N/A"`` for unknowns: that becomes None."""

    bpm: float | None = None
    duration: float | None = None
    genres: str | None = None
    keyscale: str | None = None
    timesignature: str | None = None

    @field_validator("bpm", "duration", "genres", "keyscale", "timesignature", mode="before")
    @classmethod
    def _na(cls, v: Any) -> Any:
        return _na_to_none(v)

    @field_validator("timesignature", "keyscale", "genres", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return None if v is None else str(v)


class AudioItem(_Loose):
    """One generated audio of a task (one per ``batch_size``)."""

    file: str = ""
    status: int | None = None
    metas: Metas = Field(default_factory=Metas)
    seed_value: str | None = None
    dit_model: str | None = None
    lm_model: str | None = None
    prompt: str | None = None
    lyrics: str | None = None
    generation_info: Any = None
    create_time: float | None = None

    @field_validator("seed_value", mode="before")
    @classmethod
    def _seed(cls, v: Any) -> Any:
        return None if v in (None, "") else str(v)

    @field_validator("metas", mode="before")
    @classmethod
    def _metas(cls, v: Any) -> Any:
        return v or {}

    @property
    def server_path(self) -> str:
        """The path on the server (``file`` is usually ``/v1/audio?path=<urlencoded path>``)."""
        parts = urlsplit(self.file)
        if parts.path.endswith("/v1/audio"):
            return parse_qs(parts.query).get("path", [""])[0]
        return self.file

    @property
    def filename(self) -> str:
        return posixpath.basename(self.server_path.replace("\\", "/"))


class TaskResult(BaseModel):
    """One entry of ``/query_result``, parsed.

    ``items`` holds the generated audios (those with a ``file``); ``progress``/``stage``
    come from the running item, ``error`` from a failed one: the item's own error when it has one,
    else a sentence saying the server reported none and quoting ``progress_text`` as its last
    log line (upstream's global log: it may describe another job). ``raw`` is the entry as received.
    """

    model_config = ConfigDict(protected_namespaces=())

    task_id: str
    status: TaskStatus
    items: list[AudioItem] = Field(default_factory=list)
    progress: float | None = None
    stage: str | None = None
    progress_text: str | None = None
    error: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_unknown(self) -> bool:
        """Status 0 with an empty result: upstream's answer for a task id it does not have."""
        return self.status == TaskStatus.running and _result_is_empty(self.raw.get("result"))

    @property
    def done(self) -> bool:
        return self.status in (TaskStatus.succeeded, TaskStatus.failed)


def _result_is_empty(result: Any) -> bool:
    if result is None or result == "" or result == []:
        return True
    if isinstance(result, str):
        try:
            return json.loads(result) == []
        except ValueError:
            return False
    return False


def no_task_error_message(progress_text: str) -> str:
    """A failed task's reason when the server gave none of its own, only its global log line.

    Upstream's result cache (on whenever ``diskcache`` is installed) stores a failed job without an
    error; ``progress_text`` is the server-wide last log line, which can be another job's (a thinking
    job that failed with "5Hz LM init failed" was once shown as the previous job's "Saved audio to ...").
    So it is quoted as what it is, never presented as the task's error.
    """
    return ("the server reported no error for this task; its last log line (server-wide, it may belong "
            f"to another job) was: {progress_text!r}")


def parse_task_result(entry: dict[str, Any]) -> TaskResult:
    """Parse one ``/query_result`` entry; its ``result`` is a JSON string of a list of items."""
    raw_result = entry.get("result")
    parsed: Any = raw_result
    unparsed_text: str | None = None
    if isinstance(raw_result, str):
        try:
            parsed = json.loads(raw_result) if raw_result.strip() else []
        except ValueError:
            parsed, unparsed_text = [], raw_result
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        parsed, unparsed_text = [], str(raw_result)
    dicts = [d for d in parsed if isinstance(d, dict)]

    try:
        status = TaskStatus(int(entry.get("status", 0)))
    except (TypeError, ValueError):
        status = TaskStatus.failed  # upstream maps unknown store states to 2 too

    progress = stage = error = None
    for d in dicts:
        if progress is None and d.get("progress") is not None:
            try:
                progress = float(d["progress"])
            except (TypeError, ValueError):
                pass
        if stage is None and d.get("stage"):
            stage = str(d["stage"])
        if error is None and d.get("error"):
            error = str(d["error"])
    progress_text = entry.get("progress_text")
    if status == TaskStatus.failed and error is None and dicts and all(d.get("status") == 0 for d in dicts):
        # Upstream's task timeout: the entry says 2 but its item is still the last progress report (status 0,
        # no error), and progress_text is the global log line, likely another job's.
        stage = f" (last stage: {stage})" if stage else ""
        error = (f"the server gave up on the task while it was unfinished{stage}: "
                 "it ran past the server's task timeout")
    if status == TaskStatus.failed and error is None:
        if unparsed_text:
            error = unparsed_text
        elif progress_text:
            error = no_task_error_message(str(progress_text))
    items = [AudioItem.model_validate(d) for d in dicts if d.get("file")]
    return TaskResult(
        task_id=str(entry.get("task_id", "")),
        status=status,
        items=items,
        progress=progress,
        stage=stage,
        progress_text=None if progress_text is None else str(progress_text),
        error=error,
        raw=dict(entry),
    )


class Progress(BaseModel):
    """What `Client.wait` reports to ``on_progress`` after each poll of a task still running."""

    task_id: str
    progress: float | None = None
    stage: str | None = None
    progress_text: str | None = Field(default=None, description="upstream's global log line: may be another job's")
    elapsed_s: float
    polls: int


class SubmitResult(_Loose):
    """Answer of ``POST /release_task``."""

    task_id: str
    status: str = "queued"
    queue_position: int | None = None


class Health(_Loose):
    status: str
    service: str | None = None
    version: str | None = None


class ModelEntry(_Loose):
    name: str
    is_default: bool = False
    is_loaded: bool | None = None
    #: What the server claims (None when the endpoint does not say, e.g. older /v1/models).
    supported_task_types: list[str] | None = None

    def supports(self, task: TaskType | str) -> bool | None:
        """True/False from the server's claim; None when it makes none.

        ``task`` may also be a task type acekit does not model (newer upstream's ``"cover-nofsq"``).
        """
        if self.supported_task_types is None:
            return None
        return (task.value if isinstance(task, TaskType) else str(task)) in self.supported_task_types


class ModelList(_Loose):
    models: list[ModelEntry] = Field(default_factory=list)
    default_model: str | None = None
    lm_models: list[dict[str, Any]] = Field(default_factory=list)
    #: Which endpoint answered: "/v1/model_inventory" or "/v1/models".
    source: str | None = None

    def get(self, name: str) -> ModelEntry | None:
        return next((m for m in self.models if m.name == name), None)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]


class JobCounts(_Loose):
    total: int = 0
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0


class Stats(_Loose):
    jobs: JobCounts = Field(default_factory=JobCounts)
    queue_size: int | None = None
    queue_maxsize: int | None = None
    avg_job_seconds: float | None = None


class GenerationOutcome(BaseModel):
    """What `Client.generate` did: files written, the final result, and where the time went."""

    task_id: str
    paths: list[Path]
    result: TaskResult
    submitted_at: datetime = Field(description="UTC time the submit request was sent")
    wall_s: float = Field(description="submit sent -> success seen (excludes downloads)")
    queue_wait_s: float | None = Field(
        default=None, description="submit -> first poll showing the job left the queue; None if never observed"
    )
    polls: int
    download_s: float = 0.0
