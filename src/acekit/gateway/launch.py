"""Run ``acekit gateway`` as a child process and wait until it answers (tests, benchmarks, demos)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from acekit.reference.launch import free_port


def wait_gateway(url: str, *, timeout_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``/gateway/health`` answers at all (200 or 503: the upstream may be down on purpose)."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"gateway exited with code {proc.returncode} before answering {url}/gateway/health")
        try:
            httpx.get(f"{url}/gateway/health", timeout=2.0, trust_env=False)
            return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"gateway at {url} did not answer /gateway/health within {timeout_s:.0f} s ({last})")


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
    port = port or free_port(host)
    cmd = [sys.executable, "-m", "acekit", "gateway", "--upstream", upstream, "--host", host, "--port", str(port),
           *extra_args]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://{host}:{port}"
    try:
        wait_gateway(url, proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()
