"""The JSON sidecar written beside every generated audio file: what made it and what came back.

Holds what is needed to reproduce and judge a file: the request fields as sent, the uploaded
files, everything the server returned for that audio (metas, seed, models) and the task's
timings. The CLI writes one per file; library users call `sidecar_for` and `write_sidecar`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["SIDECAR_SCHEMA", "sidecar_path", "item_seed", "sidecar_for", "write_sidecar"]

SIDECAR_SCHEMA = "acekit.sidecar/1"


def sidecar_path(audio: Path) -> Path:
    """``clip.wav`` -> ``clip.json``, beside the audio."""
    return audio.with_suffix(".json")


def item_seed(seed_value: str | None, index: int, batch_size: int) -> int | None:
    """This file's seed: upstream reports the batch's seeds comma-joined on every item."""
    parts = [p.strip() for p in (seed_value or "").split(",") if p.strip()]
    if len(parts) == 1:
        pick = parts[0]
    elif len(parts) == batch_size and index < len(parts):
        pick = parts[index]
    else:
        return None
    try:
        return int(pick)
    except ValueError:
        return None


def sidecar_for(
    outcome: Any,
    request: Any,
    index: int,
    audio: Path,
    *,
    server: str,
    uploads: dict[str, Path | None],
) -> dict[str, Any]:
    """The sidecar of the ``index``-th file of ``outcome`` (a `GenerationOutcome`) for ``request``.

    Holds what is needed to reproduce and judge the file: the request fields as sent, the
    uploaded files, everything the server returned for this audio (metas, seed, models) and
    the timings of the whole task.
    """
    from acekit import __version__

    item = outcome.result.items[index]
    returned = item.model_dump(mode="json", exclude={"wave"})  # "wave" is upstream's unused inline audio slot
    return {
        "schema": SIDECAR_SCHEMA,
        "acekit_version": __version__,
        "audio": audio.name,
        "batch_index": index,
        "batch_size": len(outcome.result.items),
        "server": server,
        "task_id": outcome.task_id,
        "task_type": request.task_type.value,
        "request": request.to_api_fields(),
        # what the 5 Hz LM was allowed to do, and where each meta came from (user / measured / server)
        "lm": {"mode": request.lm_mode(), "switches": request.lm_switches()},
        "meta_sources": {k: v.model_dump(mode="json", exclude_none=True) for k, v in request.meta_sources().items()},
        "uploads": {k: (str(Path(v).resolve()) if v else None) for k, v in uploads.items()},
        "metas": item.metas.model_dump(mode="json"),
        "seed_value": item.seed_value,
        "seed": item_seed(item.seed_value, index, len(outcome.result.items)),
        "dit_model": item.dit_model,
        "lm_model": item.lm_model,
        "result": returned,
        "timings": {
            "submitted_at": outcome.submitted_at.isoformat(),
            "wall_s": round(outcome.wall_s, 3),
            "queue_wait_s": None if outcome.queue_wait_s is None else round(outcome.queue_wait_s, 3),
            "download_s": round(outcome.download_s, 3),
            "polls": outcome.polls,
        },
        "written_at": datetime.now(timezone.utc).isoformat(),
    }


def write_sidecar(card: dict[str, Any], audio: Path) -> Path:
    """Write ``card`` beside ``audio`` (see `sidecar_path`); via a temporary file, so never half-written."""
    target = sidecar_path(Path(audio))
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target
