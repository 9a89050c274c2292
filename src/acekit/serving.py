"""Run an ``acekit`` server command (reference backend, gateway) as a child process on loopback.

One home for the process handling both launchers need: pick a free port, start
``python -m acekit ...`` so tests and demos exercise the entry point a user runs, wait until
it answers, and always stop it (terminate, then kill) with its log closed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["free_port", "wait_answering", "running_acekit"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_answering(
    url: str,
    *,
    what: str,
    accept: Callable[[httpx.Response], bool],
    timeout_s: float = 30.0,
    proc: subprocess.Popen | None = None,
) -> None:
    """Poll ``url`` until ``accept(response)``; fail fast if ``proc`` exits first."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before answering {url}")
        try:
            response = httpx.get(url, timeout=2.0, trust_env=False)
            if accept(response):
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{what} at {url} did not answer within {timeout_s:.0f} s ({last})")


@contextmanager
def running_acekit(
    args: Sequence[str],
    *,
    wait: Callable[[str, subprocess.Popen], None],
    port: int | None = None,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``python -m acekit ARGS --host HOST --port PORT``; yield its base URL once ``wait`` returns."""
    port = port or free_port(host)
    cmd = [sys.executable, "-m", "acekit", *args, "--host", host, "--port", str(port)]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://{host}:{port}"
    try:
        wait(url, proc)
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
