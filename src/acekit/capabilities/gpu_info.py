"""What the gateway knows about the GPU next to it (from NVML or nvidia-smi)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GpuInfo(BaseModel):
    """What the gateway knows about the GPU next to it (from NVML or nvidia-smi)."""

    model_config = ConfigDict(frozen=True)

    name: str
    memory_total_mb: float | None = None
    #: "major.minor", e.g. "7.5" (T4) or "12.1" (GB10); None when the driver did not say.
    compute_capability: str | None = None
    #: True when GPU memory is the system's memory (DGX Spark / GB10, Jetson-class parts).
    unified_memory: bool = False

    @property
    def compute_major_minor(self) -> tuple[int, int] | None:
        if not self.compute_capability:
            return None
        try:
            major, _, minor = self.compute_capability.partition(".")
            return int(major), int(minor or 0)
        except ValueError:
            return None

    @property
    def is_turing(self) -> bool:
        cc = self.compute_major_minor
        if cc is not None:
            return cc == (7, 5)
        name = self.name.upper()
        return any(tag in name for tag in ("T4", "RTX 20", "QUADRO RTX", "GTX 16", "TITAN RTX"))

    @property
    def has_bf16(self) -> bool:
        """Native bf16 needs Ampere (sm_80) or newer."""
        cc = self.compute_major_minor
        if cc is not None:
            return cc >= (8, 0)
        return not self.is_turing

    @property
    def is_spark(self) -> bool:
        return self.unified_memory or "GB10" in self.name.upper()
