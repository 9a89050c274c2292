"""The servers a benchmark measures: a reference backend with a gateway in front, warmed up."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchServers:
    tmp: Path  # scratch folder, removed afterwards
    backend: str  # the reference backend's URL
    gateway: str  # the gateway's URL, in front of the backend
    warm_task_id: str  # a finished task (the warm-up render)


@contextmanager
def reference_and_gateway(prefix: str) -> Iterator[BenchServers]:
    """Start both on loopback and render one clip first, so the first measured job is not the cold one."""
    from acekit.client import Client
    from acekit.gateway.launch import running_gateway
    from acekit.models import Text2MusicRequest
    from acekit.reference.launch import running_reference_server

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        backend = stack.enter_context(running_reference_server("--output-dir", str(tmp / "server"),
                                                               log_path=tmp / "ref.log"))
        gateway = stack.enter_context(running_gateway(backend, "--log-level", "warning", log_path=tmp / "gw.log"))
        with Client(backend) as client:
            task_id = client.generate(Text2MusicRequest(duration_s=10, batch_size=1, audio_format="wav"),
                                      out_dir=tmp / "warm").task_id
        yield BenchServers(tmp, backend, gateway, task_id)
