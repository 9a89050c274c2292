"""The matrix spec (a TOML file) and its expansion into cases.

A spec names axes (bpm, keys, models, steps, ...) in ``[grid]``, overrides them per task in
``[tasks.<task>]`` and adds extra cases in ``[[arms]]``. `load_spec` validates it with
pydantic and turns every mistake into a message that says what to write instead;
`expand_cases` makes the flat list of `Case` objects the runner executes.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from acekit import contract
from acekit.contract import TaskType
from acekit.keys import KeyParseError, parse_key

DEFAULT_SPEC_NAME = "default.toml"


class SpecError(ValueError):
    """The spec is invalid; the message says where and what to write."""


def _as_list(value: Any) -> Any:
    # Axes are lists, but `bpm = 120` is the obvious thing to write for one value.
    if value is None or isinstance(value, list):
        return value
    return [value]


class Axes(BaseModel):
    """Every axis a spec section may set. ``None`` means "inherit from the enclosing section"."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] | None = None
    bpm: list[int] | None = None
    keys: list[str] | None = None
    time_signatures: list[str] | None = None
    durations_s: list[float] | None = None
    steps: list[int] | None = None
    seeds: list[int] | None = None
    thinking: list[bool] | None = None
    #: The LM's chain of thought: false = acekit's default (LM switches off; metas a case omits are measured
    #: from the source for edit tasks); true = upstream's default (use_cot_caption/language/metas on: the LM
    #: fills what the request omits and may rewrite the caption).
    lm_cot: list[bool] | None = None
    lm_model_path: str | None = None
    guidance_scales: list[float | None] | None = None
    prompt: str | None = None
    lyrics: str | None = None
    # Only formats the analysers decode (libsndfile); the API also offers opus, aac and wav32.
    audio_format: Literal["mp3", "wav", "flac"] | None = None
    # repaint
    repaint_starts_s: list[float] | None = None
    repaint_lengths_s: list[float] | None = None
    repaint_latent_crossfade_frames: list[int | None] | None = None
    repaint_wav_crossfade_s: list[float | None] | None = None
    repaint_strengths: list[float | None] | None = None
    #: conservative / balanced / aggressive (None = server default, balanced). At upstream 53067ab mode and
    #: strength set the boundary crossfades and the two crossfade axes above are not used (`contract.REPAINT_MODES`).
    repaint_modes: list[Literal["conservative", "balanced", "aggressive"] | None] | None = None
    # cover
    cover_strengths: list[float] | None = None
    # lego / extract / complete
    tracks: list[str] | None = None
    #: Extra request fields sent as they are (e.g. {shift = 3.0}); not an axis.
    extra: dict[str, Any] | None = None

    @field_validator(
        "models", "bpm", "keys", "time_signatures", "durations_s", "steps", "seeds", "thinking", "lm_cot",
        "guidance_scales", "repaint_starts_s", "repaint_lengths_s", "repaint_latent_crossfade_frames",
        "repaint_wav_crossfade_s", "repaint_strengths", "repaint_modes", "cover_strengths", "tracks",
        mode="before",
    )
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("time_signatures", mode="before")
    @classmethod
    def _ts_str(cls, value: Any) -> Any:
        value = _as_list(value)
        return [str(v).split("/")[0] if isinstance(v, (str, int)) else v for v in value] if value else value

    @field_validator("models")
    @classmethod
    def _models_spelled(cls, value: list[str] | None) -> list[str] | None:
        # Servers may list other checkpoints, so unknown names pass; a near miss of a known one is a typo.
        for m in value or []:
            if m not in contract.DIT_MODELS:
                close = difflib.get_close_matches(m, list(contract.DIT_MODELS), n=1, cutoff=0.85)
                if close:
                    raise ValueError(f"model {m!r} is not a DiT upstream knows: did you mean {close[0]!r}? "
                                     f"(known: {', '.join(contract.MAIN_DIT_MODELS)}; see `acekit models`)")
        return value

    @field_validator("bpm")
    @classmethod
    def _bpm_range(cls, value: list[int] | None) -> list[int] | None:
        for b in value or []:
            if not contract.BPM_MIN <= b <= contract.BPM_MAX:
                raise ValueError(f"bpm {b} is outside {contract.BPM_MIN}..{contract.BPM_MAX}: write e.g. bpm = [90, 120]")
        return value

    @field_validator("keys")
    @classmethod
    def _keys_parse(cls, value: list[str] | None) -> list[str] | None:
        out = []
        for k in value or []:
            try:
                out.append(parse_key(k).canonical)
            except KeyParseError as exc:
                raise ValueError(f"{exc} (e.g. keys = [\"C major\", \"A minor\"])") from None
        return out if value is not None else None

    @field_validator("time_signatures")
    @classmethod
    def _ts_known(cls, value: list[str] | None) -> list[str] | None:
        for ts in value or []:
            if ts not in contract.TIME_SIGNATURES:
                known = ", ".join(f'"{k}" ({v})' for k, v in contract.TIME_SIGNATURES.items())
                raise ValueError(f"time signature {ts!r} unknown: write one of {known}")
        return value

    @field_validator("durations_s")
    @classmethod
    def _duration_range(cls, value: list[float] | None) -> list[float] | None:
        for d in value or []:
            if not contract.DURATION_MIN_S <= d <= contract.DURATION_MAX_S:
                raise ValueError(
                    f"duration {d} s is outside {contract.DURATION_MIN_S:g}..{contract.DURATION_MAX_S:g} s "
                    "(the API's range): write e.g. durations_s = [20.0]"
                )
        return value

    @field_validator("steps")
    @classmethod
    def _steps_range(cls, value: list[int] | None) -> list[int] | None:
        for s in value or []:
            if not 1 <= s <= contract.MAX_STEPS_BASE:
                raise ValueError(f"steps {s} is outside 1..{contract.MAX_STEPS_BASE}: write e.g. steps = [8]")
        return value

    @field_validator("cover_strengths", "repaint_strengths")
    @classmethod
    def _unit_range(cls, value: list[float] | None) -> list[float] | None:
        for s in value or []:
            if s is not None and not 0.0 <= s <= 1.0:
                raise ValueError(f"strength {s} is outside 0.0..1.0: write e.g. cover_strengths = [0.3, 0.6]")
        return value

    @field_validator("tracks")
    @classmethod
    def _tracks_known(cls, value: list[str] | None) -> list[str] | None:
        for t in value or []:
            if t not in contract.TRACK_NAMES:
                raise ValueError(f"unknown track {t!r}: choose from {', '.join(contract.TRACK_NAMES)}")
        return value

    def over(self, base: "Axes") -> "Axes":
        """This section's axes, falling back to ``base`` where unset."""
        merged = base.model_dump()
        merged.update({k: v for k, v in self.model_dump().items() if v is not None})
        return Axes.model_validate(merged)


class Arm(Axes):
    """Extra cases with their own axes (over the grid's), e.g. thinking=true with the 0.6B LM."""

    name: str
    tasks: list[TaskType] = Field(default_factory=lambda: [TaskType.text2music])
    #: Request fields to leave out, as a DAW that passes none: "bpm", "key", "time_signature", "duration".
    #: text2music: the server (its LM) chooses them. Edit tasks: the source keeps the case's values (they are
    #: what the output is judged against); with lm_cot false acekit measures them from the source, with
    #: lm_cot true the LM fills them.
    omit: list[Literal["bpm", "key", "time_signature", "duration"]] = Field(default_factory=list)

    @field_validator("tasks", "omit", mode="before")
    @classmethod
    def _listify_more(cls, value: Any) -> Any:
        return _as_list(value)


class SourceSpec(BaseModel):
    """Where edit tasks get their source clip."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["generate", "file"] = "generate"
    #: A user-provided clip (relative to the spec file); sets mode to "file".
    file: str | None = None
    #: Model/steps for generated sources; default: the text2music task's first model/steps.
    model: str | None = None
    steps: int | None = None

    @model_validator(mode="after")
    def _file_mode(self) -> "SourceSpec":
        if self.file:
            self.mode = "file"
        elif self.mode == "file":
            raise ValueError('source mode "file" needs file = "path/to/clip.wav"')
        return self


class MatrixSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "matrix"
    description: str = ""
    grid: Axes = Field(default_factory=Axes)
    tasks: dict[TaskType, Axes] = Field(default_factory=dict)
    source: SourceSpec = Field(default_factory=SourceSpec)
    arms: list[Arm] = Field(default_factory=list)
    #: Directory the spec was read from (resolves `source.file`); not part of the spec.
    base_dir: Path | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not value or any(c in value for c in "/\\") or value.startswith("."):
            raise ValueError("name must be a plain folder name, e.g. name = \"spark-sweep\"")
        return value

    def source_file(self) -> Path | None:
        if not self.source.file:
            return None
        p = Path(self.source.file)
        return p if p.is_absolute() else (self.base_dir or Path.cwd()) / p


# Built-in values for any axis no section sets.
BUILTIN_AXES = Axes(
    models=["acestep-v15-turbo"],
    bpm=[120],
    keys=["C major"],
    time_signatures=["4"],
    durations_s=[20.0],
    steps=[contract.DEFAULT_STEPS_TURBO],
    seeds=[42],
    thinking=[False],
    lm_cot=[False],
    guidance_scales=[None],
    prompt="instrumental pop, drums, bass, synth",
    lyrics="[instrumental]",
    audio_format="mp3",
    repaint_starts_s=[6.0],
    repaint_lengths_s=[8.0],
    repaint_latent_crossfade_frames=[None],
    repaint_wav_crossfade_s=[None],
    repaint_strengths=[None],
    repaint_modes=[None],
    cover_strengths=[0.3],
    tracks=["bass"],
    extra={},
)


class Case(BaseModel):
    """One request of the matrix: everything that defines it (the server is not part of it)."""

    model_config = ConfigDict(frozen=True)

    task: TaskType
    arm: str = "grid"
    model: str
    bpm: int | None = None
    key: str | None = None
    time_signature: str | None = None
    duration_s: float | None = None
    steps: int
    seed: int
    thinking: bool = False
    lm_model_path: str | None = None
    guidance_scale: float | None = None
    #: See `Axes.lm_cot`. Not part of the id when false (ids of older runs stay valid).
    lm_cot: bool = False
    #: Edit tasks: metas the request leaves out (the case's values stay, as the source's truth). Not part of
    #: the id when empty.
    omit: tuple[str, ...] = ()
    prompt: str
    lyrics: str
    audio_format: str = "mp3"
    repaint_start_s: float | None = None
    repaint_end_s: float | None = None
    repaint_latent_crossfade_frames: int | None = None
    repaint_wav_crossfade_s: float | None = None
    repaint_strength: float | None = None
    #: Not part of the id when None.
    repaint_mode: str | None = None
    cover_strength: float | None = None
    track: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    #: "generate:<case id>" or "file:<sha256 prefix>"; None for text2music.
    source: str | None = None
    #: What the analyser should assume when the request omits a meta (the requested value, if any).
    nominal_duration_s: float | None = None

    @property
    def id(self) -> str:
        return case_id(self)

    @property
    def needs_source(self) -> bool:
        return self.task in contract.SOURCE_TASKS

    @property
    def repaint_length_s(self) -> float | None:
        if self.repaint_start_s is None or self.repaint_end_s is None:
            return None
        return round(self.repaint_end_s - self.repaint_start_s, 3)

    def label(self) -> str:
        parts = [self.task.value, self.model]
        if self.arm != "grid":
            parts.insert(1, f"[{self.arm}]")
        if self.omit:
            parts.append("metas omitted: " + ("LM fills them" if self.lm_cot else "measured from source"))
        elif self.lm_cot:
            parts.append("LM CoT on")
        parts += [f"{self.bpm} bpm" if self.bpm else "bpm: LM", self.key or "key: LM", f"{self.steps} steps"]
        if self.track:
            parts.append(self.track)
        if self.cover_strength is not None and self.task == TaskType.cover:
            parts.append(f"strength {self.cover_strength:g}")
        if self.repaint_length_s:
            parts.append(f"region {self.repaint_start_s:g}-{self.repaint_end_s:g} s")
        return " · ".join(parts)


def case_id(case: Case) -> str:
    """Stable 12-hex id: sha256 of the case's parameters as canonical JSON."""
    fields = case.model_dump(mode="json")
    for name, default in (("lm_cot", False), ("omit", []), ("repaint_mode", None)):  # added later: absent at default
        if fields.get(name) == default:
            fields.pop(name)
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def spec_hash(spec: MatrixSpec) -> str:
    payload = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def default_spec_text() -> str:
    return resources.files("acekit.matrix").joinpath(DEFAULT_SPEC_NAME).read_text()


def _explain(exc: ValidationError, where: str) -> str:
    known_axes = sorted(Arm.model_fields) if "arms" in where else sorted(Axes.model_fields)
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            bad = str(err["loc"][-1])
            section = ".".join(str(p) for p in err["loc"][:-1]) or "top level"
            pool = sorted(MatrixSpec.model_fields) if section == "top level" else known_axes
            if section.startswith("source"):
                pool = sorted(SourceSpec.model_fields)
            close = difflib.get_close_matches(bad, pool, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            lines.append(f"unknown axis {bad!r} in [{section}].{hint} Known: {', '.join(p for p in pool if p != 'base_dir')}")
        elif err["type"] == "enum" and "tasks" in loc:
            lines.append(f"{loc}: unknown task: use one of {', '.join(t.value for t in TaskType)}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{loc}: {msg}")
    return f"invalid matrix spec {where}:\n  " + "\n  ".join(lines)


def parse_spec(text: str, *, where: str = "(text)", base_dir: Path | None = None) -> MatrixSpec:
    """Parse and validate spec TOML text; raise `SpecError` with a fix-it message."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where} is not valid TOML: {exc}") from None
    # pydantic reports "tasks.repaintt" as an enum error on a dict key; say it plainly instead.
    for task in data.get("tasks", {}) or {}:
        if task not in {t.value for t in TaskType}:
            close = difflib.get_close_matches(task, [t.value for t in TaskType], n=1)
            hint = f" Did you mean [tasks.{close[0]}]?" if close else ""
            raise SpecError(
                f"invalid matrix spec {where}: unknown task [tasks.{task}].{hint} "
                f"Tasks: {', '.join(t.value for t in TaskType)}"
            )
    try:
        spec = MatrixSpec.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise SpecError(_explain(exc, where)) from None
    if not spec.tasks and not spec.arms:
        raise SpecError(f"invalid matrix spec {where}: no tasks: add e.g. [tasks.text2music]")
    expand_cases(spec)  # fail now on combinations that cannot run (region past the end, ...)
    return spec


def load_spec(path: Path | None = None) -> tuple[MatrixSpec, str]:
    """Load a spec file (or the built-in default); return the spec and its TOML text."""
    if path is None:
        text = default_spec_text()
        return parse_spec(text, where="(built-in default)"), text
    path = Path(path)
    if not path.exists():
        raise SpecError(f"spec file {path} not found: `acekit matrix --print-default-spec > {path}` writes a starting point")
    text = path.read_text()
    return parse_spec(text, where=str(path), base_dir=path.resolve().parent), text


def _file_source_token(spec: MatrixSpec) -> str | None:
    f = spec.source_file()
    if f is None:
        return None
    if not f.exists():
        raise SpecError(f"source file {f} does not exist: fix [source].file in the spec")
    return "file:" + hashlib.sha256(f.read_bytes()).hexdigest()[:12]


def _cases_for(task: TaskType, axes: Axes, *, arm: str, omit: list[str], spec: MatrixSpec,
               file_token: str | None) -> list[Case]:
    # text2music: an omitted meta is None (the server chooses it); an edit task keeps it as the source's truth.
    edit = task in contract.SOURCE_TASKS
    bpms = [None] if "bpm" in omit and not edit else axes.bpm
    keys = [None] if "key" in omit and not edit else axes.keys
    tss = [None] if "time_signature" in omit and not edit else axes.time_signatures
    durations = axes.durations_s
    tracks = axes.tracks if task in (TaskType.lego, TaskType.extract, TaskType.complete) else [None]
    strengths = axes.cover_strengths if task == TaskType.cover else [None]
    is_repaint = task == TaskType.repaint
    starts = axes.repaint_starts_s if is_repaint else [None]
    lengths = axes.repaint_lengths_s if is_repaint else [None]
    xfade_frames = axes.repaint_latent_crossfade_frames if is_repaint else [None]
    xfade_wav = axes.repaint_wav_crossfade_s if is_repaint else [None]
    rstrengths = axes.repaint_strengths if is_repaint else [None]
    rmodes = axes.repaint_modes if is_repaint else [None]
    out = []
    for (model, bpm, key, ts, dur, steps, seed, thinking, cot, gs, track, cs, start, length, xf, xw,
         rs, rm) in itertools.product(
        axes.models, bpms, keys, tss, durations, axes.steps, axes.seeds, axes.thinking, axes.lm_cot,
        axes.guidance_scales, tracks, strengths, starts, lengths, xfade_frames, xfade_wav, rstrengths, rmodes,
    ):
        end = None
        if is_repaint:
            end = round(start + length, 3)
            if end > dur:
                raise SpecError(
                    f"repaint region {start:g}+{length:g} s ends past the {dur:g} s clip ({arm}): "
                    "shorten repaint_lengths_s / repaint_starts_s or lengthen durations_s"
                )
        case = Case(
            task=task, arm=arm, model=model, bpm=bpm, key=key, time_signature=ts,
            duration_s=None if "duration" in omit and not edit else dur, steps=steps, seed=seed, thinking=thinking,
            lm_model_path=axes.lm_model_path if thinking or cot else None, guidance_scale=gs, lm_cot=cot,
            omit=tuple(omit) if edit else (),
            prompt=axes.prompt, lyrics=axes.lyrics, audio_format=axes.audio_format,
            repaint_start_s=start, repaint_end_s=end, repaint_latent_crossfade_frames=xf,
            repaint_wav_crossfade_s=xw, repaint_strength=rs, repaint_mode=rm, cover_strength=cs, track=track,
            extra=axes.extra or {}, nominal_duration_s=dur,
        )
        if case.needs_source:
            token = file_token or "generate:" + source_case_for(case, spec).id
            case = case.model_copy(update={"source": token})
        out.append(case)
    return out


def source_case_for(case: Case, spec: MatrixSpec) -> Case:
    """The text2music case whose output is ``case``'s source clip (same bpm/key/meter/duration/seed).

    Built from the text2music task's axes so that, when the grid already has that case, the
    ids match and the source is generated once.
    """
    t2m = spec.tasks.get(TaskType.text2music, Axes()).over(spec.grid).over(BUILTIN_AXES)
    return Case(
        task=TaskType.text2music, arm="grid", model=spec.source.model or t2m.models[0],
        bpm=case.bpm, key=case.key, time_signature=case.time_signature,
        duration_s=case.nominal_duration_s, steps=spec.source.steps or t2m.steps[0], seed=case.seed,
        thinking=False, guidance_scale=t2m.guidance_scales[0], prompt=t2m.prompt, lyrics=t2m.lyrics,
        audio_format=t2m.audio_format, extra=t2m.extra or {}, nominal_duration_s=case.nominal_duration_s,
    )


def expand_cases(spec: MatrixSpec) -> list[Case]:
    """All cases of the spec, sources first, without duplicates (same id = same case)."""
    base = spec.grid.over(BUILTIN_AXES)
    file_token = _file_source_token(spec)
    cases: list[Case] = []
    for task, axes in spec.tasks.items():
        cases += _cases_for(task, axes.over(base), arm="grid", omit=[], spec=spec, file_token=file_token)
    for arm in spec.arms:
        arm_axes = Axes.model_validate(arm.model_dump(include=set(Axes.model_fields)))
        for task in arm.tasks:
            task_axes = spec.tasks.get(task, Axes()).over(base)
            cases += _cases_for(task, arm_axes.over(task_axes), arm=arm.name, omit=list(arm.omit), spec=spec,
                                file_token=file_token)
    sources: list[Case] = []
    if file_token is None:
        sources = [source_case_for(c, spec) for c in cases if c.needs_source]
    ordered: dict[str, Case] = {}
    for c in sources + cases:
        ordered.setdefault(c.id, c)
    return list(ordered.values())
