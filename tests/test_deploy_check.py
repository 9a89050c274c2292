"""`acekit deps check` / `deps verify` against pip's real resolver, offline.

A throwaway venv gets a small stand-in ``torch==2.10.0+cu128`` (with torchvision/torchaudio and an
``nvidia-cublas-cu12`` pin, like the real wheels' metadata), built here as tiny wheels; the
packages to check come from the same local find-links directory with ``--no-index``, so the
resolution is real pip and deterministic, and no GB-sized torch is downloaded. Global pip
configuration (index, find-links, constraints of this machine) is switched off for the module.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acekit.cli.main import app
from acekit.deploy.check import check_install, installed_versions, verify_installed
from acekit.deploy.deps import constraints_text
from acekit.deploy.platforms import SPARK, T4


def build_wheel(dest: Path, name: str, version: str, requires: Sequence[str] = ()) -> Path:
    """A minimal pure-Python wheel: one module, METADATA with Requires-Dist, WHEEL and RECORD."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f"__version__ = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: acekit-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = dest / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


#: name, version, Requires-Dist. torch 2.99.0 exists so that a resolution WITHOUT constraints can
#: succeed and show what a torch-hungry dependency would have installed.
PACKAGES: list[tuple[str, str, list[str]]] = [
    ("torch", "2.10.0+cu128", ["nvidia-cublas-cu12==12.8.4.1; platform_system == 'Linux'"]),
    ("torchvision", "0.25.0+cu128", ["torch==2.10.0"]),
    ("torchaudio", "2.10.0+cu128", ["torch==2.10.0"]),
    ("nvidia-cublas-cu12", "12.8.4.1", []),
    ("nvidia-cublas-cu12", "13.0.0", []),
    ("torch", "2.99.0", []),
    ("pure-dep", "1.2", []),
    ("needs-torch", "1.0", ["torch>=2.0", "pure-dep>=1"]),  # like accelerate/peft: satisfied by 2.10
    ("exact-minor", "1.0", ["torch==2.10.*", "torchaudio>=2.10"]),  # matches the local build
    ("torch-hungry", "0.1", ["torch>=2.99"]),
    ("middle-pkg", "1.0", ["torch-hungry", "pure-dep"]),  # the upstream dep that only drags it in
    ("cuda-hungry", "1.0", ["nvidia-cublas-cu12>=13"]),  # breaks torch without touching torch
    ("needs-flash", "1.0", ["flash-attn>=2"]),
    # torchcodec declares no torch requirement but each release is built for one torch minor
    # (0.10 <-> 2.10); a real resolution of upstream's list without constraints picks a newer one
    ("torchcodec", "0.10.0", []),
    ("torchcodec", "0.17.0", []),
]


def _isolated_pip_env(mp: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PIP_"):
            mp.delenv(key)
    mp.setenv("PIP_CONFIG_FILE", os.devnull)  # no machine/user pip.conf (index, find-links, constraints)
    mp.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")


class StandIn:
    def __init__(self, root: Path, python: str, wheels: Path) -> None:
        self.root, self.python, self.wheels = root, python, wheels
        self.offline = ["--no-index", "--find-links", str(wheels)]

    def requirements(self, name: str, *lines: str) -> Path:
        path = self.root / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        return path

    def constraints(self, platform=T4) -> Path:
        path = self.root / f"constraints-{platform.name}.txt"
        path.write_text(constraints_text(platform))
        return path

    def pip(self, *args: str) -> str:
        proc = subprocess.run([self.python, "-m", "pip", *args], capture_output=True, text=True, check=True)
        return proc.stdout

    def freeze(self) -> list[str]:
        return sorted(self.pip("freeze", "--all").splitlines())


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    with pytest.MonkeyPatch.context() as mp:
        _isolated_pip_env(mp)
        root = tmp_path_factory.mktemp("deps-check")
        wheels = root / "wheels"
        wheels.mkdir()
        for name, version, requires in PACKAGES:
            build_wheel(wheels, name, version, requires)
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = StandIn(root, str(venv / "bin" / "python"), wheels)
        env.pip("install", "--quiet", *env.offline, "torch==2.10.0+cu128", "torchvision==0.25.0+cu128", "torchaudio==2.10.0+cu128")
        yield env


@pytest.fixture
def untouched(stand_in: StandIn) -> Iterator[StandIn]:
    """The check is a dry run: the venv's packages are exactly the same after the test."""
    before = stand_in.freeze()
    assert "torch==2.10.0+cu128" in before and "nvidia-cublas-cu12==12.8.4.1" in before
    yield stand_in
    assert stand_in.freeze() == before


def test_clean_set_passes(untouched: StandIn) -> None:
    env = untouched
    reqs = env.requirements("clean", "needs-torch", "exact-minor", "pure-dep>=1.0")
    result = check_install(python=env.python, requirements=reqs, constraints=env.constraints(), extra_pip_args=env.offline)
    assert result.ok and result.resolved, result.summary()
    assert {p.name for p in result.installs} == {"needs-torch", "exact-minor", "pure-dep"}
    assert result.summary().startswith("OK (with constraints): pip would install 3 packages")
    # the set is clean on its own too: nothing in it wants another torch
    assert check_install(python=env.python, requirements=reqs, constraints=None, extra_pip_args=env.offline).ok


def test_torch_hungry_dep_fails_naming_the_chain(untouched: StandIn) -> None:
    env = untouched
    reqs = env.requirements("hungry", "pure-dep", "middle-pkg", "needs-torch")
    result = check_install(python=env.python, requirements=reqs, constraints=env.constraints(), extra_pip_args=env.offline)
    assert not result.ok and not result.resolved
    assert "conflict is caused by" in result.pip_output  # pip's own verdict
    assert result.traced_without_constraints
    [torch] = result.offenders
    assert torch.name == "torch" and torch.version == "2.99.0"  # what pip would have put in place of 2.10.0+cu128
    assert "middle-pkg 1.0 (your requirements: `middle-pkg`) -> torch-hungry -> torch>=2.99" in torch.chains
    assert "torch-hungry 0.1 -> torch>=2.99" in torch.chains
    # needs-torch also requires torch, but 2.10 satisfies it: not blamed
    assert not any("needs-torch" in chain for chain in torch.chains)
    summary = result.summary()
    assert "FAIL (with constraints)" in summary and "middle-pkg" in summary


def test_untraced_failure_still_names_the_direct_culprit(untouched: StandIn) -> None:
    env = untouched
    reqs = env.requirements("hungry2", "middle-pkg")
    result = check_install(
        python=env.python, requirements=reqs, constraints=env.constraints(), extra_pip_args=env.offline, trace_failure=False
    )
    assert not result.ok and not result.traced_without_constraints
    assert [(o.name, o.chains) for o in result.offenders] == [("torch", ["torch-hungry 0.1 -> torch>=2.99"])]


def test_without_constraints_pip_would_replace_torch(untouched: StandIn) -> None:
    """What the constraints file prevents: the unconstrained plan swaps the chosen torch."""
    env = untouched
    reqs = env.requirements("hungry3", "middle-pkg")
    result = check_install(python=env.python, requirements=reqs, constraints=None, extra_pip_args=env.offline)
    assert result.resolved and not result.ok
    assert ("torch", "2.99.0") in {(p.name, p.version) for p in result.installs}
    assert "pip would change the torch build" in result.summary()


def test_cuda_runtime_swap_is_caught(untouched: StandIn) -> None:
    """A dep that upgrades a CUDA wheel torch pins breaks torch without touching it: also a failure."""
    env = untouched
    reqs = env.requirements("cuda", "cuda-hungry", "pure-dep")
    result = check_install(python=env.python, requirements=reqs, constraints=env.constraints(), extra_pip_args=env.offline)
    assert result.resolved and not result.ok
    [cublas] = result.offenders
    assert (cublas.name, cublas.version) == ("nvidia-cublas-cu12", "13.0.0")
    assert cublas.chains == ["cuda-hungry 1.0 (your requirements: `cuda-hungry`) -> nvidia-cublas-cu12>=13"]


def test_cli_exit_codes_and_explain(untouched: StandIn) -> None:
    env = untouched
    base = ["deps", "check", "--python", env.python, "-c", str(env.constraints()), "--no-index", "--find-links", str(env.wheels)]
    ok = CliRunner().invoke(app, [*base, "-r", str(env.requirements("cli-clean", "needs-torch"))])
    assert ok.exit_code == 0, ok.output
    assert "OK (with constraints)" in ok.output
    bad = CliRunner().invoke(app, [*base, "-r", str(env.requirements("cli-bad", "middle-pkg")), "--explain"])
    assert bad.exit_code == 1, bad.output
    assert "middle-pkg 1.0 (your requirements: `middle-pkg`) -> torch-hungry -> torch>=2.99" in bad.output
    assert "Without the constraints file:\nFAIL (without constraints): pip would change the torch build." in bad.output


def test_verify_compares_installed_torch_with_the_pins(stand_in: StandIn) -> None:
    env = stand_in
    assert installed_versions(env.python, ["torch", "torchaudio", "flash-attn"]) == {
        "torch": "2.10.0+cu128", "torchaudio": "2.10.0+cu128", "flash-attn": None,
    }
    good = verify_installed(python=env.python, constraints=env.constraints(T4))
    assert good.ok, good.summary()
    wrong = verify_installed(python=env.python, constraints=env.constraints(SPARK))
    assert not wrong.ok
    assert wrong.mismatches["torch"] == ("2.10.0+cu130", "2.10.0+cu128")
    assert "FAIL torch: expected 2.10.0+cu130, installed 2.10.0+cu128" in wrong.summary()
    # a package left out on purpose (flash-attn): pip check complains, --ignore accepts it
    env.pip("install", "--quiet", "--no-deps", *env.offline, "needs-flash")
    try:
        strict = verify_installed(python=env.python, constraints=env.constraints(T4))
        assert not strict.pip_check_ok and "flash-attn" in strict.pip_check_output
        relaxed = verify_installed(python=env.python, constraints=env.constraints(T4), pip_check_ignore=["flash-attn"])
        assert relaxed.ok, relaxed.summary()
        cli = CliRunner().invoke(
            app, ["deps", "verify", "--python", env.python, "-c", str(env.constraints(T4)), "--ignore", "flash-attn"]
        )
        assert cli.exit_code == 0, cli.output
        cli_bad = CliRunner().invoke(app, ["deps", "verify", "--python", env.python, "-c", str(env.constraints(SPARK))])
        assert cli_bad.exit_code == 1 and "FAIL torch" in cli_bad.output
    finally:
        env.pip("uninstall", "--yes", "--quiet", "needs-flash")


def test_explain_shows_abi_companions_the_constraints_hold_back(untouched: StandIn) -> None:
    env = untouched
    reqs = env.requirements("codec", "torchcodec>=0.9.1", "needs-torch")
    constrained = check_install(python=env.python, requirements=reqs, constraints=env.constraints(), extra_pip_args=env.offline)
    assert constrained.ok
    assert ("torchcodec", "0.10.0") in {(p.name, p.version) for p in constrained.installs}
    res = CliRunner().invoke(
        app,
        ["deps", "check", "--python", env.python, "-r", str(reqs), "-c", str(env.constraints()), "--no-index",
         "--find-links", str(env.wheels), "--explain"],
    )
    assert res.exit_code == 0, res.output  # the constrained plan is the verdict
    assert "OK (without constraints)" in res.output  # torch itself would not change...
    # ...but torchcodec would jump to a release built for another torch
    assert "torchcodec 0.17.0 (the constraints say torchcodec<0.11.0,>=0.10.0)" in res.output
