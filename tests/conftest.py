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
