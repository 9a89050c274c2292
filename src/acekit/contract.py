"""The ACE-Step 1.5 REST contract in one place: task types, status codes, ranges, instructions.

Facts restated from upstream ``acestep/api_server.py`` and ``acestep/constants.py``
(see ../shared/acestep-api.md). The client's validation, the reference backend and the
capabilities document all read their limits from here, so they cannot drift apart.
"""

from __future__ import annotations

from enum import Enum, IntEnum

DEFAULT_PORT = 8001
DEFAULT_SERVER = f"http://localhost:{DEFAULT_PORT}"
API_KEY_ENV = "ACESTEP_API_KEY"
SERVER_ENV = "ACEKIT_SERVER"


class TaskType(str, Enum):
    text2music = "text2music"
    repaint = "repaint"
    cover = "cover"
    lego = "lego"
    extract = "extract"
    complete = "complete"


#: Tasks that take a source audio (``src_audio``).
SOURCE_TASKS = frozenset({TaskType.repaint, TaskType.cover, TaskType.lego, TaskType.extract, TaskType.complete})
#: Upstream marks these as needing a base (non-turbo) DiT (base, sft, xl-base, xl-sft); our matrix decides
#: what really works.
BASE_ONLY_TASKS = frozenset({TaskType.lego, TaskType.extract, TaskType.complete})

#: DiT checkpoints upstream knows (acestep/model_downloader.py at 53067ab): name -> (family, parameters).
#: Turbo checkpoints (config ``is_turbo``) are distilled for few steps; base and sft run CFG and up to
#: MAX_STEPS_BASE steps. The XL models are 4B-parameter DiTs; xl-base and xl-sft count as base.
DIT_MODELS: dict[str, tuple[str, str]] = {
    "acestep-v15-turbo": ("turbo", "2B"),
    "acestep-v15-base": ("base", "2B"),
    "acestep-v15-sft": ("sft", "2B"),
    "acestep-v15-turbo-shift1": ("turbo", "2B"),
    "acestep-v15-turbo-shift3": ("turbo", "2B"),
    "acestep-v15-turbo-continuous": ("turbo", "2B"),
    "acestep-v15-xl-turbo": ("turbo", "4B"),
    "acestep-v15-xl-base": ("base", "4B"),
    "acestep-v15-xl-sft": ("sft", "4B"),
}
#: What help texts name: the main checkpoints of each size.
MAIN_DIT_MODELS = ("acestep-v15-turbo", "acestep-v15-base", "acestep-v15-sft",
                   "acestep-v15-xl-turbo", "acestep-v15-xl-base", "acestep-v15-xl-sft")


def is_turbo_model_name(name: str) -> bool:
    """A turbo DiT by its name (upstream reads ``is_turbo`` from the checkpoint; every turbo name says turbo)."""
    known = DIT_MODELS.get(name)
    return known[0] == "turbo" if known else "turbo" in name.lower()


#: Newer upstream's extra task type: cover without the FSQ round trip (stays closer to the source).
#: Not a `TaskType` (acekit does not drive it), but servers list it and accept it.
COVER_NOFSQ = "cover-nofsq"
#: ``supported_task_types`` exactly as upstream lists them (acestep/constants.py TASK_TYPES_TURBO /
#: TASK_TYPES_BASE). Upstream derives them from the checkpoint's ``is_turbo`` flag alone and does not
#: refuse a base-only task on a turbo model at submit time.
UPSTREAM_TASK_TYPES_TURBO = ("text2music", "repaint", "cover", COVER_NOFSQ)
UPSTREAM_TASK_TYPES_BASE = ("text2music", "repaint", "cover", COVER_NOFSQ, "extract", "lego", "complete")


class TaskStatus(IntEnum):
    """``status`` of a ``/query_result`` item. 0 also means "unknown task id" when result is ``"[]"``."""

    running = 0  # queued or running
    succeeded = 1
    failed = 2


# Ranges the upstream server enforces (inclusive).
BPM_MIN, BPM_MAX = 30, 300
DURATION_MIN_S, DURATION_MAX_S = 10.0, 600.0
BATCH_MIN, BATCH_MAX = 1, 8
DEFAULT_BATCH = 2
COVER_STRENGTH_MIN, COVER_STRENGTH_MAX = 0.0, 1.0
#: time_signature values the API takes, and the meters they mean.
TIME_SIGNATURES = {"2": "2/4", "3": "3/4", "4": "4/4", "6": "6/8"}
#: ``audio_format`` values upstream's request model documents (mp3 is its default; wav32 = 32-bit float wav).
AUDIO_FORMATS = ("mp3", "wav", "flac", "opus", "aac", "wav32")
SERVED_AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".opus", ".aac")
INFER_METHODS = ("ode", "sde")
#: Repaint modes (upstream GenerateMusicRequest.repaint_mode). At 53067ab the mode and repaint_strength set
#: the boundary crossfades (conservative: 25 latent frames + 0.05 s; balanced: both scaled by 1 - strength;
#: aggressive: none); repaint_latent_crossfade_frames / repaint_wav_crossfade_sec are accepted but unused.
REPAINT_MODES = ("conservative", "balanced", "aggressive")
#: Guidance variants upstream PR 1129 registers (open, not in 53067ab, which ignores guidance_variant and
#: guidance_params); the registry is pluggable, so other names are passed through too.
GUIDANCE_VARIANTS = ("apg_classic", "cfg", "adg", "adg_w_norm", "adg_wo_clip")
#: Most task ids one ``/query_result`` may ask about. Upstream sets no cap; acekit's servers (reference
#: backend, gateway) do, so one request cannot hold a worker for seconds. Clients poll one task, or a
#: DAW's handful: a thousand is far above any real use.
MAX_QUERY_TASK_IDS = 1000


def too_many_task_ids(count: int) -> str:
    return (f"task_id_list has {count} ids; ask about at most {MAX_QUERY_TASK_IDS} per /query_result "
            "call (split the list)")


DEFAULT_STEPS_TURBO = 8
MAX_STEPS_TURBO = 20
MAX_STEPS_BASE = 200

#: Stem names upstream's instructions know (acestep/constants.py TRACK_NAMES).
TRACK_NAMES = (
    "woodwinds", "brass", "fx", "synth", "strings", "percussion",
    "keyboard", "guitar", "bass", "drums", "backing_vocals", "vocals",
)

#: Default instruction per task (upstream TASK_INSTRUCTIONS); {track}/{tracks} filled by `instruction_for`.
TASK_INSTRUCTIONS = {
    TaskType.text2music: "Fill the audio semantic mask based on the given conditions:",
    TaskType.repaint: "Repaint the mask area based on the given conditions:",
    TaskType.cover: "Generate audio semantic tokens based on the given conditions:",
    TaskType.extract: "Extract the {track} track from the audio:",
    TaskType.lego: "Generate the {track} track based on the audio context:",
    TaskType.complete: "Complete the input track with {tracks}:",
}
_GENERIC = {
    TaskType.extract: "Extract the track from the audio:",
    TaskType.lego: "Generate the track based on the audio context:",
    TaskType.complete: "Complete the input track:",
}


def instruction_for(task: TaskType | str, tracks: list[str] | tuple[str, ...] = ()) -> str:
    """Build the instruction text upstream expects for ``task`` (stems upper-cased, as upstream does)."""
    task = TaskType(task)
    bad = [t for t in tracks if t not in TRACK_NAMES]
    if bad:
        raise ValueError(f"unknown track {bad[0]!r}: choose from {', '.join(TRACK_NAMES)}")
    template = TASK_INSTRUCTIONS[task]
    if "{track}" in template:
        if not tracks:
            return _GENERIC[task]
        return template.format(track=tracks[0].upper())
    if "{tracks}" in template:
        if not tracks:
            return _GENERIC[task]
        return template.format(tracks=" | ".join(t.upper() for t in tracks))
    return template
