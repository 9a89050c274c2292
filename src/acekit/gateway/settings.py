"""Every gateway setting in one model: CLI flags override environment variables override defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_UPSTREAM = "http://127.0.0.1:8001"


class GatewaySettings(BaseSettings):
    """Settings of ``acekit gateway``.

    Environment names are ``ACEKIT_GATEWAY_<FIELD>`` unless a field lists others
    (the upstream key reuses ACE-Step's own ``ACESTEP_API_KEY`` so one container env serves both).
    """

    model_config = SettingsConfigDict(env_prefix="ACEKIT_GATEWAY_", extra="ignore", populate_by_name=True)

    upstream: str = Field(default=DEFAULT_UPSTREAM, description="Base URL of the ACE-Step API server.")
    host: str = "0.0.0.0"
    port: int = 8000
    capabilities_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("ACEKIT_CAPABILITIES", "ACEKIT_GATEWAY_CAPABILITIES_FILE"),
        description="Capabilities JSON written by the matrix; reloaded when it changes.",
    )
    api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ACEKIT_GATEWAY_API_KEY"),
        description="Key clients must present (Bearer header or ai_token); None: no check.",
    )
    upstream_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ACESTEP_API_KEY", "ACEKIT_GATEWAY_UPSTREAM_API_KEY"),
        description="Key injected as Bearer on every upstream request; None: the client's header goes through.",
    )
    max_upload_mb: float = Field(default=100.0, gt=0, description="Largest request body accepted, in MiB.")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(
        default=300.0, gt=0, description="Upstream answer deadline; format_input runs the LM and can be slow."
    )
    sampler_interval_s: float = Field(default=0.5, gt=0, description="GPU memory sampling period while tasks run.")
    upstream_workers: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices("ACESTEP_QUEUE_WORKERS", "ACEKIT_GATEWAY_UPSTREAM_WORKERS"),
        description="How many jobs the upstream runs at once; memory samples go to that many oldest in-flight tasks.",
    )
    status_poll_s: float = Field(
        default=1.0, gt=0, description="How often the gateway asks the upstream about in-flight tasks itself.")
    wait_poll_s: float = Field(
        default=0.025, gt=0,
        description="How often the shared poller asks the upstream about tasks clients wait on (/v1/wait); "
                    "one batched loopback request per tick, only while someone waits.")
    task_max_age_s: float = Field(
        default=7200.0, gt=0,
        description="In flight longer than this: 'lost' in telemetry (upstream restarted and forgot the id).")
    models_cache_s: float = Field(default=30.0, ge=0, description="How long a default capabilities document is reused.")
    finished_task_limit: int = Field(default=1000, ge=1, description="Finished tasks kept in telemetry.")
    admission: bool = Field(
        default=True, description="Refuse at once (422) a /release_task that cannot fit in GPU memory (capabilities' fit).")
    # What the ACE-Step server runs, read from its own environment names (the image runs both in one
    # container): the fit model's budget depends on them.
    server_dtype: str | None = Field(default=None, validation_alias=AliasChoices("ACESTEP_DTYPE", "ACEKIT_GATEWAY_DTYPE"),
                                     description="bf16/fp16/fp32 (float32 ...); None/auto: bf16 where the GPU has it, else fp32.")
    init_llm: str | None = Field(default=None, validation_alias=AliasChoices("ACESTEP_INIT_LLM"),
                                 description="upstream's ACESTEP_INIT_LLM: false = no LM loaded")
    lm_model_path: str | None = Field(default=None, validation_alias=AliasChoices("ACESTEP_LM_MODEL_PATH"))
    offload_to_cpu: bool | None = Field(default=None, validation_alias=AliasChoices("ACESTEP_OFFLOAD_TO_CPU"))
    offload_dit_to_cpu: bool = Field(
        default=False, validation_alias=AliasChoices("ACESTEP_OFFLOAD_DIT_TO_CPU"),
        description="upstream's ACESTEP_OFFLOAD_DIT_TO_CPU (default false: with offload on, the DiT stays on the GPU)")
    pretend_gpu: str | None = Field(
        default=None, validation_alias=AliasChoices("ACEKIT_GATEWAY_PRETEND_GPU", "pretend_gpu"),
        description="TESTING ONLY: act as if this known box (T4, GB10) were the GPU, e.g. in front of the reference backend.")

    @field_validator("upstream")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"upstream must be an http(s) URL like {DEFAULT_UPSTREAM}, got {value!r}")
        return value

    @field_validator("offload_to_cpu", mode="before")
    @classmethod
    def _blank_bool_is_none(cls, value):
        # An empty ACESTEP_OFFLOAD_TO_CPU means "unset" to upstream (its auto choice), not an error.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("offload_dit_to_cpu", mode="before")
    @classmethod
    def _upstream_bool(cls, value):
        # Read as upstream's env_bool does: unset or empty = false, else true only for 1/true/yes/y/on.
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "y", "on")
        return bool(value)

    @field_validator("pretend_gpu", "server_dtype", "init_llm", "lm_model_path")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @property
    def server_lm(self) -> str | None:
        """The LM the server loads: 'none', a size, or None when unknown (ACESTEP_INIT_LLM unset or auto)."""
        flag = (self.init_llm or "").lower()
        if flag in ("0", "false", "no", "n", "off"):
            return "none"
        if flag in ("1", "true", "yes", "y", "on"):
            return self.lm_model_path or "0.6B"
        return None

    @field_validator("api_key", "upstream_api_key")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
