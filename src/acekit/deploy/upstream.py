"""Checks on an upstream ACE-Step source tree before an image is built from it.

The images depend on a few facts about upstream that change between refs: where the API entry
and nano-vllm live, and whether the CUDA dtype can be forced with ``ACESTEP_DTYPE`` (the T4
needs float32; upstream's own pre-Ampere choice is float16, which gives NaN audio on Turing,
upstream issues 1243/1274; upstream reads the variable itself from PR 1312 on, and before that
acekit's dtype launcher, ``acekit.deploy.dtype_launcher``, enforces it through handler seams).
A ref that lacks one of them should fail the build with a message, not produce an image that
starts and then writes NaN.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from acekit.deploy.dtype_launcher import dtype_override_readers, missing_seams
from acekit.deploy.platforms import Platform

API_ENTRY = Path("acestep/api_server.py")
NANO_VLLM_DIR = Path("acestep/third_parts/nano-vllm")


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
        missing = missing_seams(source) if not readers else []
        if readers:
            notes.append(f"ACESTEP_DTYPE={platform.acestep_dtype} is read by {', '.join(map(str, readers))}")
        elif not missing:
            notes.append(
                f"this ref ignores ACESTEP_DTYPE; acekit's dtype launcher enforces {platform.acestep_dtype} "
                "(wraps AceStepHandler.initialize_service, _load_main_model_from_checkpoint, _get_vae_dtype)"
            )
        elif allow_default_dtype:
            notes.append(
                f"this ref ignores ACESTEP_DTYPE and acekit's dtype launcher cannot enforce it (missing "
                f"{', '.join(missing)}): upstream's own dtype (float16 on {platform.name}) is used, "
                "accepted by ALLOW_DEFAULT_DTYPE=1; the matrix must catch NaN output"
            )
        else:
            problems.append(
                f"this ref never reads ACESTEP_DTYPE and acekit's dtype launcher cannot enforce it (missing "
                f"{', '.join(missing)}), so {platform.name} would run float16, which gives NaN audio on Turing "
                "(upstream issues 1243, 1274). Build a ref that reads it (upstream PR 1312 or later), update "
                "src/acekit/deploy/dtype_launcher.py for this ref, or pass --build-arg ALLOW_DEFAULT_DTYPE=1 "
                "to accept upstream's float16"
            )
    return SourceCheck(source=str(source), problems=problems, notes=notes)
