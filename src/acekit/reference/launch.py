"""Start the built-in reference backend as a child process and wait until it answers.

Used by ``acekit demo``/``acekit matrix --reference`` and by the test-suite, so both
exercise the same ``acekit serve-reference`` entry point a user runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"reference backend exited with code {proc.returncode} before answering {url}/health")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError as exc:  # not up yet
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"reference backend at {url} did not answer /health within {timeout_s:.0f} s ({last})")


@contextmanager
def running_reference_server(
    *extra_args: str,
    port: int | None = None,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``acekit serve-reference`` on loopback; yield its base URL; stop it on exit.

    ``extra_args`` go to the command line as they are (e.g. ``"--api-key", "s3cret"``).
    """
    port = port or free_port(host)
    cmd = [sys.executable, "-m", "acekit", "serve-reference", "--host", host, "--port", str(port), *extra_args]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://{host}:{port}"
    try:
        wait_healthy(url, proc=proc)
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
