"""`acekit image build` (the printed and the executed docker command) and `acekit image check-source`."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acekit.cli.main import app
from acekit.deploy.dockerfile import read_dockerfile
from acekit.deploy.image import DEFAULT_ACESTEP_REF, plan_build
from acekit.deploy.platforms import PLATFORMS, SPARK, T4

ROOT = Path(__file__).resolve().parent.parent


def _declared_args(platform: str) -> set[str]:
    df = read_dockerfile(ROOT / "docker" / platform / "Dockerfile")
    return set(df.global_args) | {name for stage in df.stages for name in stage.args()}


def _build_args(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, word in enumerate(argv) if word == "--build-arg")


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_printed_command(platform: str) -> None:
    res = CliRunner().invoke(app, ["image", "build", platform])
    assert res.exit_code == 0, res.output
    argv = shlex.split(res.output.strip())
    target = PLATFORMS[platform]
    assert argv[:2] == ["docker", "build"]
    assert argv[argv.index("--platform") + 1] == target.docker_platform
    assert argv[argv.index("-f") + 1] == str(ROOT / "docker" / platform / "Dockerfile")
    assert argv[argv.index("-t") + 1] == f"acekit-acestep:{platform}"
    assert argv[-1] == str(ROOT)  # context = repo root: the image installs acekit from this checkout
    assert _build_args(argv) == {"ACESTEP_REF": DEFAULT_ACESTEP_REF}


def test_options_become_build_args_the_dockerfile_declares() -> None:
    spec = "torch==2.11.0.dev20260101+cu130 torchvision==0.26.0.dev20260101+cu130 torchaudio==2.11.0.dev20260101+cu130"
    res = CliRunner().invoke(
        app,
        ["image", "build", "spark", "--flash-attn", "--ref", "0123456789abcdef0123456789abcdef01234567", "--tag", "me/ace:s",
         "--torch-index-url", "https://download.pytorch.org/whl/nightly/cu130", "--torch-spec", spec, "--torch-pre"],
    )
    assert res.exit_code == 0, res.output
    argv = shlex.split(res.output.strip())
    args = _build_args(argv)
    assert args == {
        "ACESTEP_REF": "0123456789abcdef0123456789abcdef01234567",
        "INSTALL_FLASH_ATTN": "1",
        "TORCH_INDEX_URL": "https://download.pytorch.org/whl/nightly/cu130",
        "TORCH_SPEC": spec,
        "TORCH_PRE": "1",
    }
    assert set(args) <= _declared_args("spark"), "a --build-arg the Dockerfile does not declare is silently ignored by docker"
    assert argv[argv.index("-t") + 1] == "me/ace:s"


def test_flash_attn_refused_on_t4_and_bad_specs_refused() -> None:
    res = CliRunner().invoke(app, ["image", "build", "t4", "--flash-attn"])
    assert res.exit_code == 2
    assert "t4 cannot use FlashAttention 2" in res.output and "sm_75" in res.output
    res = CliRunner().invoke(app, ["image", "build", "spark", "--torch-spec", "torch>=2.10"])
    assert res.exit_code == 2 and "exact ==version" in res.output
    with pytest.raises(ValueError, match="unknown platform"):
        plan_build("a100")


def test_run_executes_exactly_the_printed_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--run hands the same argv to the `docker` on PATH (here a recorder script standing in for the client)."""
    record = tmp_path / "argv.json"
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(f"#!/usr/bin/env python3\nimport json, sys\njson.dump(sys.argv, open({str(record)!r}, 'w'))\nsys.exit(3 if '--fail' in sys.argv[-1] else 0)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    res = CliRunner().invoke(app, ["image", "build", "t4", "--run"])
    assert res.exit_code == 0, res.output
    printed = shlex.split(res.output.strip().splitlines()[0])
    ran = json.loads(record.read_text())
    assert ran[1:] == printed[1:] and Path(ran[0]).name == "docker"
    # without --run nothing is executed
    record.unlink()
    assert CliRunner().invoke(app, ["image", "build", "t4"]).exit_code == 0
    assert not record.exists()
    # a failing build is reported with docker's exit status
    ctx = tmp_path / "--fail"
    (ctx / "docker" / "t4").mkdir(parents=True)
    (ctx / "pyproject.toml").write_text("")
    res = CliRunner().invoke(app, ["image", "build", "t4", "--run", "--context", str(ctx)])
    assert res.exit_code == 3 and "docker build exited 3" in res.output


def _upstream_tree(root: Path, *, reads_dtype: bool, launcher_seams: bool = False) -> Path:
    """The parts of an upstream checkout the images rely on (paths as in ace-step/ACE-Step-1.5)."""
    (root / "acestep" / "third_parts" / "nano-vllm").mkdir(parents=True)
    (root / "acestep" / "core" / "generation" / "handler").mkdir(parents=True)
    (root / "acestep" / "api_server.py").write_text("def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n")
    (root / "acestep" / "third_parts" / "nano-vllm" / "pyproject.toml").write_text("[project]\nname = 'nano-vllm'\n")
    (root / "requirements.txt").write_text("xxhash\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'ace-step'\n")
    body = "import os\n"
    if reads_dtype:
        body += "env_dtype_str = os.environ.get(\"ACESTEP_DTYPE\", \"\").strip().lower()\n"
    else:
        body += "# set ACESTEP_DTYPE=float32 if you see NaN  (a hint, not a read)\n"
    if launcher_seams:  # what acekit's dtype launcher wraps (as at 53067ab)
        (root / "acestep" / "handler.py").write_text("class AceStepHandler(InitServiceMixin):\n    pass\n")
        body += "\nclass InitServiceMixin:\n"
        for name in ("initialize_service", "_load_main_model_from_checkpoint", "_get_vae_dtype"):
            body += f"    def {name}(self, *args, **kwargs):\n        pass\n"
    (root / "acestep" / "core" / "generation" / "handler" / "init_service_orchestrator.py").write_text(body)
    return root


def test_check_source(tmp_path: Path) -> None:
    good = _upstream_tree(tmp_path / "good", reads_dtype=True)
    old = _upstream_tree(tmp_path / "old", reads_dtype=False)
    ok = CliRunner().invoke(app, ["image", "check-source", str(good), "--platform", "t4"])
    assert ok.exit_code == 0, ok.output
    assert "ACESTEP_DTYPE=float32 is read by acestep/core/generation/handler/init_service_orchestrator.py" in ok.output
    refused = CliRunner().invoke(app, ["image", "check-source", str(old), "--platform", "t4"])
    assert refused.exit_code == 1 and "never reads ACESTEP_DTYPE" in refused.output and "ALLOW_DEFAULT_DTYPE=1" in refused.output
    assert "launcher cannot enforce it (missing class AceStepHandler" in refused.output
    # a ref like the 53067ab pin: ignores ACESTEP_DTYPE, but the launcher's seams are there
    pinned = _upstream_tree(tmp_path / "pinned", reads_dtype=False, launcher_seams=True)
    launched = CliRunner().invoke(app, ["image", "check-source", str(pinned), "--platform", "t4"])
    assert launched.exit_code == 0, launched.output
    assert "acekit's dtype launcher enforces float32" in launched.output
    allowed = CliRunner().invoke(app, ["image", "check-source", str(old), "--platform", "t4", "--allow-default-dtype"])
    assert allowed.exit_code == 0
    # the Spark lets upstream choose (bf16), so the dtype override does not matter there
    assert CliRunner().invoke(app, ["image", "check-source", str(old), "--platform", "spark"]).exit_code == 0
    (good / "acestep" / "api_server.py").unlink()
    broken = CliRunner().invoke(app, ["image", "check-source", str(good), "--platform", "spark"])
    assert broken.exit_code == 1 and "acestep/api_server.py is missing" in broken.output


def test_platform_data_matches_the_hardware_notes() -> None:
    assert (SPARK.machine, SPARK.cuda, SPARK.supports_bf16, SPARK.supports_flash_attn) == ("aarch64", "13.0", True, True)
    assert (T4.machine, T4.cuda, T4.supports_bf16, T4.supports_flash_attn) == ("x86_64", "12.8", False, False)
    # same torch minor on both
    assert {p.torch_pins["torch"].split("+")[0] for p in (SPARK, T4)} == {"2.10.0"}
    assert {p.torch_pins["torchvision"].split("+")[0] for p in (SPARK, T4)} == {"0.25.0"}


#: Upstream main on 17 Apr 2026, verified with `git cat-file -t` in the snapshot maxgraf96/ACE-Step-1.5
#: (upstream's own history) and vetted against upstream's own api_server (issue 7 part 5).
VETTED_REF = "53067ab73ba11d32299fa55687497b570b20a4d1"
#: The old default: found in no upstream snapshot, so `docker build` failed at its download.
UNKNOWN_REF = "83e0a8fa38bb33e5dcc67675343923fa8d77f3d5"


def test_default_ref_is_the_vetted_upstream_commit_everywhere() -> None:
    assert DEFAULT_ACESTEP_REF == VETTED_REF
    for rel in ("docker/spark/Dockerfile", "docker/t4/Dockerfile", "docker/compose.yaml", "docs/bringup.md"):
        text = (ROOT / rel).read_text()
        assert VETTED_REF in text, f"{rel} does not pin {VETTED_REF}"
        assert UNKNOWN_REF not in text, f"{rel} still names the unknown ref {UNKNOWN_REF}"
    bringup = (ROOT / "docs" / "bringup.md").read_text()
    # where the pin comes from and how to move it (vet with the conformance tier first)
    assert "acekit conformance --upstream-src" in bringup
    assert "maxgraf96/ACE-Step-1.5" in bringup
