"""Read a ``/release_task`` body the way upstream does: aliases, nested metas, loose types, same limits.

Upstream (``acestep/api/http/release_task_param_parser.py``) looks each parameter up under several
spellings, first in the body, then in ``param_obj``, then in the nested metas
(``metas``/``meta``/``metadata``/``user_metadata``/``userMetadata``, a dict or a JSON string),
and converts "loosely" (``"120"`` is 120, ``"yes"`` is true, junk falls back to the default).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from acekit import contract
from acekit.contract import TaskType
from acekit.keys import Key, KeyParseError, parse_key

#: Upstream's PARAM_ALIASES (release_task_param_parser.py), restricted to the fields this engine reads.
#: Fields upstream has no alias for (repainting_*, repaint_*, audio_format, lm_model_path) are read
#: under their canonical name only, as upstream does: a camelCase spelling of those is ignored there.
ALIASES: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "caption"),
    "lyrics": ("lyrics",),
    "thinking": ("thinking",),
    "sample_mode": ("sample_mode", "sampleMode"),
    "sample_query": ("sample_query", "sampleQuery", "description", "desc"),
    "use_format": ("use_format", "useFormat", "format"),
    "model": ("model", "model_name", "modelName", "dit_model", "ditModel"),
    "key_scale": ("key_scale", "keyscale", "keyScale", "key"),
    "time_signature": ("time_signature", "timesignature", "timeSignature"),
    "audio_duration": ("audio_duration", "duration", "audioDuration", "target_duration", "targetDuration"),
    "vocal_language": ("vocal_language", "vocalLanguage", "language"),
    "bpm": ("bpm",),
    "inference_steps": ("inference_steps", "inferenceSteps"),
    "guidance_scale": ("guidance_scale", "guidanceScale"),
    "use_random_seed": ("use_random_seed", "useRandomSeed"),
    "seed": ("seed",),
    "audio_cover_strength": ("audio_cover_strength", "audioCoverStrength", "cover_strength", "coverStrength"),
    "cover_noise_strength": ("cover_noise_strength", "coverNoiseStrength"),
    "reference_audio_path": ("reference_audio_path", "ref_audio_path", "referenceAudioPath", "refAudioPath"),
    "src_audio_path": ("src_audio_path", "ctx_audio_path", "sourceAudioPath", "srcAudioPath", "ctxAudioPath"),
    "task_type": ("task_type", "taskType"),
    "infer_method": ("infer_method", "inferMethod"),
    "instruction": ("instruction",),
    "track_name": ("track_name", "trackName"),
    "track_classes": ("track_classes", "trackClasses", "instruments"),
    "use_cot_caption": ("use_cot_caption", "cot_caption", "cot-caption"),
    "use_cot_language": ("use_cot_language", "cot_language", "cot-language"),
    "use_tiled_decode": ("use_tiled_decode", "useTiledDecode"),
}
_METAS_KEYS = ("metas", "meta", "metadata", "user_metadata", "userMetadata")


class RequestError(ValueError):
    """A request upstream would refuse with HTTP 400; the message says what to send instead."""


def _as_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


class _Lookup:
    def __init__(self, raw: dict[str, Any]):
        self.raw = dict(raw)
        metas: dict = {}
        for k in _METAS_KEYS:
            if self.raw.get(k):
                metas = _as_dict(self.raw[k])
                break
        self.sources = (self.raw, _as_dict(self.raw.get("param_obj")), metas)

    def get(self, name: str, default: Any = None) -> Any:
        for source in self.sources:
            for alias in ALIASES.get(name, (name,)):
                if source.get(alias) is not None:
                    return source[alias]
        return default

    def text(self, name: str, default: str = "") -> str:
        v = self.get(name)
        return default if v is None else str(v)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """Upstream's ``_to_int``: an int as is, else ``int(str(v))``; anything else (``120.5``, ``"120.0"``,
        ``"abc"``) silently falls back to the default, so a float bpm is ignored, not rounded."""
        v = self.get(name)
        if v is None:
            return default
        if isinstance(v, int):
            return int(v)
        text = str(v).strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            return default

    def number(self, name: str, default: float | None = None) -> float | None:
        """Upstream's ``_to_float``: ``float(str(v))``, junk falls back to the default."""
        v = self.get(name)
        if v is None:
            return default
        if isinstance(v, float):
            return v
        text = str(v).strip()
        if not text:
            return default
        try:
            return float(text)
        except ValueError:
            return default

    def flag(self, name: str, default: bool = False) -> bool:
        v = self.get(name)
        if v is None:
            return default
        if isinstance(v, bool):
            return v
        text = str(v).strip().lower()
        return default if text == "" else text in {"1", "true", "yes", "y", "on"}


#: Upstream's repaint_mode values (GenerateMusicRequest.repaint_mode, a Literal).
REPAINT_MODES = contract.REPAINT_MODES


class TaskRequest(BaseModel):
    """A validated ``/release_task`` request. ``None`` means "not given": the engine chooses and reports."""

    task_type: TaskType = TaskType.text2music
    #: The task_type as sent; differs from ``task_type`` for upstream's "cover-nofsq" (rendered as a cover).
    task_label: str = "text2music"
    prompt: str = ""
    lyrics: str = ""
    vocal_language: str = "en"
    audio_format: str = "mp3"
    bpm: int | None = None
    key_scale: str | None = None  # canonical ("A minor") when given
    time_signature: str | None = None  # "2" | "3" | "4" | "6"
    audio_duration: float | None = None
    model: str | None = None
    inference_steps: int = contract.DEFAULT_STEPS_TURBO
    guidance_scale: float = 7.0
    infer_method: str = "ode"
    use_random_seed: bool = True
    seeds: list[int] = []  # explicit seeds (one per batch item, or one for all)
    batch_size: int = contract.DEFAULT_BATCH
    thinking: bool = False
    # Upstream's defaults (true: a loaded LM rewrites the caption). Upstream 53067ab has no use_cot_metas
    # request field: filling empty metas is always on there, so it is not read here either.
    use_cot_caption: bool = True
    use_cot_language: bool = True
    lm_model_path: str | None = None
    instruction: str = ""
    track_name: str = ""
    track_classes: list[str] = []  # complete: the stems to add, when the instruction names none
    repainting_start: float = 0.0
    repainting_end: float | None = None  # None / -1: end of source
    audio_cover_strength: float = 1.0
    repaint_latent_crossfade_frames: int = 10
    repaint_wav_crossfade_sec: float = 0.0
    repaint_mode: str = "balanced"
    repaint_strength: float = 0.5
    src_audio_path: str | None = None
    reference_audio_path: str | None = None
    #: Upstream's default true; false decodes the whole batch at once, untiled (only --pretend-gpu's memory reads it).
    use_tiled_decode: bool = True

    @property
    def key(self) -> Key | None:
        return parse_key(self.key_scale) if self.key_scale else None


def _time_signature(text: str) -> str | None:
    t = text.strip()
    if not t or t.upper() == "N/A":
        return None
    t = t.split("/")[0].strip()
    if t not in contract.TIME_SIGNATURES:
        raise RequestError(
            f"time_signature {text!r} is not supported: send one of "
            + ", ".join(f"'{k}' ({v})" for k, v in contract.TIME_SIGNATURES.items())
        )
    return t


def _seeds(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [int(value)]
    if isinstance(value, list):
        items = value
    else:
        items = [s for s in str(value).replace(";", ",").split(",") if s.strip()]
    out = []
    for s in items:
        try:
            out.append(int(float(s)))
        except (TypeError, ValueError) as exc:
            raise RequestError(f"seed {value!r} is not an integer (or comma-separated integers)") from exc
    return out


def _text_list(value: Any) -> list[str]:
    """A list field as upstream reads it: a list (repeated form field), a JSON list, or comma-separated text."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = text.strip("[]").split(",")
        else:
            value = text.split(",")
    if not isinstance(value, (list, tuple)):
        value = [value]
    return [str(v).strip() for v in value if str(v).strip()]


def parse_task_request(raw: dict[str, Any]) -> TaskRequest:
    """Resolve aliases and validate like upstream; raise `RequestError` (HTTP 400) otherwise."""
    q = _Lookup(raw)
    task_text = q.text("task_type", "text2music").strip() or "text2music"
    try:
        task = TaskType.cover if task_text == contract.COVER_NOFSQ else TaskType(task_text)
    except ValueError:
        allowed = ", ".join([t.value for t in TaskType] + [contract.COVER_NOFSQ])
        raise RequestError(f"task_type {task_text!r} is not supported: use one of {allowed}") from None

    bpm = q.integer("bpm")
    if bpm is not None and bpm <= 0:
        bpm = None  # upstream treats 0/-1 as "let the model decide"
    if bpm is not None and not contract.BPM_MIN <= bpm <= contract.BPM_MAX:
        raise RequestError(f"bpm {bpm} out of range: send {contract.BPM_MIN}..{contract.BPM_MAX}, or leave it out")

    duration = q.number("audio_duration")
    if duration is not None and duration <= 0:
        duration = None  # -1 means "auto" upstream
    if duration is not None and not contract.DURATION_MIN_S <= duration <= contract.DURATION_MAX_S:
        raise RequestError(
            f"audio_duration {duration:g} s out of range: send {contract.DURATION_MIN_S:g}..{contract.DURATION_MAX_S:g} s"
        )

    key_text = q.text("key_scale").strip()
    key_scale = None
    if key_text and key_text.upper() != "N/A":
        try:
            key_scale = parse_key(key_text).canonical
        except KeyParseError as exc:
            raise RequestError(str(exc)) from None

    batch = q.integer("batch_size", contract.DEFAULT_BATCH) or contract.DEFAULT_BATCH
    if not contract.BATCH_MIN <= batch <= contract.BATCH_MAX:
        raise RequestError(f"batch_size {batch} out of range: send {contract.BATCH_MIN}..{contract.BATCH_MAX}")

    steps = q.integer("inference_steps", contract.DEFAULT_STEPS_TURBO) or contract.DEFAULT_STEPS_TURBO
    if not 1 <= steps <= contract.MAX_STEPS_BASE:
        raise RequestError(f"inference_steps {steps} out of range: send 1..{contract.MAX_STEPS_BASE}")

    fmt = q.text("audio_format", "mp3").strip().lower() or "mp3"
    if fmt not in contract.AUDIO_FORMATS:
        raise RequestError(f"audio_format {fmt!r} is not supported: use one of {', '.join(contract.AUDIO_FORMATS)}")

    strength = q.number("audio_cover_strength", 1.0)
    if strength is None or not contract.COVER_STRENGTH_MIN <= strength <= contract.COVER_STRENGTH_MAX:
        raise RequestError("audio_cover_strength must be within 0.0..1.0")

    start = q.number("repainting_start", 0.0) or 0.0
    end = q.number("repainting_end")
    if not end or end < 0:
        end = None  # upstream passes `repainting_end or -1`: 0, -1 and absent all mean "to the end"
    if start < 0:
        raise RequestError("repainting_start must be >= 0 seconds")
    if end is not None and end <= start:
        raise RequestError(f"repainting_end ({end:g} s) must be after repainting_start ({start:g} s), or -1 for the end")

    repaint_mode = q.text("repaint_mode", "balanced").strip() or "balanced"
    if repaint_mode not in REPAINT_MODES:
        # Upstream's request model refuses it too (a Literal), though there it surfaces as a server error.
        raise RequestError(f"repaint_mode {repaint_mode!r} is not supported: use one of {', '.join(REPAINT_MODES)}")
    repaint_strength = q.number("repaint_strength", 0.5)
    if repaint_strength is None or not 0.0 <= repaint_strength <= 1.0:
        raise RequestError("repaint_strength must be within 0.0..1.0")

    return TaskRequest(
        task_type=task,
        task_label=task_text,
        prompt=q.text("prompt"),
        lyrics=q.text("lyrics"),
        vocal_language=q.text("vocal_language", "en") or "en",
        audio_format=fmt,
        bpm=bpm,
        key_scale=key_scale,
        time_signature=_time_signature(q.text("time_signature")),
        audio_duration=duration,
        model=q.text("model").strip() or None,
        inference_steps=steps,
        guidance_scale=q.number("guidance_scale", 7.0) or 7.0,
        infer_method=q.text("infer_method", "ode") or "ode",
        use_random_seed=q.flag("use_random_seed", True),
        seeds=_seeds(q.get("seed", -1)),
        batch_size=batch,
        thinking=q.flag("thinking"),
        use_cot_caption=q.flag("use_cot_caption", True),
        use_cot_language=q.flag("use_cot_language", True),
        lm_model_path=q.text("lm_model_path").strip() or None,
        instruction=q.text("instruction"),
        track_name=q.text("track_name"),
        track_classes=_text_list(q.get("track_classes")),
        repainting_start=start,
        repainting_end=end,
        audio_cover_strength=strength,
        repaint_latent_crossfade_frames=max(q.integer("repaint_latent_crossfade_frames", 10) or 0, 0),
        repaint_wav_crossfade_sec=max(q.number("repaint_wav_crossfade_sec", 0.0) or 0.0, 0.0),
        repaint_mode=repaint_mode,
        repaint_strength=repaint_strength,
        src_audio_path=q.text("src_audio_path").strip() or None,
        reference_audio_path=q.text("reference_audio_path").strip() or None,
        use_tiled_decode=q.flag("use_tiled_decode", True),
    )


def tracks_from_instruction(instruction: str, track_classes: list[str] | None = None) -> list[str]:
    """Every stem an instruction names ("Complete the input track with DRUMS | BASS:" -> drums, bass),
    else the ``track_classes`` field."""
    words = instruction.replace(":", " ").replace("|", " ").replace(",", " ").split()
    named = [w.lower() for w in words if w.lower() in contract.TRACK_NAMES]
    if named:
        return list(dict.fromkeys(named))
    return [t.strip().lower() for t in track_classes or [] if t.strip().lower() in contract.TRACK_NAMES]


def track_from_instruction(instruction: str, track_name: str = "") -> str | None:
    """The stem an instruction names ("Generate the BASS track based on ..." -> "bass"), else ``track_name``."""
    words = instruction.replace(":", " ").replace("|", " ").split()
    for w in words:
        name = w.strip().lower()
        if name in contract.TRACK_NAMES:
            return name
    name = track_name.strip().lower()
    return name if name in contract.TRACK_NAMES else None
