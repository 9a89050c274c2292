"""Shared fixtures: a real reference backend on loopback, started through the same CLI a user runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from acekit.reference.launch import running_reference_server


@pytest.fixture(scope="session")
def reference_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of one reference backend shared by the session (no API key, default queue)."""
    out = tmp_path_factory.mktemp("reference-out")
    with running_reference_server("--output-dir", str(out), log_path=out / "server.log") as url:
        yield url


@pytest.fixture
def start_reference(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Factory for a private reference backend with its own options, e.g. ``start_reference("--api-key", "k")``.

    Every server started is stopped at the end of the test.
    """
    with ExitStack() as stack:

        def start(*args: str) -> str:
            out = tmp_path / f"ref-{len(stack._exit_callbacks)}"
            out.mkdir()
            return stack.enter_context(
                running_reference_server("--output-dir", str(out), *args, log_path=out / "server.log")
            )

        yield start


@pytest.fixture
def late_reference(tmp_path: Path) -> Iterator[Callable[[float], str]]:
    """Factory: ``late_reference(delay_s)`` reserves a port and returns its URL at once; a reference backend
    starts listening there ``delay_s`` later (a server still coming up). Stopped at the end of the test."""
    import threading
    import time

    from acekit.reference.launch import free_port

    started: list[str] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(delay_s: float) -> str:
        port = free_port()
        out = tmp_path / f"late-ref-{len(threads)}"
        out.mkdir()

        def serve() -> None:
            time.sleep(delay_s)
            with running_reference_server("--output-dir", str(out), port=port, log_path=out / "server.log") as url:
                started.append(url)
                stop.wait(120)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{port}"

    yield start
    stop.set()
    for thread in threads:
        thread.join(30)
