"""GPU memory readers for the gateway's telemetry, behind one small interface.

The gateway runs next to the ACE-Step server, not inside it, so it cannot ask torch; it
reads device memory the way ``nvidia-smi`` does. Sources, tried in order by `detect_sampler`:

``nvml``            nvidia-ml-py: device total/used memory. The normal case (T4, datacenter GPUs).
``nvml-processes``  sum of per-process GPU memory, for drivers that answer "Not Supported"
                    for device memory but still list processes.
``nvidia-smi``      the CLI, for images that ship the tool but whose libnvidia-ml is unusable
                    from Python.
``meminfo``         unified-memory parts (DGX Spark / GB10) where the driver reports no GPU
                    memory at all: GPU allocations come out of system RAM, so MemTotal-MemAvailable
                    bounds them from above (it includes CPU use too; say so when you quote it).
``none``            nothing works (no driver, as on a CPU-only dev machine): readings are None.

Every sampler is cheap to call from a worker thread and never raises: a reading that fails
is None, and the telemetry says which source produced (or failed to produce) it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from acekit.capabilities.defaults import GpuInfo

MIB = 1024 * 1024
log = logging.getLogger("acekit.gateway")

#: What each source's figure means, served next to it by /v1/telemetry.
SOURCE_DETAILS: dict[str, str] = {
    "nvml": "device memory in use (all processes on the GPU), from NVML",
    "nvml-processes": ("sum of the GPU memory of the processes on the GPU, from NVML: the driver reports "
                       "device memory as Not Supported (unified memory)"),
    "nvidia-smi": "device memory in use (all processes on the GPU), from nvidia-smi",
    "meminfo": ("system RAM in use (MemTotal - MemAvailable of /proc/meminfo): the GPU shares it (unified "
                "memory) and the driver gives no GPU memory figure; an upper bound that includes CPU-side use"),
    "none": "no memory source: no NVIDIA driver, NVML or nvidia-smi visible to the gateway (is the GPU "
            "passed to its container?)",
    "pretend": "no memory source: the gateway is PRETENDING to be a known box (--pretend-gpu, for testing); "
               "nothing is measured",
}


@runtime_checkable
class MemorySampler(Protocol):
    """Reads the memory in use on the GPU the gateway watches."""

    #: "nvml", "nvml-processes", "nvidia-smi", "meminfo" or "none" (tests use their own names).
    source: str

    @property
    def supported(self) -> bool:
        """Whether `used_memory_mb` returns numbers at all."""
        ...

    def gpu(self) -> GpuInfo | None:
        """Name and size of the GPU, or None when there is none."""
        ...

    def used_memory_mb(self) -> float | None:
        """Memory in use now, in MiB; None when it cannot be read."""
        ...


class NullSampler:
    """No GPU visible: every reading is None."""

    source = "none"
    supported = False

    def __init__(self, reason: str = "no NVIDIA driver or nvidia-smi found") -> None:
        self.reason = reason

    def gpu(self) -> GpuInfo | None:
        return None

    def used_memory_mb(self) -> float | None:
        return None


class PretendSampler(NullSampler):
    """TESTING ONLY (``--pretend-gpu``): reports a known box's GPU so the capabilities and admission act as they
    would there, e.g. in front of the reference backend; memory readings stay None (nothing is measured)."""

    KNOWN: dict[str, GpuInfo] = {
        "T4": GpuInfo(name="Tesla T4 (pretended by acekit --pretend-gpu)", memory_total_mb=15360.0,
                      compute_capability="7.5"),
        "GB10": GpuInfo(name="NVIDIA GB10 (pretended by acekit --pretend-gpu)", memory_total_mb=None,
                        compute_capability="12.1", unified_memory=True),
    }

    def __init__(self, box: str) -> None:
        key = next((k for k in self.KNOWN if k.lower() == box.strip().lower()), None)
        if key is None:
            raise ValueError(f"--pretend-gpu {box!r}: known boxes are {', '.join(self.KNOWN)}")
        super().__init__(reason=f"pretending to be a {key}: no memory is measured")
        self.source = "pretend"
        self._gpu = self.KNOWN[key]

    def gpu(self) -> GpuInfo | None:
        return self._gpu


class NvmlSampler:
    """Device memory through nvidia-ml-py (``pynvml``); ``per_process`` sums process usage instead.

    In ``per_process`` mode (drivers that answer "Not Supported" for device memory) a process list
    whose entries carry no usage, or a process query that fails, hands over to ``fallback`` for
    good: mixing two sources would make peaks incomparable. ``source`` then names the fallback.
    """

    def __init__(self, pynvml_module, handle, info: GpuInfo, *, per_process: bool = False,
                 fallback: MemorySampler | None = None) -> None:
        self._nvml = pynvml_module
        self._handle = handle
        self._info = info
        self._per_process = per_process
        self._fallback = fallback
        self._fallen_back = False
        self._lock = threading.Lock()  # NVML handles are not documented as thread-safe
        self.source = "nvml-processes" if per_process else "nvml"
        self.supported = True

    def gpu(self) -> GpuInfo | None:
        return self._info

    def used_memory_mb(self) -> float | None:
        if self._fallen_back:
            return self._fallback.used_memory_mb()
        nvml = self._nvml
        try:
            with self._lock:
                if not self._per_process:
                    return nvml.nvmlDeviceGetMemoryInfo(self._handle).used / MIB
                procs = nvml.nvmlDeviceGetComputeRunningProcesses(self._handle)
        except nvml.NVMLError:
            return self._give_up("process query failed") if self._per_process else None
        used = [p.usedGpuMemory for p in procs if isinstance(p.usedGpuMemory, int)]
        if procs and not used:
            return self._give_up("processes listed without memory figures")
        # No process on the GPU: nothing allocated, a true zero.
        return sum(used) / MIB

    def _give_up(self, why: str) -> float | None:
        if self._fallback is None:
            return None
        log.warning("NVML per-process memory unusable (%s): switching to %s", why, self._fallback.source)
        self._fallen_back = True
        self.source = self._fallback.source
        return self._fallback.used_memory_mb()


class NvidiaSmiSampler:
    """Memory through ``nvidia-smi --query-gpu`` (one subprocess per reading, ~20-50 ms)."""

    source = "nvidia-smi"
    supported = True

    def __init__(self, executable: str, info: GpuInfo, *, index: int = 0) -> None:
        self._exe = executable
        self._info = info
        self._index = index

    def gpu(self) -> GpuInfo | None:
        return self._info

    def used_memory_mb(self) -> float | None:
        row = _smi_query(self._exe, ["memory.used"], index=self._index)
        return _smi_number(row[0]) if row else None


class MeminfoSampler:
    """Unified memory: system RAM in use (MemTotal - MemAvailable), an upper bound of GPU use."""

    source = "meminfo"
    supported = True

    def __init__(self, info: GpuInfo, *, meminfo_path: Path = Path("/proc/meminfo")) -> None:
        self._info = info
        self._path = meminfo_path

    def gpu(self) -> GpuInfo | None:
        return self._info

    def used_memory_mb(self) -> float | None:
        fields = read_meminfo_kb(self._path)
        if "MemTotal" not in fields or "MemAvailable" not in fields:
            return None
        return (fields["MemTotal"] - fields["MemAvailable"]) / 1024


def read_meminfo_kb(path: Path = Path("/proc/meminfo")) -> dict[str, int]:
    try:
        text = path.read_text()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


def _smi_query(exe: str, fields: list[str], *, index: int = 0, timeout_s: float = 5.0) -> list[str] | None:
    try:
        proc = subprocess.run(
            [exe, f"--id={index}", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return [v.strip() for v in proc.stdout.strip().splitlines()[0].split(",")]


def _smi_number(value: str) -> float | None:
    """nvidia-smi prints "[N/A]" or "[Not Supported]" where a driver has no figure."""
    try:
        return float(value)
    except ValueError:
        return None


def _unified_info(name: str, compute_capability: str | None, meminfo_path: Path) -> GpuInfo:
    total_kb = read_meminfo_kb(meminfo_path).get("MemTotal")
    return GpuInfo(name=name, memory_total_mb=total_kb / 1024 if total_kb else None,
                   compute_capability=compute_capability, unified_memory=True)


def _nvml_sampler(index: int, meminfo_path: Path) -> MemorySampler | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        name = pynvml.nvmlDeviceGetName(handle)
        name = name.decode() if isinstance(name, bytes) else str(name)
    except pynvml.NVMLError:  # no driver / library (dev machines), no device: try the next source
        return None
    try:
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
        cc: str | None = f"{major}.{minor}"
    except pynvml.NVMLError:
        cc = None
    try:
        total_mb: float | None = pynvml.nvmlDeviceGetMemoryInfo(handle).total / MIB
    except pynvml.NVMLError:  # "Not Supported" on unified-memory parts (GB10)
        total_mb = None
    if total_mb:
        return NvmlSampler(pynvml, handle, GpuInfo(name=name, memory_total_mb=total_mb, compute_capability=cc))
    info = _unified_info(name, cc, meminfo_path)
    procs = NvmlSampler(pynvml, handle, info, per_process=True, fallback=MeminfoSampler(info, meminfo_path=meminfo_path))
    procs.used_memory_mb()  # settles the source now when the driver already shows what it reports
    return procs


def _smi_sampler(index: int, meminfo_path: Path) -> MemorySampler | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    row = _smi_query(exe, ["name", "memory.total", "compute_cap"], index=index)
    if row is None:  # old drivers lack compute_cap
        row = _smi_query(exe, ["name", "memory.total"], index=index)
    if not row:
        return None
    name = row[0]
    total_mb = _smi_number(row[1]) if len(row) > 1 else None
    cc = row[2] if len(row) > 2 and _smi_number(row[2]) is not None else None
    if total_mb:
        return NvidiaSmiSampler(exe, GpuInfo(name=name, memory_total_mb=total_mb, compute_capability=cc), index=index)
    info = _unified_info(name, cc, meminfo_path)
    smi = NvidiaSmiSampler(exe, info, index=index)
    return smi if smi.used_memory_mb() is not None else MeminfoSampler(info, meminfo_path=meminfo_path)


def detect_sampler(*, index: int = 0, meminfo_path: Path = Path("/proc/meminfo")) -> MemorySampler:
    """The best memory source for GPU ``index``: NVML, then nvidia-smi, then `NullSampler`."""
    return _nvml_sampler(index, meminfo_path) or _smi_sampler(index, meminfo_path) or NullSampler()
