"""The two deployment targets, as data: one place that says which torch, which CUDA, which base image.

Everything that builds or checks an image (the deps filter, the constraints file, the image build
command, the Dockerfile tests) reads these values, so a version bump is one edit here plus the
matching ARG defaults in docker/<platform>/Dockerfile (a test keeps the two in step).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

PlatformName = Literal["spark", "t4"]

#: Packages whose build must be the one the image chose. pip must never replace these.
TORCH_FAMILY: tuple[str, ...] = ("torch", "torchvision", "torchaudio")


class Platform(BaseModel):
    """One deployment target: hardware facts and the exact torch build that goes with them."""

    model_config = ConfigDict(frozen=True)

    name: PlatformName
    machine: str  # platform_machine as PEP 508 markers see it (uname -m)
    docker_platform: str  # --platform for docker build
    cuda: str  # CUDA major.minor of the base image and of the torch wheels
    base_image: str
    torch_index_url: str
    torch_pins: dict[str, str]  # name -> exact version, local label included
    #: Packages built against one torch minor (C++ ABI) that declare no torch requirement, so pip
    #: cannot see the coupling: pinned next to torch in the constraints file.
    companion_pins: dict[str, str]
    supports_bf16: bool
    supports_flash_attn: bool
    #: ACE-Step dtype forced through ACESTEP_DTYPE; None lets upstream choose (bf16 on sm_80+).
    acestep_dtype: str | None

    @property
    def cuda_tag(self) -> str:
        """Wheel local label for this CUDA, e.g. ``cu130``."""
        return "cu" + self.cuda.replace(".", "")

    def constraint_lines(self) -> list[str]:
        """Lines of the constraints file: torch family pinned exactly, then ABI companions."""
        lines = [f"{name}=={version}" for name, version in self.torch_pins.items()]
        lines += [f"{name}{spec}" for name, spec in self.companion_pins.items()]
        return lines

    def torch_spec(self) -> str:
        """The space-separated requirement list a Dockerfile passes to ``pip install`` for torch."""
        return " ".join(f"{name}=={version}" for name, version in self.torch_pins.items())


SPARK = Platform(
    name="spark",
    machine="aarch64",
    docker_platform="linux/arm64",
    cuda="13.0",
    base_image="nvidia/cuda:13.0.1-cudnn-devel-ubuntu24.04",
    torch_index_url="https://download.pytorch.org/whl/cu130",
    torch_pins={"torch": "2.10.0+cu130", "torchvision": "0.25.0+cu130", "torchaudio": "2.10.0+cu130"},
    # torchao's minor tracks torch's (0.16 is the series built for torch 2.10); upstream leaves it
    # unpinned on aarch64, which lets pip take a newer torchao that imports symbols 2.10 lacks.
    companion_pins={"torchao": ">=0.16.0,<0.17.0"},
    supports_bf16=True,
    supports_flash_attn=True,  # only as an opt-in source build: see docs/bringup.md
    acestep_dtype=None,
)

T4 = Platform(
    name="t4",
    machine="x86_64",
    docker_platform="linux/amd64",
    cuda="12.8",
    base_image="nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04",
    torch_index_url="https://download.pytorch.org/whl/cu128",
    torch_pins={"torch": "2.10.0+cu128", "torchvision": "0.25.0+cu128", "torchaudio": "2.10.0+cu128"},
    # torchcodec 0.N pairs with torch 2.N (torchcodec's compatibility table); torchao 0.16 with 2.10.
    companion_pins={"torchao": ">=0.16.0,<0.17.0", "torchcodec": ">=0.10.0,<0.11.0"},
    supports_bf16=False,  # Turing sm_75
    supports_flash_attn=False,  # FlashAttention 2 needs sm_80+
    # Upstream picks float16 on pre-Ampere GPUs, and float16 gives NaN audio on Turing (upstream
    # issue 1274); float32 is the dtype that works, at twice the weight memory. Applied through
    # ACESTEP_DTYPE: read by upstream from PR 1312 on, enforced by acekit.deploy.dtype_launcher before.
    acestep_dtype="float32",
)

PLATFORMS: dict[str, Platform] = {p.name: p for p in (SPARK, T4)}


def get_platform(name: str) -> Platform:
    """Return the platform called ``name``; the error lists the known ones."""
    try:
        return PLATFORMS[name]
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise ValueError(f"unknown platform {name!r}: use one of {known}") from None


def platform_for_machine(machine: str, cuda: str | None = None) -> Platform:
    """Find the platform for a ``uname -m`` value (and CUDA version when given).

    Raises ValueError naming the known combinations when none matches.
    """
    for platform in PLATFORMS.values():
        if platform.machine == machine and (cuda is None or platform.cuda == cuda):
            return platform
    known = ", ".join(f"{p.machine}+cuda{p.cuda} ({p.name})" for p in PLATFORMS.values())
    raise ValueError(f"no platform for machine={machine!r} cuda={cuda!r}: known are {known}")


def resolve_target(*, platform: str | None = None, machine: str | None = None, cuda: str | None = None) -> Platform:
    """Pick the target from ``--platform`` or from ``--machine``/``--cuda``.

    A machine/CUDA pair that matches no known platform gets torch 2.10.0 for that CUDA from the
    PyTorch index (same minors as the known targets) and no companion pins: the caller is then on
    an untested combination, which the constraints file header says.
    """
    if platform is not None:
        if machine is not None or cuda is not None:
            raise ValueError("give either --platform or --machine/--cuda, not both")
        return get_platform(platform)
    if machine is None:
        raise ValueError("give --platform spark|t4, or --machine (aarch64|x86_64) with --cuda")
    try:
        return platform_for_machine(machine, cuda)
    except ValueError:
        if cuda is None:
            raise
    tag = "cu" + cuda.replace(".", "")
    base = platform_for_machine(machine) if machine in {p.machine for p in PLATFORMS.values()} else T4
    return base.model_copy(
        update={
            "machine": machine,
            "cuda": cuda,
            "torch_index_url": f"https://download.pytorch.org/whl/{tag}",
            "torch_pins": {"torch": f"2.10.0+{tag}", "torchvision": f"0.25.0+{tag}", "torchaudio": f"2.10.0+{tag}"},
            "companion_pins": {},
        }
    )


def with_torch_spec(platform: Platform, torch_spec: str, *, index_url: str | None = None) -> Platform:
    """The platform with its torch pins replaced, e.g. by a nightly: ``"torch==2.11.0.dev20260101+cu130 ..."``.

    Every torch-family package needs an exact ``==`` pin: the constraints file and the final
    verification compare installed versions with these strings.
    """
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for part in torch_spec.split():
        try:
            req = Requirement(part)
        except InvalidRequirement as exc:
            raise ValueError(f"cannot read {part!r} in the torch spec: write name==version ({exc})") from None
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise ValueError(f"{part!r}: every torch-family entry needs one exact ==version pin")
        name = canonicalize_name(req.name)
        if name not in TORCH_FAMILY:
            raise ValueError(f"{part!r}: the torch spec may only name {', '.join(TORCH_FAMILY)}")
        pins[name] = specs[0].version
    missing = [n for n in TORCH_FAMILY if n not in pins]
    if missing:
        raise ValueError(f"the torch spec lacks {', '.join(missing)}: pin all of {', '.join(TORCH_FAMILY)}")
    update: dict[str, object] = {"torch_pins": pins}
    if index_url:
        update["torch_index_url"] = index_url
    return platform.model_copy(update=update)
