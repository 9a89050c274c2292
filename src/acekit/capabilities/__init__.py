"""The capabilities document a gateway serves so the plugin discovers what a backend can do."""

from acekit.capabilities.schema import (
    SCHEMA_VERSION,
    BackendInfo,
    Capabilities,
    FitInfo,
    FitLimit,
    Limits,
    ModelInfo,
    RecommendedParams,
    TaskCapability,
    TaskCost,
    Verdict,
)

__all__ = [
    "SCHEMA_VERSION",
    "BackendInfo",
    "Capabilities",
    "FitInfo",
    "FitLimit",
    "Limits",
    "ModelInfo",
    "RecommendedParams",
    "TaskCapability",
    "TaskCost",
    "Verdict",
]
