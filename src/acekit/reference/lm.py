"""Imitation of upstream's 5 Hz LM chain of thought, so acekit's CoT switches make a measurable difference here.

NOT ACE-Step's LM: values are drawn from the seed, clearly labelled in every result. What it copies
from upstream 53067ab (``acestep/inference.py``, ``llm_inference.py`` ``generate_with_stop_condition``,
``api/llm_generation_inputs.py``):

* The LM runs only when it is loaded and the task is text2music, lego or complete (upstream skips
  cover, repaint and extract). ``use_cot_metas`` is always on in upstream's API (no request field),
  so whenever it runs and the request lacks any of bpm, key, time signature and duration, the CoT
  phase fills every missing one. The LM reads caption and lyrics only, never the source audio:
  its tempo and key for a lego or complete need not match the source.
* With ``use_cot_caption`` (upstream's default: true) the CoT phase also replaces the caption the
  DiT gets. Upstream still reports the caption as sent in ``prompt``; here generation_info says so.
* With all four metas given the CoT phase is skipped: nothing is filled or rewritten.
* ``thinking=true`` with no LM loaded fails the job ("5Hz LM init failed"), as upstream does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from acekit.contract import TaskType
from acekit.reference import engine

#: Tasks for which upstream runs the LM before the DiT.
LM_TASKS = frozenset({TaskType.text2music, TaskType.lego, TaskType.complete})
#: Duration the imitation writes when it fills one (seconds).
LM_DURATION_S = 30.0
LABEL = "5 Hz LM imitation of the reference engine (NOT ACE-Step's LM)"


class LmUnavailable(RuntimeError):
    """thinking=true on a server without the LM: upstream fails the job with this message."""


@dataclass(frozen=True)
class CotOutcome:
    ran: bool  # the CoT phase ran (the LM was loaded, the task uses it and a meta was missing)
    filled: dict[str, object] = field(default_factory=dict)  # bpm, key (a Key), time_signature, duration
    caption: str | None = None  # the rewritten caption, when use_cot_caption let it rewrite

    def describe(self) -> str:
        if not self.ran:
            return ""
        parts = [f"{k} {getattr(v, 'canonical', v)}" for k, v in self.filled.items()]
        line = f"{LABEL}: filled " + (", ".join(parts) if parts else "nothing")
        if self.caption is not None:
            line += f"; replaced the caption the DiT got with {self.caption!r}"
        return line


def imitate_cot(req, seed0: int, *, lm_loaded: bool) -> CotOutcome:  # noqa: ANN001 - reference.params.TaskRequest
    """What upstream's LM would change in ``req`` before the DiT runs (see the module doc)."""
    if req.thinking and not lm_loaded:
        raise LmUnavailable("5Hz LM init failed: LLM disabled via ACESTEP_INIT_LLM=false")
    if not lm_loaded or req.task_type not in LM_TASKS:
        return CotOutcome(ran=False)
    has_duration = req.audio_duration is not None and req.audio_duration > 0
    if req.bpm is not None and req.key_scale and req.time_signature and has_duration:
        return CotOutcome(ran=False)
    rng = np.random.default_rng([seed0, 3])
    filled: dict[str, object] = {}
    if req.bpm is None:
        filled["bpm"] = int(rng.integers(80, 141))
    if not req.key_scale:
        filled["key"] = engine.random_key(seed0)
    if not req.time_signature:
        filled["time_signature"] = "4"
    if not has_duration:
        filled["duration"] = LM_DURATION_S
    caption = f"[{LABEL}] an instrumental track" if req.use_cot_caption else None
    return CotOutcome(ran=True, filled=filled, caption=caption)
