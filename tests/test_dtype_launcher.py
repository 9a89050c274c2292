"""acekit's dtype launcher: the decision (who applies ACESTEP_DTYPE at a ref) and the seam check. No torch.

The real wrap against upstream's handler runs in the conformance tier
(tests/test_dtype_launcher_upstream.py, ACEKIT_UPSTREAM_SRC).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from acekit.deploy import dtype_launcher as dl

HANDLER_DIR = Path("acestep/core/generation/handler")


def _tree(root: Path, *, reads_dtype: bool = False, seams: tuple[str, ...] = tuple(dl.SEAMS),
          handler_class: bool = True) -> Path:
    """An upstream-shaped tree: handler class, the mixin methods the launcher wraps, maybe a reader."""
    (root / HANDLER_DIR).mkdir(parents=True)
    (root / "acestep" / "handler.py").write_text(
        "class AceStepHandler(Mixins):\n    pass\n" if handler_class else "class SomethingElse:\n    pass\n")
    body = "import os\n\nclass Mixin:\n"
    for name in seams:
        body += f"    def {name}(self, *args, **kwargs):\n        return None\n"
    body += "    pass\n"
    if reads_dtype:
        body += 'RAW = os.environ.get("ACESTEP_DTYPE", "")\n'
    else:
        body += "# set ACESTEP_DTYPE=float32 if you see NaN  (a hint, not a read)\n"
    (root / HANDLER_DIR / "mixins.py").write_text(body)
    # a test file that defines everything must not count
    (root / HANDLER_DIR / "mixins_test.py").write_text('import os\nos.environ.get("ACESTEP_DTYPE")\n')
    return root


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("  auto ", None), ("float32", "float32"), ("FP32", "float32"),
    ("half", "float16"), ("bf16", "bfloat16"),
])
def test_requested_dtype(value: str | None, expected: str | None) -> None:
    assert dl.requested_dtype(value) == expected


def test_requested_dtype_refuses_a_non_dtype_and_says_what_to_use() -> None:
    with pytest.raises(dl.DtypeError, match="float32, float16, bfloat16 or auto"):
        dl.requested_dtype("float64")


def test_plan_decides_who_applies_the_dtype() -> None:
    assert dl.plan(None, upstream_reads=False, missing=["x"]).action == "default"
    # upstream honours it itself: the launcher changes nothing
    up = dl.plan("float32", upstream_reads=True, missing=["x"])
    assert (up.action, up.dtype) == ("upstream", "float32")
    enforce = dl.plan("fp32", upstream_reads=False, missing=[])
    assert (enforce.action, enforce.dtype) == ("enforce", "float32")
    assert "dtype=float32 [enforce]" in enforce.line()
    with pytest.raises(dl.DtypeError, match="missing AceStepHandler._get_vae_dtype.*ACEKIT_ALLOW_DEFAULT_DTYPE=1"):
        dl.plan("float32", upstream_reads=False, missing=["AceStepHandler._get_vae_dtype"])
    allowed = dl.plan("float32", upstream_reads=False, missing=["AceStepHandler._get_vae_dtype"], allow_default=True)
    assert (allowed.action, allowed.dtype) == ("unenforced", None)


def test_seams_and_readers_are_found_in_the_source(tmp_path: Path) -> None:
    full = _tree(tmp_path / "full")
    assert dl.missing_seams(full) == []
    assert dl.dtype_override_readers(full) == []  # the hint and the _test.py file do not count
    assert dl.dtype_override_readers(_tree(tmp_path / "reads", reads_dtype=True)) == [HANDLER_DIR / "mixins.py"]
    gone = _tree(tmp_path / "gone", seams=("initialize_service", "_load_main_model_from_checkpoint"))
    assert dl.missing_seams(gone) == [f"AceStepHandler._get_vae_dtype (was in {dl.SEAMS['_get_vae_dtype']})"]
    renamed = _tree(tmp_path / "renamed", handler_class=False)
    assert dl.missing_seams(renamed) == ["class AceStepHandler in acestep/handler.py"]


def test_plan_for_source_and_the_plan_command(tmp_path: Path, monkeypatch, capsys) -> None:
    full = _tree(tmp_path / "full")
    gone = _tree(tmp_path / "gone", seams=("initialize_service",))
    assert dl.plan_for_source(full, {"ACESTEP_DTYPE": "float32"}).action == "enforce"
    assert dl.plan_for_source(full, {}).action == "default"
    assert dl.plan_for_source(gone, {"ACESTEP_DTYPE": "float32", "ACEKIT_ALLOW_DEFAULT_DTYPE": "1"}).action == "unenforced"

    monkeypatch.setenv("ACESTEP_DTYPE", "float32")
    monkeypatch.delenv("ACEKIT_ALLOW_DEFAULT_DTYPE", raising=False)
    assert dl.main(["--upstream-src", str(full), "--plan"]) == 0
    assert "dtype=float32 [enforce]" in capsys.readouterr().out
    assert dl.main(["--upstream-src", str(gone), "--plan"]) == 2
    err = capsys.readouterr().err
    assert "REFUSED" in err and "_load_main_model_from_checkpoint" in err and "_get_vae_dtype" in err


def test_install_refuses_a_handler_without_the_seams() -> None:
    class Handler:
        def initialize_service(self):
            return "ok", True

    with pytest.raises(dl.DtypeError, match="_load_main_model_from_checkpoint, _get_vae_dtype"):
        dl.install(Handler, "float32")
    assert Handler.initialize_service.__name__ == "initialize_service" and not hasattr(Handler, "_acekit_dtype")


def test_cast_handler_casts_weights_not_ids_and_skips_empty_slots() -> None:
    class Weights:
        def __init__(self, dtype, floating=True):
            self.dtype, self.floating = dtype, floating

        def is_floating_point(self):
            return self.floating

        def to(self, dtype):
            return Weights(dtype, self.floating)

    class Handler:
        dtype = "float16"
        model = Weights("float16")
        vae = Weights("float16")
        text_encoder = None
        silence_latent = Weights("int64", floating=False)

    h = Handler()
    dl.cast_handler(h, "float32")
    assert (h.dtype, h.model.dtype, h.vae.dtype, h.text_encoder, h.silence_latent.dtype) == (
        "float32", "float32", "float32", None, "int64")


def test_the_launcher_imports_only_the_standard_library_at_module_level() -> None:
    """It runs inside upstream's venv, where acekit and its dependencies are not installed."""
    tree = ast.parse(Path(dl.__file__).read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top.add(node.module.split(".")[0])
    assert top - {"__future__"} <= set(sys.stdlib_module_names), top
