"""docker/gateway-requirements.txt is enough to run the gateway in the image.

The image installs acekit with ``--no-deps`` next to that list (its analysis stack has no arm64
wheels), and the build only runs ``acekit --help``, which imports no gateway code. So a gateway
import missing from the list would only show when the container starts. Here the gateway is
imported and started for real in a fresh interpreter, and every distribution it loaded must be
in the list or pulled in by something in it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "docker" / "gateway-requirements.txt"

# What `acekit gateway` does at start: CLI import, settings, app, lifespan (sampler, client), uvicorn.
PROBE = r"""
import asyncio, json, sys
from importlib import metadata
import acekit.cli.main
from acekit.cli import gateway_cmds
from acekit.gateway import GatewaySettings, create_app, detect_sampler
import uvicorn, uvicorn.config, uvicorn.server
app = create_app(GatewaySettings())
detect_sampler()
async def lifespan():
    async with app.router.lifespan_context(app):
        pass
asyncio.run(lifespan())
owners = metadata.packages_distributions()
used = set()
for name in list(sys.modules):
    top = name.split(".")[0]
    if top in sys.stdlib_module_names or top.startswith("_") or top == "acekit":
        continue
    used.update(owners.get(top, []))
print(json.dumps(sorted(used)))
"""


def _listed() -> set[str]:
    names = set()
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonicalize_name(Requirement(line).name))
    return names


def _closure(roots: set[str]) -> set[str]:
    """The roots and everything their installed metadata requires (markers evaluated, no extras)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def test_every_distribution_the_gateway_loads_is_installed_by_the_list() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    used = {canonicalize_name(d) for d in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert {"fastapi", "uvicorn", "httpx", "pydantic-settings", "python-multipart"} <= used  # the probe ran the gateway
    missing = used - _closure(_listed())
    assert not missing, f"add to {REQUIREMENTS.name}: {sorted(missing)}"


def test_nvml_bindings_are_in_the_image() -> None:
    """Without them the gateway falls back to one nvidia-smi subprocess per memory reading."""
    assert "nvidia-ml-py" in _listed()


def test_every_listed_package_is_locked() -> None:
    """The image installs the list with -c requirements.lock: an unlocked name floats."""
    locked = {canonicalize_name(m[1]) for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", (REPO / "requirements.lock").read_text(), re.M)}
    assert _listed() <= locked
