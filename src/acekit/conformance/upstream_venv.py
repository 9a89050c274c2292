"""A separate, cached virtual environment that can run upstream ACE-Step's own API server on CPU.

The conformance tier never installs upstream's stack (torch, transformers, gradio, ~7 GB) into
acekit's own venv: it builds one venv per distinct set of upstream requirements under
``~/.cache/acekit/conformance/`` and reuses it. The key hashes upstream's requirement files and this
recipe, so a new upstream ref with the same requirements reuses the venv, and a changed pin builds
a new one.

Recipe: torch/torchvision/torchaudio 2.10.0 from PyPI (they run on CPU), upstream's requirements
filtered by :mod:`acekit.deploy.deps` (torch pins, index options, other platforms' lines, flash-attn
dropped), ``transformers<4.58`` and the torch-minor companions pinned by a constraints file, and
nano-vllm from upstream's tree with ``--no-deps``. Upstream itself is not installed: the launcher
puts the tree named by ``--upstream-src`` first on ``sys.path``, so the venv serves any tree with
the same requirements and the code that runs is exactly that tree's.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform as host_platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from acekit.deploy.deps import filter_requirements
from acekit.deploy.platforms import platform_for_machine, with_torch_spec

#: Bump when the recipe below changes: it is part of the cache key.
RECIPE_VERSION = "1"
TORCH_SPEC = "torch==2.10.0 torchvision==0.25.0 torchaudio==2.10.0"
#: Pins that keep the stack coherent on CPU; transformers<4.58 is upstream's own upper bound.
EXTRA_CONSTRAINTS = ("transformers<4.58", "torchao>=0.16.0,<0.17.0", "torchcodec>=0.10.0,<0.11.0")
PIP_VERSION = "25.3"
NANO_VLLM_DIR = Path("acestep/third_parts/nano-vllm")
REQUIREMENT_FILES = (Path("requirements.txt"), Path("pyproject.toml"), NANO_VLLM_DIR / "pyproject.toml")


def cache_root() -> Path:
    """Where the venvs live: ``$ACEKIT_CACHE_DIR`` or ``~/.cache/acekit``."""
    return Path(os.environ.get("ACEKIT_CACHE_DIR") or Path.home() / ".cache" / "acekit")


def venv_key(upstream_src: Path) -> str:
    """Hash of upstream's requirement files, this recipe and the host: names the cached venv."""
    digest = hashlib.sha256()
    digest.update(f"recipe={RECIPE_VERSION};torch={TORCH_SPEC};extra={EXTRA_CONSTRAINTS};".encode())
    digest.update(f"python={sys.version_info[:2]};machine={host_platform.machine()};".encode())
    for rel in REQUIREMENT_FILES:
        path = upstream_src / rel
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<absent>")
    return digest.hexdigest()[:16]


def venv_dir(upstream_src: Path) -> Path:
    return cache_root() / "conformance" / f"venv-{venv_key(upstream_src)}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def is_ready(venv: Path) -> bool:
    """A venv counts only once the last build step wrote its manifest."""
    return (venv / "acekit-manifest.json").is_file()


def requirement_texts(upstream_src: Path) -> tuple[str, str]:
    """(filtered requirements, constraints) for upstream's tree on this host."""
    target = with_torch_spec(platform_for_machine(host_platform.machine()), TORCH_SPEC, index_url="https://pypi.org/simple")
    pyprojects = [
        (rel.as_posix(), (upstream_src / rel).read_text())
        for rel in (Path("pyproject.toml"), NANO_VLLM_DIR / "pyproject.toml")
        if (upstream_src / rel).is_file()
    ]
    req_path = upstream_src / "requirements.txt"
    result = filter_requirements(
        platform=target,
        requirements_text=req_path.read_text() if req_path.is_file() else None,
        pyprojects=pyprojects,
    )
    constraints = [f"{name}=={version}" for name, version in target.torch_pins.items()]
    constraints += list(EXTRA_CONSTRAINTS)
    return result.requirements_text(), "\n".join(constraints) + "\n"


def build_venv(
    upstream_src: Path,
    *,
    python: str | None = None,
    log: Callable[[str], None] = print,
    rebuild: bool = False,
) -> Path:
    """Build (or reuse) the upstream venv for ``upstream_src``; returns its directory.

    Builds into a temporary sibling and renames it at the end, so an interrupted build never
    leaves a half venv that looks ready. Raises RuntimeError naming the failed step and its log.
    """
    upstream_src = upstream_src.resolve()
    target = venv_dir(upstream_src)
    if is_ready(target) and not rebuild:
        log(f"upstream venv: reusing {target}")
        return target
    python = python or _find_python311()
    staging = target.with_name(target.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    requirements, constraints = requirement_texts(upstream_src)
    build_log = staging / "build.log"
    log(f"upstream venv: building {target} with {python} (several GB, takes a while; log in {build_log})")
    _run([python, "-m", "venv", str(staging)], build_log, log)
    (staging / "requirements.txt").write_text(requirements)
    (staging / "constraints.txt").write_text(constraints)
    pip = [str(venv_python(staging)), "-m", "pip", "install", "--disable-pip-version-check"]
    steps = [
        ("pip", pip + [f"pip=={PIP_VERSION}"]),
        ("torch", pip + ["-c", str(staging / "constraints.txt")] + TORCH_SPEC.split()),
        ("requirements", pip + ["-c", str(staging / "constraints.txt"), "-r", str(staging / "requirements.txt")]),
        ("nano-vllm", pip + ["--no-deps", str(upstream_src / NANO_VLLM_DIR)]),
    ]
    for name, cmd in steps:
        log(f"upstream venv: step {name}")
        _run(cmd, build_log, log)
    # the venv scripts hold absolute paths, so it is built under its final name's parent and moved
    # whole; python -m venv uses relative lookups for the interpreter, and we always call bin/python
    manifest = {"key": venv_key(upstream_src), "recipe": RECIPE_VERSION, "torch": TORCH_SPEC, "built_from": str(upstream_src)}
    (staging / "acekit-manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    log(f"upstream venv: ready at {target}")
    return target


def _run(cmd: list[str], log_file: Path, log: Callable[[str], None]) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "".join(log_file.read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"building the upstream venv failed at `{' '.join(cmd[:6])} ...` (exit {proc.returncode}); log {log_file}:\n{tail}")


def _find_python311() -> str:
    """Upstream needs CPython 3.11 (its nano-vllm pins triton for 3.11 only)."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise RuntimeError("the upstream venv needs Python 3.11: install python3.11 (apt or pyenv) and retry")
    return found
