"""Versioned schema of the capabilities document (``GET /v1/capabilities``).

A plugin reads this at run time to decide which ACE-Step tabs to show and with which
parameter ranges. The document is produced either from a matrix run
(`acekit.capabilities.from_matrix`) or, with no measurements, as a conservative default
from the GPU the gateway sees (`acekit.capabilities.defaults`). Clients must ignore fields
they do not know; a change that removes or retypes a field bumps the major version, one that
adds a field the minor version (1.1 added ``completion``; 1.2 ``checks`` and each task's
``unproven_checks``). ``acekit capabilities --schema``
prints the JSON Schema.

``completion`` says how a client learns that a task ended, for the server that serves the
document: ``/query_result`` polling always (upstream's own), and ``completion.wait`` (push:
long-poll and server-sent events) only where an acekit gateway serves it. The gateway fills
``wait`` in when it serves the document; a document built elsewhere (``acekit capabilities``
from a matrix run, read without a gateway) says ``wait: null``, which is what plain upstream offers.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from acekit import contract
from acekit.contract import TaskType

SCHEMA_VERSION = "1.2"
#: Versions this code reads: a 1.0 file (no ``completion``) is still valid, with upstream's polling only; a 1.0
#: or 1.1 file (no ``checks``) says nothing of how far its quality checks hold.
SCHEMA_VERSIONS = ("1.0", "1.1", "1.2")


class Verdict(str, Enum):
    viable = "viable"  # show the tab
    marginal = "marginal"  # show it behind an "experimental" flag
    not_viable = "not_viable"  # hide it
    untested = "untested"  # no measurement: the plugin decides (default: hide)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendInfo(_Model):
    name: str = Field(description="Label of the backend, e.g. 'spark' or 't4'.")
    engine: str = Field(description="'ACE-Step' for the real server, 'acekit-reference' for the procedural test engine.")
    server_version: str | None = None
    url: str | None = Field(default=None, description="Where the matrix reached it; informational only.")
    gpu_name: str | None = None
    gpu_memory_total_mb: float | None = None


class ModelInfo(_Model):
    name: str = Field(description="DiT model name as /v1/models lists it, e.g. acestep-v15-turbo.")
    is_default: bool = False
    is_loaded: bool | None = Field(
        default=None, description="the server holds this DiT in memory (upstream: ACESTEP_CONFIG_PATH, _PATH2, "
                                  "_PATH3); None: it did not say. Upstream serves a request for an unloaded model "
                                  "with its primary (default) one")
    supported_task_types: list[TaskType] = Field(default_factory=list, description="What the server claims.")
    max_steps: int | None = None


class Limits(_Model):
    """Hard limits the API enforces (identical on every backend)."""

    bpm_min: int = contract.BPM_MIN
    bpm_max: int = contract.BPM_MAX
    duration_min_s: float = contract.DURATION_MIN_S
    duration_max_s: float = contract.DURATION_MAX_S
    batch_max: int = contract.BATCH_MAX
    time_signatures: list[str] = Field(default_factory=lambda: list(contract.TIME_SIGNATURES))
    audio_formats: list[str] = Field(default_factory=lambda: list(contract.AUDIO_FORMATS))
    track_names: list[str] = Field(default_factory=lambda: list(contract.TRACK_NAMES))


class RecommendedParams(_Model):
    """What the plugin should offer in its UI for a task on this backend."""

    model: str | None = None
    bpm_min: int = contract.BPM_MIN
    bpm_max: int = contract.BPM_MAX
    default_steps: int = contract.DEFAULT_STEPS_TURBO
    max_duration_s: float = 60.0
    thinking: bool = False
    cover_strength: float | None = Field(default=None, description="cover only")
    repaint_min_region_s: float | None = Field(default=None, description="repaint/complete only")
    tracks: list[str] | None = Field(default=None, description="lego/extract: stems that passed")
    max_batch: int | None = Field(default=None, description="largest batch that fits at max_duration_s; None: not judged")


class TaskCost(_Model):
    """Measured cost; None where not measured."""

    seconds_per_audio_second: float | None = Field(default=None, description="server wall time / audio duration")
    median_wall_s: float | None = None
    peak_gpu_memory_mb: float | None = None
    memory_source: str | None = Field(default=None, description="where the peak came from, e.g. 'nvml', 'torch', 'unknown'")
    cases: int = 0
    failures: int = 0
    does_not_fit: int = Field(default=0, description="cases that ran out of GPU memory (not counted as failures)")


class FitLimit(_Model):
    """How long a clip one model can make at one batch size before GPU memory runs out."""

    model: str
    batch: int
    max_duration_s: float | None = Field(description="longest that fits; None: not even the shortest")
    reason: str = Field(description="the fit and its margin, in words")
    source: Literal["fit model", "matrix"] = Field(
        default="fit model", description="'fit model': predicted from measured figures; 'matrix': a case ran out of memory")


class FitInfo(_Model):
    """The memory budget behind the recommendations, and the limits the gateway admits requests by."""

    memory_gib: float | None = Field(description="GPU memory the budget may use, GiB")
    dtype: str = Field(description="bf16, fp16 or fp32: what the server runs")
    lm: str = Field(default="none", description="5 Hz LM counted as loaded: none, 0.6B, 1.7B or 4B")
    offload: bool = Field(default=False, description="the server offloads idle models to the CPU "
                                                     "(ACESTEP_OFFLOAD_TO_CPU: text encoder, VAE and LM)")
    offload_dit: bool = Field(
        default=False, description="the DiTs are offloaded too (ACESTEP_OFFLOAD_DIT_TO_CPU); false: with offload on, "
                                   "every loaded DiT stays on the GPU, as upstream does by default and the limits count")
    attention: str = Field(
        default="sdpa", description="attention upstream runs there: eager (GPUs without bf16, e.g. the T4: the "
                                    "limits count its attention matrices, derived) or sdpa (flash counted alike)")
    thinking: bool = Field(default=False, description="whether the LM fits (thinking / CoT requests)")
    thinking_reason: str = ""
    limits: list[FitLimit] = Field(default_factory=list)
    loaded_models: list[str] | None = Field(
        default=None, description="the DiTs the server keeps loaded, every one counted resident in each model's limits "
                                  "(each upstream handler holds its own DiT, text encoder and VAE); None: not known, "
                                  "each model's limits count it alone")
    untiled_limits: list[FitLimit] = Field(
        default_factory=list,
        description="limits for a request with use_tiled_decode=false (the whole batch decoded at once, untiled: "
                    "derived from measured full decodes); empty: not judged")
    data_source: str | None = Field(default=None, description="where the figures came from")

    def limit(self, model: str, batch: int) -> FitLimit | None:
        """The tightest limit for (model, batch): a matrix out-of-memory beats a prediction."""
        found = [x for x in self.limits if x.model == model and x.batch == batch]
        if not found:
            return None
        return min(found, key=lambda x: -1.0 if x.max_duration_s is None else x.max_duration_s)

    def untiled_limit(self, model: str, batch: int) -> FitLimit | None:
        """The limit for (model, batch) with use_tiled_decode=false: its own, or the tiled one where that is tighter
        (an untiled decode needs at least what a tiled one does). None when neither is known."""
        own = [x for x in self.untiled_limits if x.model == model and x.batch == batch]
        found = own + ([t] if (t := self.limit(model, batch)) is not None and own else [])
        if not found:
            return None
        return min(found, key=lambda x: -1.0 if x.max_duration_s is None else x.max_duration_s)


class QueryParam(_Model):
    """One query parameter of an endpoint."""

    name: str
    type: Literal["number", "integer", "string", "boolean"]
    unit: str | None = Field(default=None, description="e.g. 's' for seconds")
    default: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


class PollEndpoint(_Model):
    """Upstream's own way of learning a task's state: every backend has it."""

    method: Literal["POST"] = "POST"
    path: str = "/query_result"
    body: str = Field(default='{"task_id_list": [TASK_ID, ...]}', description="JSON body")
    answer: str = Field(default="envelope whose data is a list of task items", description="what comes back")


class LongPollEndpoint(_Model):
    """``GET path``: answers the moment the task ends, or with its latest item after ``timeout_s``."""

    method: Literal["GET"] = "GET"
    path: str = Field(description="with '{task_id}' to replace by the task id, e.g. /v1/wait/{task_id}")
    query: list[QueryParam] = Field(default_factory=list)
    answer: str = Field(description="what comes back")
    final_field: str = Field(default="extra.final",
                             description="envelope field that is true when the item is final (status 1 or 2)")


class SseEvent(_Model):
    """One kind of server-sent event on the events endpoint."""

    name: str = Field(description="the SSE 'event:' name")
    data: Literal["task_item"] = Field(
        default="task_item", description="the 'data:' line is one JSON task item, as in /query_result's data list")
    final: bool = Field(description="the stream ends after this event")
    description: str = ""


class EventStreamEndpoint(_Model):
    """``GET path`` with ``Accept: text/event-stream``: progress events, then one final event."""

    method: Literal["GET"] = "GET"
    path: str = Field(description="with '{task_id}' to replace by the task id")
    media_type: Literal["text/event-stream"] = "text/event-stream"
    query: list[QueryParam] = Field(default_factory=list)
    events: list[SseEvent] = Field(default_factory=list)
    heartbeat_s: float | None = Field(default=None, description="a progress event comes at least this often")


class WaitEndpoints(_Model):
    """Push completion, served by the acekit gateway (plain upstream has none)."""

    version: Literal[1] = Field(default=1, description="version of the wait protocol (paths, parameters, events)")
    long_poll: LongPollEndpoint
    events: EventStreamEndpoint
    header: str = Field(description="response header on /release_task and /query_result answers naming the long-poll "
                                    "path (the same information, for clients that do not read this document)")
    upstream_poll_s: float | None = Field(default=None,
                                          description="how often the gateway asks upstream about waited-on tasks")


class Completion(_Model):
    """How a client learns that a task ended, on the server that serves this document."""

    poll: PollEndpoint = Field(default_factory=PollEndpoint)
    task_item: dict[str, str] = Field(
        default_factory=lambda: {
            "task_id": "the task's id",
            "status": "0 queued or running, 1 succeeded, 2 failed",
            "result": "a JSON string holding a list, one entry per audio: file, status, progress, stage, metas, error",
            "progress_text": "the server's last log line (server-wide: may belong to another job)",
        },
        description="fields of a task item, the shape every completion answer and event carries")
    wait: WaitEndpoints | None = Field(
        default=None, description="None: no push endpoint (plain upstream, or a document read without its gateway): "
                                  "poll")


class CheckFigure(_Model):
    """One figure a check scored on unseen music, against the target it must reach (higher is better)."""

    metric: str
    measured: float
    target: float
    met: bool


class CheckReliability(_Model):
    """How far one quality check behind the verdicts can be trusted: what it scored once on music that no
    threshold or design was tuned on (acekit's blind calibration splits, docs/analysis.md)."""

    counted_for: list[TaskType] = Field(description="tasks whose verdict counts this check")
    meets_targets: bool | None = Field(
        description="true: every figure meets its target; false: one does not, so a verdict resting on this check "
                    "is weaker than it reads; null: never measured on unseen music")
    measured_on: str = Field(description="the unseen music it was measured on")
    figures: list[CheckFigure] = Field(default_factory=list)
    misses: str = Field(default="", description="what it still gets wrong there, in words")


class TaskCapability(_Model):
    task: TaskType
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list, description="Why, in words a user understands.")
    models: list[str] = Field(default_factory=list, description="Models the verdict holds for.")
    recommended: RecommendedParams = Field(default_factory=RecommendedParams)
    cost: TaskCost = Field(default_factory=TaskCost)
    scores: dict[str, float | None] = Field(default_factory=dict, description="Aggregate quality figures behind the verdict.")
    unproven_checks: list[str] = Field(
        default_factory=list,
        description="checks this verdict counts that have not met their targets on unseen music (see the document's "
                    "`checks`): e.g. show a key-adherence result as a hint, not a guarantee")


class Capabilities(_Model):
    schema_version: Literal["1.0", "1.1", "1.2"] = SCHEMA_VERSION
    generated_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    source: Literal["matrix", "default"] = Field(description="'matrix': measured; 'default': conservative guess from the GPU.")
    backend: BackendInfo
    models: list[ModelInfo] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)
    tasks: dict[TaskType, TaskCapability] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict, description="Thresholds the verdicts used.")
    runs: list[str] = Field(default_factory=list, description="Matrix run ids the document was built from.")
    fit: FitInfo | None = Field(default=None, description="Memory limits (fit model and out-of-memory cases); None: unknown.")
    completion: Completion = Field(default_factory=Completion,
                                   description="How to learn that a task ended on the server serving this document.")
    checks: dict[str, CheckReliability] = Field(
        default_factory=dict,
        description="How far each quality check behind the verdicts holds on unseen music; empty: not said (a "
                    "default document judges no quality, and files before 1.2 do not carry it)")

    def viable_tasks(self) -> list[TaskType]:
        return [t for t, c in self.tasks.items() if c.verdict == Verdict.viable]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def json_schema(cls) -> str:
        return json.dumps(cls.model_json_schema(), indent=2)
