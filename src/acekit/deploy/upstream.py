"""Checks on an upstream ACE-Step source tree before an image is built from it.

The images depend on a few facts about upstream that change between refs: where the API entry
and nano-vllm live, and whether the CUDA dtype can be forced with ``ACESTEP_DTYPE`` (the T4
needs float32; upstream's own pre-Ampere choice is float16, which gives NaN audio on Turing,
upstream issues 1243/1274; the override is upstream PR 1312). A ref that lacks one of them should
fail the build with a message, not produce an image that starts and then writes NaN.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from acekit.deploy.platforms import Platform

API_ENTRY = Path("acestep/api_server.py")
NANO_VLLM_DIR = Path("acestep/third_parts/nano-vllm")
#: Code that reads the variable (not just an error hint that mentions it).
_DTYPE_READ = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']ACESTEP_DTYPE["']""")


class SourceCheck(BaseModel):
    source: str
    problems: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"upstream source {self.source}: " + ("OK" if self.ok else "NOT USABLE")]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def dtype_override_readers(source: Path) -> list[Path]:
    """Non-test Python files under acestep/ that read ACESTEP_DTYPE from the environment."""
    found = []
    for path in sorted((source / "acestep").rglob("*.py")):
        if path.name.endswith("_test.py") or path.name.startswith("test_") or "tests" in path.parts:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if _DTYPE_READ.search(text):
            found.append(path.relative_to(source))
    return found


def check_source(source: Path, platform: Platform, *, allow_default_dtype: bool = False) -> SourceCheck:
    """What an image for ``platform`` needs from the upstream tree at ``source``."""
    problems: list[str] = []
    notes: list[str] = []
    if not (source / API_ENTRY).is_file():
        problems.append(f"{API_ENTRY} is missing: the image starts the API with `python {API_ENTRY}`")
    if not (source / NANO_VLLM_DIR / "pyproject.toml").is_file():
        problems.append(f"{NANO_VLLM_DIR}/pyproject.toml is missing: nano-vllm cannot be installed")
    for name in ("requirements.txt", "pyproject.toml"):
        if not (source / name).is_file():
            problems.append(f"{name} is missing: `acekit deps filter` reads it")
    if platform.acestep_dtype is not None:
        readers = dtype_override_readers(source)
        if readers:
            notes.append(f"ACESTEP_DTYPE={platform.acestep_dtype} is read by {', '.join(map(str, readers))}")
        elif allow_default_dtype:
            notes.append(
                f"this ref ignores ACESTEP_DTYPE: upstream's own dtype (float16 on {platform.name}) is used, "
                "accepted by ALLOW_DEFAULT_DTYPE=1; the matrix must catch NaN output"
            )
        else:
            problems.append(
                f"this ref never reads ACESTEP_DTYPE, so {platform.name} would run float16, which gives NaN audio "
                "on Turing (upstream issues 1243, 1274). Build a ref that reads it (upstream PR 1312 or later), "
                "or pass --build-arg ALLOW_DEFAULT_DTYPE=1 to accept upstream's float16"
            )
    return SourceCheck(source=str(source), problems=problems, notes=notes)
