"""docker/compose.yaml agrees with the Dockerfiles, the image build helper and the gateway's settings.

No docker engine here: the compose file is parsed with PyYAML (merge keys resolved), ``${VAR:-default}``
interpolation is applied the way compose applies it, and every value that must match something in
a Dockerfile (build args, exposed ports, the volume, ENV defaults, the healthcheck) is compared with
that Dockerfile's own instructions.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from acekit.deploy.image import DEFAULT_ACESTEP_REF, plan_build
from acekit.gateway.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[1]
COMPOSE_PATH = REPO / "docker" / "compose.yaml"
PLATFORMS = ("spark", "t4")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


# -- a small Dockerfile reader: the instructions this test compares, nothing more


@dataclass
class Dockerfile:
    args: dict[str, str | None] = field(default_factory=dict)  # every ARG in any stage, last default wins
    env: dict[str, str] = field(default_factory=dict)  # ENV of the final stage
    expose: set[int] = field(default_factory=set)
    volumes: list[str] = field(default_factory=list)
    healthcheck: str = ""
    run_text: str = ""


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def _key_values(rest: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in shlex.split(rest) if "=" in part)


def read_dockerfile(path: Path) -> Dockerfile:
    doc = Dockerfile()
    for word, rest in _instructions(path.read_text()):
        if word == "FROM":
            doc.env = {}  # ENV does not cross stages; the last stage is the image
        elif word == "ARG":
            name, eq, default = rest.partition("=")
            doc.args[name] = shlex.split(default)[0] if eq and default else None
        elif word == "ENV":
            doc.env.update(_key_values(rest))
        elif word == "EXPOSE":
            doc.expose |= {int(p.split("/")[0]) for p in rest.split()}
        elif word == "VOLUME":
            doc.volumes += yaml.safe_load(rest) if rest.startswith("[") else rest.split()
        elif word == "HEALTHCHECK":
            doc.healthcheck = rest
        elif word == "RUN":
            doc.run_text += rest + "\n"
    return doc


# -- compose, with interpolation


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}``."""

    def one(m: re.Match) -> str:
        name, op, default = m["name"], m["op"], m["default"] or ""
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env.get(name, default)
        return env.get(name, "")

    return INTERPOLATION.sub(one, value)


def default_of(value: str) -> str:
    """The value compose uses when the variable is unset."""
    return interpolate(str(value), {})


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text())


@pytest.fixture(scope="module", params=PLATFORMS)
def platform(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def service(compose: dict, platform: str) -> dict:
    return compose["services"][platform]


@pytest.fixture(scope="module")
def dockerfile(service: dict) -> Dockerfile:
    return read_dockerfile(_dockerfile_path(service))


def _dockerfile_path(service: dict) -> Path:
    context = (COMPOSE_PATH.parent / service["build"]["context"]).resolve()
    return context / service["build"]["dockerfile"]


# -- the checks


def test_one_service_per_platform_each_behind_its_profile(compose: dict) -> None:
    assert set(compose["services"]) == set(PLATFORMS)
    for name, svc in compose["services"].items():
        assert svc["profiles"] == [name], "a bare `docker compose up` must start nothing"


def test_build_matches_the_image_helper(service: dict, platform: str) -> None:
    """Same Dockerfile, context, tag and platform as `acekit image build <platform>`."""
    plan = plan_build(platform)
    context = (COMPOSE_PATH.parent / service["build"]["context"]).resolve()
    assert context == REPO == Path(plan.context)
    assert _dockerfile_path(service) == Path(plan.dockerfile)
    assert _dockerfile_path(service).is_file()
    assert service["image"] == plan.tag
    assert service["platform"] == plan.docker_platform and service["build"]["platforms"] == [plan.docker_platform]


def test_build_args_exist_in_the_dockerfile_with_the_same_defaults(service: dict, dockerfile: Dockerfile) -> None:
    args = service["build"]["args"]
    for name, value in args.items():
        assert name in dockerfile.args, f"{name} is not an ARG of {_dockerfile_path(service)}"
        declared = dockerfile.args[name]
        if declared is not None:
            assert default_of(value) == declared, name
    assert default_of(args["ACESTEP_REF"]) == DEFAULT_ACESTEP_REF
    # The torch source can be swapped (the cuBLAS fallback) from compose, as from the helper.
    assert {"TORCH_INDEX_URL", "TORCH_SPEC", "TORCH_PRE"} <= set(args)
    # Overriding works through the environment / .env.
    assert interpolate(args["TORCH_PRE"], {"TORCH_PRE": "1"}) == "1"


def test_flash_attn_is_opt_in_on_spark_and_absent_on_t4(compose: dict) -> None:
    spark, t4 = compose["services"]["spark"], compose["services"]["t4"]
    assert default_of(spark["build"]["args"]["INSTALL_FLASH_ATTN"]) == "0"
    assert "INSTALL_FLASH_ATTN" not in read_dockerfile(_dockerfile_path(t4)).args
    assert "INSTALL_FLASH_ATTN" not in t4["build"]["args"]
    assert t4["environment"]["ACESTEP_USE_FLASH_ATTENTION"] == "false"  # a literal, not overridable
    # Spark: empty lets entrypoint.sh decide from whether flash_attn imports.
    assert default_of(spark["environment"]["ACESTEP_USE_FLASH_ATTENTION"]) == ""
    assert '-z "${ACESTEP_USE_FLASH_ATTENTION:-}"' in (REPO / "docker" / "entrypoint.sh").read_text()


def test_only_the_gateway_is_published_on_the_api_port(service: dict, dockerfile: Dockerfile) -> None:
    gateway_port = int(dockerfile.env["ACEKIT_GATEWAY_PORT"])
    api_port = int(dockerfile.env["ACESTEP_API_PORT"])
    assert {gateway_port, api_port} <= dockerfile.expose
    (mapping,) = service["ports"]
    host, container = default_of(mapping).rsplit(":", 1)
    assert int(container) == gateway_port and int(container) in dockerfile.expose
    assert int(host) == 8001  # clients find ACE-Step's API where they expect it, through the gateway
    assert interpolate(mapping, {"ACEKIT_HOST_PORT": "9001"}) == f"9001:{gateway_port}"


def test_models_volume_is_the_dockerfile_volume(compose: dict, service: dict, dockerfile: Dockerfile) -> None:
    (mount,) = service["volumes"]
    source, target = mount.split(":")[:2]
    assert dockerfile.volumes == [target]
    assert source in compose["volumes"], "a named volume: docker seeds it with the image's ownership (uid 10001)"
    # Everything the image downloads or caches lands on that volume.
    for var in ("ACESTEP_CHECKPOINTS_DIR", "HF_HOME", "ACESTEP_TMPDIR", "TRITON_CACHE_DIR"):
        assert dockerfile.env[var].startswith(target + "/"), var
    capabilities = default_of(service["environment"]["ACEKIT_CAPABILITIES"])
    assert capabilities.startswith(target + "/")


def test_gpu_is_reserved(service: dict) -> None:
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] and (d.get("count") or d.get("device_ids"))
               for d in devices)


def test_healthcheck_hits_health_through_the_gateway(service: dict, dockerfile: Dockerfile) -> None:
    check = service["healthcheck"]
    test = check["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    url = next(part for part in test if part.startswith("http://"))
    assert url == f"http://127.0.0.1:{dockerfile.env['ACEKIT_GATEWAY_PORT']}/health"
    assert "curl" in test and re.search(r"apt-get install[^\n]*\bcurl\b", dockerfile.run_text)
    # The Dockerfile's own check probes ACE-Step directly; both wait out the first-start download.
    assert "/health" in dockerfile.healthcheck
    start = re.search(r"--start-period=(\d+)m", dockerfile.healthcheck)
    assert start and check["start_period"] == f"{start[1]}m"


def test_environment_keeps_the_image_defaults(service: dict, dockerfile: Dockerfile) -> None:
    """A compose default that differs from the image's ENV would silently change the image."""
    env = service["environment"]
    for name, value in env.items():
        if name in dockerfile.env:
            assert default_of(value) == dockerfile.env[name], f"{name}: compose {default_of(value)!r} vs image {dockerfile.env[name]!r}"
    for name in ("ACESTEP_API_HOST", "ACESTEP_API_PORT", "ACEKIT_GATEWAY_PORT"):
        assert name not in env, f"{name} is fixed by the image; the port mapping depends on it"


def test_t4_runs_float32(compose: dict) -> None:
    env = compose["services"]["t4"]["environment"]
    assert default_of(env["ACESTEP_DTYPE"]) == "float32"
    assert read_dockerfile(_dockerfile_path(compose["services"]["t4"])).env["ACESTEP_DTYPE"] == "float32"
    assert "ACESTEP_DTYPE" not in compose["services"]["spark"]["environment"]  # bf16 by upstream's choice


def test_every_variable_has_a_reader(service: dict) -> None:
    """ACESTEP_* names are upstream's (or the image's dtype switch); ACEKIT_* ones are read by
    entrypoint.sh or by the gateway's settings model."""
    # Read by upstream's api_server (an empty CONFIG_PATH2/3 or INIT_LLM means unset/auto there),
    # or by the image (ACESTEP_DTYPE, checked at build time by `acekit image check-source`).
    upstream_names = {"ACESTEP_CONFIG_PATH2", "ACESTEP_CONFIG_PATH3", "ACESTEP_DTYPE", "ACESTEP_INIT_LLM",
                       "ACESTEP_LM_MODEL_PATH", "ACESTEP_LM_BACKEND", "ACESTEP_QUEUE_MAXSIZE", "ACESTEP_QUEUE_WORKERS",
                       "ACESTEP_OFFLOAD_TO_CPU", "ACESTEP_OFFLOAD_DIT_TO_CPU", "ACESTEP_USE_FLASH_ATTENTION",
                       "ACESTEP_CONFIG_PATH", "ACESTEP_API_KEY"}
    entrypoint = (REPO / "docker" / "entrypoint.sh").read_text()
    gateway_names = set()
    for name, info in GatewaySettings.model_fields.items():
        alias = info.validation_alias
        gateway_names |= set(getattr(alias, "choices", []) or []) or {f"ACEKIT_GATEWAY_{name.upper()}"}
    for name in service["environment"]:
        if name.startswith("ACESTEP_"):
            assert name in upstream_names, name
        else:
            assert name.startswith("ACEKIT_") and (name in gateway_names or name in entrypoint), name


def test_one_key_guards_both_servers(service: dict) -> None:
    """The gateway injects ACESTEP_API_KEY upstream; without its own check that key would protect nothing."""
    env = service["environment"]
    assert env["ACEKIT_GATEWAY_API_KEY"] == env["ACESTEP_API_KEY"]
    resolved = {k: interpolate(v, {"ACESTEP_API_KEY": "s3cret"}) for k, v in env.items()}
    settings = GatewaySettings(_env_file=None, **{"ACESTEP_API_KEY": resolved["ACESTEP_API_KEY"],
                                                  "ACEKIT_GATEWAY_API_KEY": resolved["ACEKIT_GATEWAY_API_KEY"]})
    assert settings.api_key == settings.upstream_api_key == "s3cret"
    unset = {k: interpolate(v, {}) for k, v in env.items()}
    settings = GatewaySettings(_env_file=None, **{"ACESTEP_API_KEY": unset["ACESTEP_API_KEY"],
                                                  "ACEKIT_GATEWAY_API_KEY": unset["ACEKIT_GATEWAY_API_KEY"]})
    assert settings.api_key is None and settings.upstream_api_key is None  # empty means no key
    assert float(interpolate(env["ACEKIT_GATEWAY_MAX_UPLOAD_MB"], {})) == GatewaySettings().max_upload_mb


def test_interpolation_helper() -> None:
    assert interpolate("${A:-x}", {}) == "x" and interpolate("${A:-x}", {"A": ""}) == "x"
    assert interpolate("${A-x}", {"A": ""}) == "" and interpolate("${A}", {"A": "y"}) == "y"
    assert interpolate("${A:-}", {}) == ""
