"""Prove with pip's own resolver that installing a requirement set leaves the chosen torch alone.

``check_install`` runs ``pip install --dry-run --report`` for the filtered requirements in the
environment that already holds the chosen torch (the image's venv, or a test venv), parses the
installation report, and names every torch-family or ``nvidia-*`` package pip would install,
with the requirement chain that dragged it in. When pip cannot resolve at all (the constraints
forbid what a dependency asks for), the conflict pip prints is parsed for the same culprits.

``verify_installed`` is the last gate of an image build: the installed torch family must be
exactly the constraints' pins, and ``pip check`` must pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel

from acekit.deploy.platforms import TORCH_FAMILY


def is_guarded(name: str) -> bool:
    """torch, torchvision, torchaudio, and the CUDA runtime wheels a torch build pins (nvidia-*)."""
    name = canonicalize_name(name)
    return name in TORCH_FAMILY or name.startswith("nvidia-")


class PlannedInstall(BaseModel):
    """One entry of pip's installation report."""

    name: str
    version: str
    requested: bool
    requires_dist: list[str]
    requested_extras: list[str] = []


class Offender(BaseModel):
    """A guarded package pip would install (or that made resolution fail), and who wants it."""

    name: str
    version: str | None  # None when resolution failed before picking one
    chains: list[str]  # e.g. "torch-hungry 0.1 (from your requirements) -> torch>=2.99"


class CheckResult(BaseModel):
    python: str
    constrained: bool
    resolved: bool  # pip found a solution
    installs: list[PlannedInstall]
    offenders: list[Offender]
    pip_output: str  # pip's stderr (conflict text) when it failed, else ""
    traced_without_constraints: bool = False  # offenders' chains include a resolution without constraints

    @property
    def ok(self) -> bool:
        return self.resolved and not self.offenders

    def summary(self) -> str:
        """What a person reads: the verdict and, when it fails, who is to blame."""
        mode = "with constraints" if self.constrained else "without constraints"
        if self.ok:
            return f"OK ({mode}): pip would install {len(self.installs)} packages and no torch-family or nvidia-* package."
        lines = []
        if not self.resolved:
            lines.append(f"FAIL ({mode}): pip cannot resolve the requirements next to the installed torch.")
        else:
            lines.append(f"FAIL ({mode}): pip would change the torch build.")
        if self.traced_without_constraints:
            lines.append("  Traced by resolving again without the constraints (the version is what pip would then install):")
        for off in self.offenders:
            version = f" {off.version}" if off.version else ""
            lines.append(f"  {off.name}{version} dragged in by:")
            lines.extend(f"    {chain}" for chain in off.chains or ["(pip did not say)"])
        if not self.resolved and not self.offenders:
            lines.append("  pip's conflict did not name a torch-family package; its output follows.")
        if self.pip_output:
            lines.append("  pip said:")
            lines.extend("    " + line for line in _conflict_excerpt(self.pip_output))
        return "\n".join(lines)


def _conflict_excerpt(output: str, *, max_lines: int = 25) -> list[str]:
    """pip's ERROR lines and its "conflict is caused by" block: the part that explains a failure."""
    lines = output.strip().splitlines()
    keep = [i for i, line in enumerate(lines) if line.startswith("ERROR") or "conflict is caused by" in line]
    if "The conflict is caused by:" in output:
        start = next(i for i, line in enumerate(lines) if "conflict is caused by" in line)
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
        keep += list(range(start, end))
    picked = [lines[i] for i in sorted(set(keep))] or lines
    return picked[-max_lines:]


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    # pip must not stop to ask, nor complain about its own version
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    return env


def run_dry_run(
    *,
    python: str,
    requirements: Path,
    constraints: Path | None,
    extra_pip_args: Sequence[str] = (),
    timeout_s: float = 600.0,
) -> tuple[int, dict | None, str]:
    """Run ``python -m pip install --dry-run --report`` and return (exit code, report or None, stderr)."""
    with tempfile.TemporaryDirectory(prefix="acekit-pip-report-") as tmp:
        report_path = Path(tmp) / "report.json"
        # not --quiet: pip prints "The conflict is caused by:" at info level, and that names the culprits
        cmd = [python, "-m", "pip", "install", "--dry-run", "--progress-bar", "off", "--report", str(report_path)]
        cmd += ["-r", str(requirements)]
        if constraints is not None:
            cmd += ["-c", str(constraints)]
        cmd += list(extra_pip_args)
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout_s, env=_pip_env()
        )
        report = json.loads(report_path.read_text()) if proc.returncode == 0 and report_path.exists() else None
        return proc.returncode, report, proc.stdout


def _marker_holds(req: Requirement, environment: dict[str, str], extras: Sequence[str]) -> bool:
    if req.marker is None:
        return True
    try:
        return any(req.marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))
    except InvalidMarker:
        return True


def planned_installs(report: dict) -> list[PlannedInstall]:
    """Entries of a pip installation report (``pip install --report``, format version 1)."""
    out = []
    for item in report.get("install", []):
        meta = item.get("metadata", {})
        out.append(
            PlannedInstall(
                name=canonicalize_name(meta.get("name", "")),
                version=meta.get("version", ""),
                requested=bool(item.get("requested")),
                requires_dist=list(meta.get("requires_dist") or []),
                requested_extras=list(item.get("requested_extras") or []),
            )
        )
    return out


def _requirement_lines_by_name(requirements: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        text = raw.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        try:
            names.setdefault(canonicalize_name(Requirement(text).name), text)
        except InvalidRequirement:
            continue
    return names


def _excludes(spec: str, chosen: str | None) -> bool:
    """Whether requirement ``spec`` rules out the chosen (installed) version; unknown chosen: yes."""
    if chosen is None:
        return True
    req = _req_or_none(spec)
    return req is None or not req.specifier.contains(chosen, prereleases=True)


def culprit_chains(
    installs: Sequence[PlannedInstall],
    target: str,
    *,
    environment: dict[str, str],
    requirement_lines: dict[str, str],
    chosen: str | None = None,
) -> list[str]:
    """Every chain of requirements from a requested package down to ``target``, walked over requires_dist.

    With ``chosen`` (the version installed now), only chains whose last requirement rules that
    version out are returned: a plain ``torch`` requirement is satisfied by the chosen build and
    is nobody's fault.
    """
    by_name = {p.name: p for p in installs}
    parents: dict[str, list[tuple[str, str]]] = {}
    for pkg in installs:
        for spec in pkg.requires_dist:
            try:
                req = Requirement(spec)
            except InvalidRequirement:
                continue
            if _marker_holds(req, environment, pkg.requested_extras):
                child = canonicalize_name(req.name)
                req.marker = None
                parents.setdefault(child, []).append((pkg.name, str(req)))

    chains: list[str] = []

    def walk(name: str, tail: list[str], seen: frozenset[str]) -> None:
        # tail: the requirement specs from ``name`` down to ``target``
        pkg = by_name.get(name)
        if pkg is not None and pkg.requested:
            line = requirement_lines.get(name)
            if name == target:
                chains.append(f"`{line or name}` in your requirements")
            else:
                where = f"your requirements: `{line}`" if line else "requested"
                chains.append(" -> ".join([f"{pkg.name} {pkg.version} ({where})", *tail]))
        for parent, spec in parents.get(name, []):
            if parent in seen or (name == target and not _excludes(spec, chosen)):
                continue
            walk(parent, [spec, *tail], seen | {parent})

    walk(target, [], frozenset({target}))
    return sorted(set(chains))


_DEPENDS = re.compile(r"^\s*(?P<who>\S+) (?P<ver>\S+) depends on (?P<req>.+?)\s*$")
_USER = re.compile(r"^\s*The user requested (?P<constraint>\(constraint\) )?(?P<req>.+?)\s*$")
_FROM = re.compile(r"requirement (?P<req>.+?) \(from (?P<who>[^)]+)\)")


def conflict_offenders(output: str, chosen: dict[str, str] | None = None) -> list[Offender]:
    """Name the torch-family culprits in pip's ResolutionImpossible / no-matching-version text.

    ``chosen`` (name -> installed version) leaves out requirers the chosen build satisfies.
    """
    chosen = chosen or {}
    found: dict[str, list[str]] = {}

    def blamed(req: Requirement | None, spec: str) -> bool:
        return req is not None and is_guarded(req.name) and _excludes(spec, chosen.get(canonicalize_name(req.name)))

    for line in output.splitlines():
        m = _DEPENDS.match(line)
        if m:
            req = _req_or_none(m["req"])
            if blamed(req, m["req"]):
                found.setdefault(canonicalize_name(req.name), []).append(f"{m['who']} {m['ver']} -> {m['req']}")
            continue
        m = _USER.match(line)
        if m and not m["constraint"]:
            req = _req_or_none(m["req"])
            if blamed(req, m["req"]):
                found.setdefault(canonicalize_name(req.name), []).append(f"`{m['req']}` in your requirements")
            continue
        m = _FROM.search(line)
        if m:
            req = _req_or_none(m["req"])
            if blamed(req, m["req"]):
                found.setdefault(canonicalize_name(req.name), []).append(f"{m['who']} -> {m['req']}")
    return [Offender(name=name, version=None, chains=sorted(set(chains))) for name, chains in found.items()]


def _req_or_none(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def check_install(
    *,
    python: str,
    requirements: Path,
    constraints: Path | None,
    extra_pip_args: Sequence[str] = (),
    timeout_s: float = 600.0,
    trace_failure: bool = True,
) -> CheckResult:
    """Ask pip what installing ``requirements`` into ``python``'s environment would do to torch.

    With ``constraints`` this is the gate the image build runs; without it, it shows which
    requirements would have replaced torch had the constraints file been forgotten.

    When the constrained resolution fails, pip's conflict text names only the package that asked
    for another torch, not the requirement of yours that pulled it in. With ``trace_failure`` a
    second dry run without the constraints is made and its full chains are merged into the
    offenders (``traced_without_constraints`` says so).
    """
    chosen = {n: v for n, v in installed_versions(python, TORCH_FAMILY).items() if v is not None}
    rc, report, output = run_dry_run(
        python=python, requirements=requirements, constraints=constraints, extra_pip_args=extra_pip_args, timeout_s=timeout_s
    )
    if report is None:
        offenders = conflict_offenders(output, chosen)
        traced = False
        if constraints is not None and trace_failure:
            probe = check_install(
                python=python,
                requirements=requirements,
                constraints=None,
                extra_pip_args=extra_pip_args,
                timeout_s=timeout_s,
                trace_failure=False,
            )
            if probe.resolved and probe.offenders:
                offenders = _merge_offenders(offenders, probe.offenders)
                traced = True
        return CheckResult(
            python=python,
            constrained=constraints is not None,
            resolved=False,
            installs=[],
            offenders=offenders,
            pip_output=output or f"pip exited {rc} without a report",
            traced_without_constraints=traced,
        )
    installs = planned_installs(report)
    environment = {k: str(v) for k, v in (report.get("environment") or {}).items()}
    lines = _requirement_lines_by_name(requirements)
    offenders = [
        Offender(
            name=p.name,
            version=p.version,
            chains=culprit_chains(
                installs, p.name, environment=environment, requirement_lines=lines, chosen=chosen.get(p.name)
            ),
        )
        for p in installs
        if is_guarded(p.name)
    ]
    return CheckResult(
        python=python, constrained=constraints is not None, resolved=True, installs=installs, offenders=offenders, pip_output=""
    )


def _merge_offenders(first: Sequence[Offender], second: Sequence[Offender]) -> list[Offender]:
    """Union by package name: chains joined; the version is the one a resolution actually picked."""
    merged: dict[str, Offender] = {o.name: o.model_copy(deep=True) for o in first}
    for off in second:
        have = merged.get(off.name)
        if have is None:
            merged[off.name] = off.model_copy(deep=True)
        else:
            have.chains = sorted(set(have.chains) | set(off.chains))
            have.version = have.version or off.version
    return list(merged.values())


def constraint_violations(installs: Sequence[PlannedInstall], constraints: Path) -> list[str]:
    """Planned installs that the constraints file would have refused, e.g. an ABI companion of torch.

    Used on a resolution made WITHOUT the constraints (``deps check --explain``): besides torch
    itself, it shows packages such as torchcodec that declare no torch requirement but are built
    for one torch minor, so pip would pick an incompatible release without complaint.
    """
    wanted: dict[str, Requirement] = {}
    for raw in constraints.read_text().splitlines():
        text = raw.split("#", 1)[0].strip()
        req = _req_or_none(text) if text else None
        if req is not None:
            wanted[canonicalize_name(req.name)] = req
    out = []
    for item in installs:
        req = wanted.get(item.name)
        if req is not None and not req.specifier.contains(item.version, prereleases=True):
            out.append(f"{item.name} {item.version} (the constraints say {req})")
    return out


_MISSING = re.compile(r"^(?P<who>\S+) (?P<ver>\S+) requires (?P<req>[^,]+), which is not installed")
_WRONG = re.compile(r"^(?P<who>\S+) (?P<ver>\S+) has requirement (?P<req>.+?), but you have (?P<have>\S+) (?P<have_ver>\S+?)\.?$")


def pip_check_problems(output: str, *, ignore: Sequence[str] = ()) -> list[str]:
    """Lines of ``pip check`` output that are real problems: complaints about ``ignore``d packages dropped.

    The images leave flash-attn out on purpose (nano-vllm declares it), so its absence is ignored there.
    """
    ignored = {canonicalize_name(n) for n in ignore}
    problems = []
    for line in output.splitlines():
        line = line.strip()
        if not line or line.startswith("No broken requirements"):
            continue
        m = _MISSING.match(line) or _WRONG.match(line)
        if m:
            req = _req_or_none(m["req"])
            name = canonicalize_name(req.name) if req is not None else canonicalize_name(m["req"].split()[0])
            if name in ignored:
                continue
        problems.append(line)
    return problems


class VerifyResult(BaseModel):
    python: str
    expected: dict[str, str]
    installed: dict[str, str | None]
    pip_check_ok: bool
    pip_check_output: str

    @property
    def mismatches(self) -> dict[str, tuple[str, str | None]]:
        return {n: (v, self.installed.get(n)) for n, v in self.expected.items() if self.installed.get(n) != v}

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.pip_check_ok

    def summary(self) -> str:
        lines = []
        for name, want in self.expected.items():
            have = self.installed.get(name)
            mark = "ok  " if have == want else "FAIL"
            lines.append(f"{mark} {name}: expected {want}, installed {have or 'nothing'}")
        lines.append(("ok  " if self.pip_check_ok else "FAIL") + " pip check" + ("" if self.pip_check_ok else ":"))
        if not self.pip_check_ok:
            lines.extend("     " + line for line in self.pip_check_output.strip().splitlines())
        if self.mismatches:
            lines.append("The torch build was replaced or is missing: install the chosen torch first and pass -c constraints.txt to every later pip install.")
        return "\n".join(lines)


def exact_pins(constraints: Path) -> dict[str, str]:
    """Torch-family ``name==version`` pins of a constraints file."""
    pins: dict[str, str] = {}
    for raw in constraints.read_text().splitlines():
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        req = _req_or_none(text)
        if req is None or canonicalize_name(req.name) not in TORCH_FAMILY:
            continue
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "==="):
            pins[canonicalize_name(req.name)] = specs[0].version
    if not pins:
        raise ValueError(f"{constraints} pins no torch-family package with ==; write it with `acekit deps filter`")
    return pins


_VERSIONS_SCRIPT = (
    "import importlib.metadata as m, json, sys\n"
    "out = {}\n"
    "for n in sys.argv[1:]:\n"
    "    try: out[n] = m.version(n)\n"
    "    except m.PackageNotFoundError: out[n] = None\n"
    "print(json.dumps(out))\n"
)


def installed_versions(python: str, names: Sequence[str]) -> dict[str, str | None]:
    """Versions of ``names`` installed in ``python``'s environment (None: not installed)."""
    proc = subprocess.run([python, "-c", _VERSIONS_SCRIPT, *names], capture_output=True, text=True, env=_pip_env())
    if proc.returncode != 0:
        raise RuntimeError(f"cannot run {python}: {proc.stderr.strip()}; pass --python with a working interpreter")
    return json.loads(proc.stdout)


def verify_installed(
    *, python: str, constraints: Path, run_pip_check: bool = True, pip_check_ignore: Sequence[str] = ()
) -> VerifyResult:
    """Compare the torch family installed in ``python``'s environment with the constraints' pins.

    ``pip check`` complaints about packages in ``pip_check_ignore`` (left out on purpose) don't fail it.
    """
    expected = exact_pins(constraints)
    installed = installed_versions(python, list(expected))
    pip_ok, pip_out = True, ""
    if run_pip_check:
        chk = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, env=_pip_env())
        problems = pip_check_problems(chk.stdout + chk.stderr, ignore=pip_check_ignore)
        pip_ok, pip_out = not problems, "\n".join(problems)
    return VerifyResult(python=python, expected=expected, installed=installed, pip_check_ok=pip_ok, pip_check_output=pip_out)
