"""Turn upstream ACE-Step's requirement lists into a torch-free list for one platform.

Upstream's ``requirements.txt`` and ``pyproject.toml`` pin torch/torchvision/torchaudio for every
platform behind extra indexes, carry Windows/macOS/MLX lines, a Windows-only flash-attn wheel URL,
and nano-vllm as a local path. Installed as they are, pip may replace the torch an image chose.
``filter_requirements`` keeps only what the target needs and says why it dropped every other line;
``constraints_text`` writes the constraints file that pins the chosen torch for every later
``pip install -c``.

Parsing goes through ``packaging`` (``Requirement``, ``Marker.evaluate`` with the target's
environment), not regexes, so odd spellings (``Torch``, ``torch[opt]``, extras, markers) are
handled the way pip itself reads them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from pydantic import BaseModel

from acekit.deploy.platforms import TORCH_FAMILY, Platform

#: Python the images run; upstream requires ==3.11.*.
TARGET_PYTHON = "3.11"
TARGET_PYTHON_FULL = "3.11.14"

#: Packages installed by their own Dockerfile step, never from the filtered list.
FLASH_ATTN = "flash-attn"
NANO_VLLM = "nano-vllm"
#: Apple-only packages, dropped even if a line forgot its marker.
APPLE_ONLY_PREFIXES = ("mlx",)

DropReason = Literal[
    "torch-family",
    "index-option",
    "nested-file",
    "marker-excludes-target",
    "other-platform-wheel",
    "local-path",
    "flash-attn",
    "apple-only",
    "duplicate",
]


class SourceLine(BaseModel):
    """One requirement as it appears in an input file."""

    source: str  # file name
    lineno: int  # 1-based line (requirements) or list index + 1 (pyproject)
    text: str  # the line as written, continuation lines joined


class DroppedLine(SourceLine):
    reason: DropReason
    detail: str


class KeptLine(SourceLine):
    requirement: str  # normalised requirement written to the output, marker removed


class FilterResult(BaseModel):
    """Outcome of filtering: the lines kept (in input order) and every line dropped, with why."""

    platform: str
    machine: str
    kept: list[KeptLine]
    dropped: list[DroppedLine]

    def requirements_text(self) -> str:
        """Content of the filtered requirements file."""
        header = [
            f"# Filtered by `acekit deps filter` for {self.platform} ({self.machine}, Python {TARGET_PYTHON}).",
            "# torch/torchvision/torchaudio come from the constraints file; install with -c constraints.txt.",
        ]
        return "\n".join(header + [k.requirement for k in self.kept]) + "\n"

    def report_lines(self) -> list[str]:
        """Human-readable account of every dropped line."""
        return [f"{d.source}:{d.lineno}: dropped [{d.reason}] {d.text}  -- {d.detail}" for d in self.dropped]


def target_environment(platform: Platform) -> dict[str, str]:
    """PEP 508 marker environment of the image's interpreter (Linux, CPython 3.11, the platform's arch)."""
    return {
        "implementation_name": "cpython",
        "implementation_version": TARGET_PYTHON_FULL,
        "os_name": "posix",
        "platform_machine": platform.machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": TARGET_PYTHON_FULL,
        "python_version": TARGET_PYTHON,
        "sys_platform": "linux",
        "extra": "",
    }


def _wheel_fits(filename: str, platform: Platform) -> tuple[bool, str]:
    """Whether a wheel file name can install on the target (CPython 3.11, manylinux/linux, arch)."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return True, "not a wheel file name: left to pip"
    py_ok = lambda t: t.interpreter in {"py3", "cp311", "py311"}  # noqa: E731
    abi_ok = lambda t: t.abi in {"none", "abi3", "cp311"}  # noqa: E731
    plat_ok = lambda t: t.platform == "any" or (  # noqa: E731
        (t.platform.startswith("manylinux") or t.platform.startswith("linux"))
        and t.platform.endswith(platform.machine)
    )
    fitting: list[Tag] = [t for t in tags if py_ok(t) and abi_ok(t) and plat_ok(t)]
    if fitting:
        return True, ""
    shown = ", ".join(sorted(str(t) for t in tags))
    return False, f"wheel tags {shown} do not fit linux {platform.machine} cp311"


def _looks_like_path(text: str) -> bool:
    head = text.split(";", 1)[0].strip()
    return head.startswith((".", "/", "file:")) or "/" in head and "://" not in head and "@" not in head


def _classify(line: SourceLine, req_text: str, platform: Platform, env: dict[str, str]) -> DroppedLine | KeptLine:
    """Decide one requirement. Order matters: the most specific reason wins."""
    try:
        req = Requirement(req_text)
    except InvalidRequirement as exc:
        if _looks_like_path(req_text):
            return DroppedLine(**line.model_dump(), reason="local-path", detail="local path: installed by its own step with --no-deps")
        raise ValueError(
            f"{line.source}:{line.lineno}: cannot parse {line.text!r} ({exc}); fix the line or report it"
        ) from exc
    name = canonicalize_name(req.name)
    if name in TORCH_FAMILY:
        return DroppedLine(
            **line.model_dump(), reason="torch-family", detail=f"{name} is pinned by the constraints file ({platform.torch_pins[name]})"
        )
    if req.url and req.url.startswith("file:"):
        return DroppedLine(**line.model_dump(), reason="local-path", detail=f"local {req.url}: installed by its own step with --no-deps")
    if req.url:
        # before the marker: the wheel's own tags are the hard fact, a marker can be wrong or missing
        fits, why = _wheel_fits(req.url.rsplit("/", 1)[-1], platform)
        if not fits:
            return DroppedLine(**line.model_dump(), reason="other-platform-wheel", detail=why)
    if req.marker is not None and not req.marker.evaluate(env):
        return DroppedLine(
            **line.model_dump(),
            reason="marker-excludes-target",
            detail=f"marker `{req.marker}` is false on linux {platform.machine} py{TARGET_PYTHON}",
        )
    if name == FLASH_ATTN:
        return DroppedLine(
            **line.model_dump(), reason="flash-attn", detail="installed only by the opt-in INSTALL_FLASH_ATTN build step"
        )
    if name == NANO_VLLM:
        return DroppedLine(
            **line.model_dump(), reason="local-path", detail="nano-vllm ships in acestep/third_parts: installed with --no-deps"
        )
    if name.startswith(APPLE_ONLY_PREFIXES):
        return DroppedLine(**line.model_dump(), reason="apple-only", detail="MLX runs only on Apple Silicon")
    kept = Requirement(str(req))
    kept.marker = None  # evaluated above for this target; the output is per-platform
    return KeptLine(**line.model_dump(), requirement=str(kept))


def requirement_lines(text: str, *, source: str) -> Iterable[tuple[SourceLine, str | None]]:
    """Yield (line, requirement text or None for an option line) from requirements.txt content.

    Joins backslash continuations and strips comments the way pip does (a ``#`` at line start or
    after whitespace).
    """
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = lineno
        if raw.endswith("\\"):
            buffer += raw[:-1]
            continue
        logical.append((start, buffer + raw))
        buffer = ""
    if buffer:
        logical.append((start, buffer))
    for lineno, raw in logical:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        for sep in (" #", "\t#"):
            if sep in stripped:
                stripped = stripped.split(sep, 1)[0].rstrip()
        line = SourceLine(source=source, lineno=lineno, text=stripped)
        if stripped.startswith("-"):
            if stripped.startswith(("-e ", "--editable")):
                target = stripped.split(None, 1)[1] if " " in stripped else ""
                yield line, target or stripped
            else:
                yield line, None
        else:
            yield line, stripped


def pyproject_lines(text: str, *, source: str) -> Iterable[tuple[SourceLine, str]]:
    """Yield ([project].dependencies entry, requirement text) from pyproject.toml content."""
    data = tomllib.loads(text)
    deps = data.get("project", {}).get("dependencies", [])
    path_sources = {
        canonicalize_name(name)
        for name, spec in data.get("tool", {}).get("uv", {}).get("sources", {}).items()
        if isinstance(spec, dict) and "path" in spec
    }
    for index, dep in enumerate(deps, start=1):
        line = SourceLine(source=source, lineno=index, text=dep)
        name = _name_or_none(dep)
        if name is not None and name in path_sources and name != NANO_VLLM:
            # a [tool.uv.sources] path package other than nano-vllm: same treatment, stated as a path
            yield line, f"./{name}"
        else:
            yield line, dep


def _name_or_none(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


def filter_requirements(
    *,
    platform: Platform,
    requirements_text: str | None = None,
    requirements_source: str = "requirements.txt",
    pyprojects: Iterable[tuple[str, str]] = (),
) -> FilterResult:
    """Filter upstream requirement lists for ``platform``.

    Parameters
    ----------
    platform:
        Target; its machine drives marker evaluation, its pins fill the drop reasons.
    requirements_text:
        Content of a requirements.txt (optional).
    pyprojects:
        (source name, content) of pyproject.toml files whose [project].dependencies join the list,
        e.g. upstream's own and nano-vllm's (installed with --no-deps, so its deps must come from here).

    Returns every kept requirement once (exact duplicates after normalisation are reported as
    dropped "duplicate"), and every dropped line with its reason.
    """
    env = target_environment(platform)
    kept: list[KeptLine] = []
    dropped: list[DroppedLine] = []
    seen: dict[str, KeptLine] = {}

    def take(line: SourceLine, req_text: str | None) -> None:
        if req_text is None:
            if line.text.startswith(("-r", "--requirement", "-c", "--constraint")):
                # not followed on purpose: the filter's inputs are explicit, so nothing is read unseen
                dropped.append(
                    DroppedLine(
                        **line.model_dump(), reason="nested-file", detail="nested file not followed: pass it to `acekit deps filter` too"
                    )
                )
            else:
                dropped.append(
                    DroppedLine(**line.model_dump(), reason="index-option", detail="index/find-links options are the Dockerfile's job")
                )
            return
        decision = _classify(line, req_text, platform, env)
        if isinstance(decision, DroppedLine):
            dropped.append(decision)
            return
        if decision.requirement in seen:
            first = seen[decision.requirement]
            dropped.append(
                DroppedLine(**line.model_dump(), reason="duplicate", detail=f"same as {first.source}:{first.lineno}")
            )
            return
        seen[decision.requirement] = decision
        kept.append(decision)

    if requirements_text is not None:
        for line, req_text in requirement_lines(requirements_text, source=requirements_source):
            take(line, req_text)
    for source, text in pyprojects:
        for line, req_text in pyproject_lines(text, source=source):
            take(line, req_text)
    return FilterResult(platform=platform.name, machine=platform.machine, kept=kept, dropped=dropped)


def constraints_text(platform: Platform) -> str:
    """Content of the constraints file that pins the platform's torch build for every pip install."""
    header = [
        f"# Constraints for {platform.name} ({platform.machine}, CUDA {platform.cuda}): written by `acekit deps filter`.",
        f"# torch family from {platform.torch_index_url}; pass -c this file to every pip install after torch.",
    ]
    return "\n".join(header + platform.constraint_lines()) + "\n"


def filter_files(
    *,
    platform: Platform,
    requirements: Path | None,
    pyprojects: Iterable[Path] = (),
) -> FilterResult:
    """File-reading wrapper around :func:`filter_requirements`."""
    pyprojects = list(pyprojects)
    if requirements is None and not pyprojects:
        raise ValueError("nothing to filter: give a requirements file and/or --pyproject")
    return filter_requirements(
        platform=platform,
        requirements_text=requirements.read_text() if requirements is not None else None,
        requirements_source=str(requirements) if requirements is not None else "requirements.txt",
        pyprojects=[(str(p), p.read_text()) for p in pyprojects],
    )


__all__ = [
    "DroppedLine",
    "FilterResult",
    "KeptLine",
    "constraints_text",
    "filter_files",
    "filter_requirements",
    "target_environment",
]
