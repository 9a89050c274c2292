"""The ``docker build`` command for one platform's image, built from the repository root.

The build context is the repo root because the image installs acekit (the gateway) from this
checkout's source; the Dockerfile lives under docker/<platform>/.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel

from acekit.deploy.platforms import get_platform, with_torch_spec

#: Upstream ACE-Step ref the images build by default: upstream main at 53067ab (17 Apr 2026), verified to exist
#: in upstream history and vetted against upstream's own api_server. docs/bringup.md says how to move it.
DEFAULT_ACESTEP_REF = "53067ab73ba11d32299fa55687497b570b20a4d1"


class BuildPlan(BaseModel):
    platform: str
    dockerfile: str
    context: str
    tag: str
    docker_platform: str
    build_args: dict[str, str]

    def argv(self) -> list[str]:
        """The command, as a list, ready for subprocess."""
        cmd = ["docker", "build", "--platform", self.docker_platform, "-f", self.dockerfile, "-t", self.tag]
        for key, value in self.build_args.items():
            cmd += ["--build-arg", f"{key}={value}"]
        cmd.append(self.context)
        return cmd

    def shell(self) -> str:
        """The command as one shell line (quoted where needed), for printing and copying."""
        import shlex

        return " ".join(shlex.quote(part) for part in self.argv())


def repo_root(start: Path | None = None) -> Path:
    """The checkout root: the nearest parent holding both pyproject.toml and docker/."""
    here = (start or Path(__file__)).resolve()
    for candidate in [here, *here.parents]:
        if (candidate / "pyproject.toml").is_file() and (candidate / "docker").is_dir():
            return candidate
    raise FileNotFoundError(
        "cannot find the acekit checkout (a folder with pyproject.toml and docker/): run from the repo or pass --context"
    )


def plan_build(
    platform: str,
    *,
    ref: str = DEFAULT_ACESTEP_REF,
    flash_attn: bool = False,
    tag: str | None = None,
    context: Path | None = None,
    torch_index_url: str | None = None,
    torch_spec: str | None = None,
    torch_pre: bool = False,
) -> BuildPlan:
    """Work out the build command. Raises ValueError for a combination the image refuses (flash-attn on T4)."""
    target = get_platform(platform)
    if flash_attn and not target.supports_flash_attn:
        raise ValueError(
            f"{target.name} cannot use FlashAttention 2 (it needs sm_80+; the T4 is sm_75): drop --flash-attn, SDPA is used"
        )
    root = context or repo_root()
    args = {"ACESTEP_REF": ref}
    if flash_attn:
        args["INSTALL_FLASH_ATTN"] = "1"
    if torch_index_url:
        args["TORCH_INDEX_URL"] = torch_index_url
    if torch_spec:
        with_torch_spec(target, torch_spec)  # refuse a spec the build's final verification would reject
        args["TORCH_SPEC"] = torch_spec
    if torch_pre:  # nightlies are pre-releases: pip skips them without --pre
        args["TORCH_PRE"] = "1"
    return BuildPlan(
        platform=target.name,
        dockerfile=str(root / "docker" / target.name / "Dockerfile"),
        context=str(root),
        tag=tag or f"acekit-acestep:{target.name}",
        docker_platform=target.docker_platform,
        build_args=args,
    )


def run_build(plan: BuildPlan) -> int:
    """Run the build; raises RuntimeError when no docker client is on PATH."""
    if shutil.which("docker") is None:
        raise RuntimeError(
            "docker is not on PATH: install Docker (with the NVIDIA container toolkit on the GPU host) "
            "or run without --run and execute the printed command where Docker is"
        )
    return subprocess.run(plan.argv(), check=False).returncode
