"""Start the built-in reference backend as a child process and wait until it answers.

Used by ``acekit demo``/``acekit matrix --reference`` and by the test-suite, so both
exercise the same ``acekit serve-reference`` entry point a user runs.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from acekit.serving import free_port, running_acekit, wait_answering

__all__ = ["free_port", "wait_healthy", "running_reference_server"]


def wait_healthy(url: str, timeout_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until the reference backend's ``/health`` answers without a server error."""
    wait_answering(f"{url}/health", what="reference backend", accept=lambda r: r.status_code < 500,
                   timeout_s=timeout_s, proc=proc)


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
    with running_acekit(["serve-reference", *extra_args], wait=lambda url, proc: wait_healthy(url, proc=proc),
                        port=port, host=host, log_path=log_path, env=env) as url:
        yield url
