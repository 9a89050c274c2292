"""acekit's dtype launcher against upstream's OWN handler code (conformance tier).

Runs only when ACEKIT_UPSTREAM_SRC names an upstream ACE-Step 1.5 tree (skipped otherwise). Uses the
conformance tier's upstream venv under ~/.cache/acekit/conformance (reused; built on first use like
the tier does). Inside it, tests/fixtures/upstream/dtype_launcher_probe.py runs upstream's real
``initialize_service`` as on a T4 (CUDA, no bf16; tiny float16 stand-ins for the weights) without
and then with the launcher's wrap.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from acekit.deploy import dtype_launcher

UPSTREAM = os.environ.get("ACEKIT_UPSTREAM_SRC")
PROBE = Path(__file__).parent / "fixtures" / "upstream" / "dtype_launcher_probe.py"

pytestmark = pytest.mark.skipif(
    not UPSTREAM, reason="set ACEKIT_UPSTREAM_SRC to an upstream ACE-Step 1.5 tree to run the conformance tier"
)


def test_launcher_makes_upstreams_t4_init_float32(tmp_path: Path) -> None:
    from acekit.conformance.upstream_venv import build_venv, venv_python

    src = Path(UPSTREAM or ".").expanduser().resolve()
    if dtype_override_readers := dtype_launcher.dtype_override_readers(src):
        pytest.skip(f"this ref reads ACESTEP_DTYPE itself ({dtype_override_readers[0]}): the launcher is a no-op")
    python = venv_python(build_venv(src))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACESTEP_")}
    proc = subprocess.run([str(python), str(PROBE), dtype_launcher.__file__, str(src), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=1))
    base, fixed = result["baseline"], result["launcher"]
    assert result["decision"] == "enforce"
    # without the launcher, upstream's own pre-Ampere choice: float16 everywhere (the probe reached that branch)
    assert base["ok"] and base["device"] == "cuda"
    assert {base[k] for k in ("handler.dtype", "model", "vae", "text_encoder", "vae_dtype_method")} == {"float16"}
    assert base["dit_loaded_as"] == ["float16"]
    # with it: float32 everywhere, the DiT loaded straight into float32, upstream's own status says so
    assert fixed["ok"] and fixed["device"] == "cuda"
    for key in ("handler.dtype", "model", "vae", "text_encoder", "silence_latent",
                "vae_dtype_method", "vae_dtype_method_default_device"):
        assert fixed[key] == "float32", (key, fixed)
    assert fixed["dit_loaded_as"] == ["float32"]
    assert "Dtype: torch.float32" in fixed["status"]
