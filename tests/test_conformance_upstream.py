"""The conformance tier: acekit's client, CLI, curl kit, gateway and matrix against upstream's OWN api_server.

Runs only when ACEKIT_UPSTREAM_SRC names an upstream ACE-Step 1.5 source tree (skipped otherwise,
so `make test` needs no upstream). The first run builds the upstream venv under
~/.cache/acekit/conformance (several GB, tens of minutes); later runs reuse it. See docs/bringup.md,
"Vetting a new upstream ref".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from acekit.conformance import run_conformance

UPSTREAM = os.environ.get("ACEKIT_UPSTREAM_SRC")

pytestmark = pytest.mark.skipif(
    not UPSTREAM, reason="set ACEKIT_UPSTREAM_SRC to an upstream ACE-Step 1.5 tree to run the conformance tier"
)


def test_every_surface_delivers_what_the_daw_asked_for(tmp_path: Path) -> None:
    report = run_conformance(Path(UPSTREAM or "."), work_dir=tmp_path / "conformance",
                             report_path=tmp_path / "conformance-report.json")
    summary = "\n".join(report.summary_lines())
    print(summary)
    assert report.checks_run > 0, summary
    # every surface ran at least one job through upstream
    assert {c.surface for c in report.checks} >= {"client", "cli", "curl", "gateway", "matrix"}, summary
    assert not report.upstream_bugs, summary
    assert report.ok, summary
