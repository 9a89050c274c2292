"""The gateway the DAW plugin talks to: ACE-Step's API passed through unchanged, plus
``/v1/capabilities``, ``/v1/telemetry`` and ``/gateway/health``.

    from acekit.gateway import GatewaySettings, create_app
    app = create_app(GatewaySettings(upstream="http://127.0.0.1:8001"))
"""

from acekit.gateway.app import create_app
from acekit.gateway.gpu import MemorySampler, NullSampler, detect_sampler
from acekit.gateway.settings import GatewaySettings
from acekit.gateway.telemetry import TaskRecord, TaskTracker

__all__ = ["GatewaySettings", "MemorySampler", "NullSampler", "TaskRecord", "TaskTracker", "create_app", "detect_sampler"]
