"""Regression tests for the faults and bad inputs a hostile review found (issue 9), one block per item.

Each test failed on 1017abc. Servers are real processes on loopback (the reference backend, the
gateway in front of it), driven as a client would drive them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from acekit.gateway.launch import running_gateway, wait_gateway
from acekit.reference.launch import free_port, wait_healthy


@pytest.fixture(scope="module")
def gateway(reference_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("hardening-gw") / "gateway.log"
    with running_gateway(reference_server, log_path=log) as url:
        yield url


def _http(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30.0, trust_env=False)


# --------------------------------------------------------------------------- 3: NUL byte in a path


@pytest.mark.parametrize("via", ["direct", "gateway"])
def test_nul_byte_in_audio_path_is_400_not_500(via: str, reference_server: str, gateway: str) -> None:
    with _http(reference_server if via == "direct" else gateway) as http:
        r = http.get("/v1/audio?path=a%00b.wav")
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["detail"]


def test_nul_byte_in_src_audio_path_is_400(reference_server: str) -> None:
    with _http(reference_server) as http:
        r = http.post("/release_task", json={"task_type": "repaint", "src_audio_path": "a\x00b.wav"})
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
