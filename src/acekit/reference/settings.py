"""Settings of the reference backend, in one place (CLI flags fall back to upstream's env names)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from acekit import contract

SERVICE_NAME = "acekit reference engine (not ACE-Step)"
VERSION = "1.0"
DEFAULT_MODELS = ("acestep-v15-turbo", "acestep-v15-base")
DEFAULT_LM_MODEL = "acestep-5Hz-lm-0.6B"


def supported_task_types(model: str) -> list[str]:
    """Upstream's derivation, in its order: turbo checkpoints claim TASK_TYPES_TURBO, all others TASK_TYPES_BASE.

    Upstream reads ``is_turbo`` from the checkpoint's config.json; we have no checkpoints, so the name decides.
    """
    turbo = contract.is_turbo_model_name(model)
    return list(contract.UPSTREAM_TASK_TYPES_TURBO if turbo else contract.UPSTREAM_TASK_TYPES_BASE)


class ReferenceSettings(BaseModel):
    output_dir: Path
    api_key: str | None = None
    queue_maxsize: int = Field(default=200, ge=1)
    workers: int = Field(default=1, ge=1)
    seconds_per_step: float = Field(
        default=0.02, ge=0.0,
        description="Simulated DiT compute: seconds per diffusion step per minute of audio per batch item.",
    )
    job_seconds: tuple[float, float] | None = Field(
        default=None,
        description="SIMULATED compute per job, drawn between these bounds (per task, repeatable) instead of "
                    "seconds_per_step: e.g. (2, 4) makes every job take 2-4 s, like a turbo DiT on a GPU.",
    )
    task_timeout_s: float = Field(default=3600.0, gt=0)
    models: tuple[str, ...] = DEFAULT_MODELS
    #: Checkpoints on disk the server has not loaded: upstream's inventory lists every checkpoint folder,
    #: these with is_loaded=false, and serves a request for one with its primary model.
    downloaded_models: tuple[str, ...] = ()
    initial_avg_job_seconds: float = 5.0
    #: TESTING ONLY: fail jobs that would not fit on this known box (T4, GB10) with a simulated out-of-memory
    #: error, as the real server would on that GPU (acekit.fit decides).
    pretend_gpu: str | None = None
    #: The LM the server names in every result's ``lm_model`` (upstream: ACESTEP_LM_MODEL_PATH), used or not.
    lm_model: str = Field(default_factory=lambda: os.environ.get("ACESTEP_LM_MODEL_PATH") or DEFAULT_LM_MODEL)
    #: Whether the LM imitation (`acekit.reference.lm`) is "loaded", as upstream's LM is on GPUs of 16 GB and up;
    #: ACESTEP_INIT_LLM=false turns it off as it does upstream's.
    lm_loaded: bool = Field(default_factory=lambda: os.environ.get("ACESTEP_INIT_LLM", "auto").strip().lower()
                            not in {"0", "false", "no", "n", "off"})

    @property
    def default_model(self) -> str:
        return self.models[0]

    @property
    def uploads_dir(self) -> Path:
        return self.output_dir / ".uploads"

    @classmethod
    def from_env(cls, output_dir: Path, **overrides) -> "ReferenceSettings":
        """Defaults from upstream's environment names (ACESTEP_API_KEY, ACESTEP_QUEUE_MAXSIZE, ACESTEP_QUEUE_WORKERS,
        ACESTEP_LM_MODEL_PATH)."""
        env = {
            "api_key": os.environ.get("ACESTEP_API_KEY") or None,
            "queue_maxsize": int(os.environ.get("ACESTEP_QUEUE_MAXSIZE", "200")),
            "workers": int(os.environ.get("ACESTEP_QUEUE_WORKERS", "1")),
        }
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls(output_dir=output_dir, **env)
