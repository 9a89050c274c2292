"""Run ``acekit gateway`` as a child process and wait until it answers (tests, benchmarks, demos)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from acekit.serving import running_acekit, wait_answering


def wait_gateway(url: str, *, timeout_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``/gateway/health`` answers at all (200 or 503: the upstream may be down on purpose)."""
    wait_answering(f"{url}/gateway/health", what="gateway", accept=lambda r: True, timeout_s=timeout_s, proc=proc)


@contextmanager
def running_gateway(
    upstream: str,
    *extra_args: str,
    port: int | None = None,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``python -m acekit gateway --upstream UPSTREAM`` on loopback; yield its base URL; stop it on exit."""
    with running_acekit(["gateway", "--upstream", upstream, *extra_args],
                        wait=lambda url, proc: wait_gateway(url, proc=proc),
                        port=port, host=host, log_path=log_path, env=env) as url:
        yield url
