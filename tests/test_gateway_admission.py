"""Admission end to end: the reference backend and the gateway both pretending to be a 16 GB T4 (fp32).

The gateway refuses at once what the fit model says cannot fit, naming the limit and what would fit;
with admission off the same request reaches the backend, which fails it with a (simulated) out-of-memory
error, as ACE-Step would minutes later on a real T4.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from acekit import Client, Text2MusicRequest
from acekit.capabilities import Capabilities
from acekit.errors import BadRequest, TaskFailed
from acekit.gateway.admission import refusal
from acekit.gateway.launch import running_gateway

#: What the T4 image sets (docker/t4/Dockerfile); unset, upstream (and so the gateway) would offload by itself.
T4_IMAGE_ENV = {"ACESTEP_DTYPE": "float32", "ACESTEP_INIT_LLM": "false", "ACESTEP_OFFLOAD_TO_CPU": "false",
                "ACESTEP_OFFLOAD_DIT_TO_CPU": "false"}


def _release(url: str, **fields) -> httpx.Response:
    body = {"prompt": "lofi piano", "inference_steps": 2, "audio_format": "wav", **fields}
    return httpx.post(f"{url}/release_task", json=body, timeout=30)


#: The DiTs the T4 image loads (ACESTEP_CONFIG_PATH, no _PATH2): the reference loads (and lists as loaded) those.
T4_IMAGE_DITS = ("--models", "acestep-v15-turbo")


def test_gateway_refuses_what_cannot_fit_on_a_t4_and_admits_what_does(start_reference, tmp_path: Path) -> None:
    upstream = start_reference("--pretend-gpu", "T4", "--seconds-per-step", "0", *T4_IMAGE_DITS)
    with running_gateway(upstream, "--pretend-gpu", "T4", log_path=tmp_path / "gw.log", env=T4_IMAGE_ENV) as gw:
        caps = Capabilities.model_validate(httpx.get(f"{gw}/v1/capabilities", timeout=30).json()["data"])
        assert caps.fit is not None and caps.fit.dtype == "fp32" and caps.fit.memory_gib == pytest.approx(14.58)
        assert caps.tasks["text2music"].recommended.max_batch == 1

        r = _release(gw, batch_size=4, audio_duration=240)
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert "acestep-v15-turbo batch 4 at 240 s does not fit in 14.6 GB at fp32" in detail
        assert "batch 1 does (up to 240 s)" in detail
        # upstream runs eager attention on the T4: its attention matrices stop turbo batch 1 at 240 s
        r = _release(gw, batch_size=1, audio_duration=300)
        assert r.status_code == 422 and "up to 240 s at batch 1 does" in r.json()["detail"]

        # base is not loaded (nor listed) here: upstream would run it on its primary (turbo), so it is refused
        assert caps.fit.loaded_models == ["acestep-v15-turbo"]
        r = _release(gw, model="acestep-v15-base", batch_size=1, audio_duration=30)
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == ("model acestep-v15-base is not a model this server lists; upstream would run "
                                      "the request on its primary DiT acestep-v15-turbo instead. Send model= one of "
                                      "acestep-v15-turbo")
        # thinking needs the LM, which the image does not load (none fits beside an fp32 DiT in 16 GB)
        r = _release(gw, batch_size=1, audio_duration=30, thinking=True)
        assert r.status_code == 422 and "send thinking=false" in r.json()["detail"]
        # upstream's default batch (2), decoded one sample at a time as upstream does, fits up to 120 s
        r = _release(gw, audio_duration=150)
        assert r.status_code == 422 and "batch 2 at 150 s" in r.json()["detail"]
        assert "batch 1 does (up to 240 s)" in r.json()["detail"]

        # use_tiled_decode=false: the whole batch decoded at once, untiled: 60 s at batch 1 would OOM on the T4
        # (tiled it fits), so it is refused with what to do; upstream's spellings and string forms are read
        for off in (False, "false", "0", "no"):
            r = _release(gw, batch_size=1, audio_duration=60, use_tiled_decode=off)
            assert r.status_code == 422, (off, r.text)
            detail = r.json()["detail"]
            assert "with use_tiled_decode=false does not fit in 14.6 GB at fp32" in detail
            assert "drop use_tiled_decode=false (upstream's tiled decode, the default, fits this request)" in detail
            assert "keep it and shorten to 10 s or less at batch 1" in detail
        r = _release(gw, batch_size=1, audio_duration=300, useTiledDecode="false")
        assert r.status_code == 422 and "drop use_tiled_decode=false and shorten to 240 s or less" in r.json()["detail"]
        assert caps.fit.untiled_limit("acestep-v15-turbo", 1).max_duration_s == 10
        assert any("use_tiled_decode=false" in x and "up to 10 s at batch 1" in x
                   for x in caps.tasks["text2music"].reasons)

        # The client sees a BadRequest carrying the reason; a fitting request generates.
        with Client(gw) as client:
            with pytest.raises(BadRequest) as refused:
                client.generate(Text2MusicRequest(prompt="x", duration_s=120, batch_size=4, inference_steps=2),
                                out_dir=tmp_path / "no")
            assert "does not fit" in (refused.value.detail or str(refused.value))
            outcome = client.generate(
                Text2MusicRequest(prompt="lofi", duration_s=20, batch_size=1, inference_steps=2, audio_format="wav"),
                out_dir=tmp_path / "yes")
            assert len(outcome.paths) == 1 and outcome.paths[0].exists()
        # within the untiled limit (and with tiled decode on, at 60 s) the request goes through
        assert _release(gw, batch_size=1, audio_duration=10, use_tiled_decode=False).status_code == 200
        assert _release(gw, batch_size=1, audio_duration=60, use_tiled_decode=True).status_code == 200


def test_a_t4_serving_base_and_a_second_dit_that_counts(start_reference, tmp_path: Path) -> None:
    # ACESTEP_CONFIG_PATH=acestep-v15-base: base (CFG doubles the attention batch) fits to 130 s at batch 1
    upstream = start_reference("--pretend-gpu", "T4", "--seconds-per-step", "0", "--models", "acestep-v15-base")
    with running_gateway(upstream, "--pretend-gpu", "T4", log_path=tmp_path / "gw.log", env=T4_IMAGE_ENV) as gw:
        r = _release(gw, model="acestep-v15-base", batch_size=1, audio_duration=200)
        assert r.status_code == 422 and "up to 130 s at batch 1 does" in r.json()["detail"]
    # and a second DiT loaded beside it (ACESTEP_CONFIG_PATH2) counts: two float32 DiTs do not fit resident, nor
    # with ACESTEP_OFFLOAD_TO_CPU alone (the DiTs stay); with ACESTEP_OFFLOAD_DIT_TO_CPU too they do
    two = start_reference("--pretend-gpu", "T4", "--seconds-per-step", "0", "--models",
                          "acestep-v15-turbo,acestep-v15-base")
    for env, fits in ((T4_IMAGE_ENV, False), ({**T4_IMAGE_ENV, "ACESTEP_OFFLOAD_TO_CPU": "true"}, False),
                      ({**T4_IMAGE_ENV, "ACESTEP_OFFLOAD_TO_CPU": "true", "ACESTEP_OFFLOAD_DIT_TO_CPU": "true"}, True)):
        with running_gateway(two, "--pretend-gpu", "T4", log_path=tmp_path / "gw2.log", env=env) as gw:
            caps = Capabilities.model_validate(httpx.get(f"{gw}/v1/capabilities", timeout=30).json()["data"])
            assert caps.fit.loaded_models == ["acestep-v15-turbo", "acestep-v15-base"]
            r = _release(gw, batch_size=1, audio_duration=30)
            assert (r.status_code == 200) == fits, (env, r.text)
            if not fits:
                assert "not even 10 s fits" in r.json()["detail"]


def test_a_checkpoint_on_disk_but_not_loaded_is_neither_offered_nor_silently_replaced(start_reference,
                                                                                      tmp_path: Path) -> None:
    # Upstream lists every checkpoint folder, the ones it did not load with is_loaded=false, and runs a request
    # for one of those on its primary DiT. A T4 image serving turbo with base downloaded must not offer lego
    # (base-only) on base, nor let a request for base run on turbo.
    upstream = start_reference("--pretend-gpu", "T4", "--seconds-per-step", "0", *T4_IMAGE_DITS,
                               "--downloaded-models", "acestep-v15-base")
    models = httpx.get(f"{upstream}/v1/model_inventory", timeout=30).json()["data"]["models"]
    assert {(m["name"], m["is_loaded"]) for m in models} == {("acestep-v15-turbo", True), ("acestep-v15-base", False)}
    with running_gateway(upstream, "--pretend-gpu", "T4", log_path=tmp_path / "gw.log", env=T4_IMAGE_ENV) as gw:
        caps = Capabilities.model_validate(httpx.get(f"{gw}/v1/capabilities", timeout=30).json()["data"])
        lego = caps.tasks["lego"]
        assert lego.verdict == "untested" and lego.recommended.model is None and lego.models == []
        assert "acestep-v15-base on disk but not loaded" in lego.reasons[0]
        assert "ACESTEP_CONFIG_PATH2=acestep-v15-base" in lego.reasons[0]
        assert caps.tasks["text2music"].models == ["acestep-v15-turbo"]
        r = _release(gw, model="acestep-v15-base", batch_size=1, audio_duration=30)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "model acestep-v15-base is on disk but not loaded" in detail and "acestep-v15-turbo instead" in detail
        assert "load acestep-v15-base (ACESTEP_CONFIG_PATH2=acestep-v15-base)" in detail
        assert _release(gw, model="acestep-v15-turbo", batch_size=1, audio_duration=30).status_code == 200
    # What the refusal saves the user from: without admission the backend runs the request on turbo.
    with running_gateway(upstream, "--pretend-gpu", "T4", "--no-admission", log_path=tmp_path / "gw2.log",
                         env=T4_IMAGE_ENV) as gw:
        with Client(gw) as client:
            out = client.generate(Text2MusicRequest(prompt="x", duration_s=10, batch_size=1, inference_steps=2,
                                                    model="acestep-v15-base", audio_format="wav"),
                                  out_dir=tmp_path / "swapped")
    assert out.result.items[0].dit_model == "acestep-v15-turbo"


def test_admission_off_lets_it_through_and_the_backend_runs_out_of_memory(start_reference, tmp_path: Path) -> None:
    upstream = start_reference("--pretend-gpu", "T4", "--seconds-per-step", "0", *T4_IMAGE_DITS)
    with running_gateway(upstream, "--pretend-gpu", "T4", "--no-admission", log_path=tmp_path / "gw.log",
                         env=T4_IMAGE_ENV) as gw:
        with Client(gw) as client:
            with pytest.raises(TaskFailed) as failed:
                client.generate(Text2MusicRequest(prompt="x", duration_s=240, batch_size=4, inference_steps=2),
                                out_dir=tmp_path / "oom")
    assert "out of memory" in str(failed.value).lower() and "SIMULATED" in str(failed.value)


def test_untiled_decode_runs_out_of_memory_on_the_pretended_t4_without_admission(start_reference,
                                                                                 tmp_path: Path) -> None:
    # what admission saves the user from: the reference, pretending to be a T4, fails use_tiled_decode=false
    # at 60 s like an untiled decode would, while the same request tiled runs
    upstream = start_reference("--pretend-gpu", "T4", "--seconds-per-step", "0", *T4_IMAGE_DITS)
    with running_gateway(upstream, "--pretend-gpu", "T4", "--no-admission", log_path=tmp_path / "gw.log",
                         env=T4_IMAGE_ENV) as gw:
        with Client(gw) as client:
            ids = {}
            for tiled in (True, False):
                r = _release(gw, batch_size=1, audio_duration=60, use_tiled_decode=tiled)
                assert r.status_code == 200, r.text
                ids[tiled] = r.json()["data"]["task_id"]
            with pytest.raises(TaskFailed) as failed:
                client.wait(ids[False], timeout_s=60)
            tiled = client.wait(ids[True], timeout_s=60)
    assert "SIMULATED" in str(failed.value) and "untiled VAE decode" in str(failed.value)
    assert tiled is not None


def test_refusal_without_limits_lets_everything_through() -> None:
    doc = Capabilities(source="default", backend={"name": "x", "engine": "ACE-Step"})
    assert refusal({"batch_size": 8, "audio_duration": 600, "thinking": True}, doc) is None


def test_refusal_names_a_matrix_limit_and_another_model() -> None:
    from acekit.capabilities import FitInfo, FitLimit

    doc = Capabilities(
        source="matrix", backend={"name": "t4", "engine": "ACE-Step"},
        models=[{"name": "acestep-v15-base", "is_default": True}, {"name": "acestep-v15-turbo"}],
        fit=FitInfo(memory_gib=14.58, dtype="fp32", limits=[
            FitLimit(model="acestep-v15-base", batch=1, max_duration_s=None, source="matrix",
                     reason="acestep-v15-base ran out of GPU memory at 10 s in the matrix"),
            FitLimit(model="acestep-v15-turbo", batch=1, max_duration_s=600, reason="fits"),
        ]))
    why = refusal({"audio_duration": "60", "batch_size": "1"}, doc)  # multipart sends strings; default model
    assert why == ("acestep-v15-base batch 1 at 60 s does not fit in 14.6 GB at fp32 (at batch 1 not even 10 s fits, "
                   "the matrix ran out of memory past it); acestep-v15-turbo does")
    assert refusal({"model": "acestep-v15-turbo", "audio_duration": 600, "batch_size": 1}, doc) is None


def test_upstreams_own_offloading_counts_when_the_image_does_not_choose() -> None:
    from acekit.capabilities.defaults import default_capabilities
    from acekit.gateway.gpu import PretendSampler

    models = {"models": [{"name": "acestep-v15-turbo", "is_default": True}]}
    auto = default_capabilities(PretendSampler("T4").gpu(), models, offload=None)  # ACESTEP_OFFLOAD_TO_CPU unset
    assert auto.fit.offload and refusal({"batch_size": 4, "audio_duration": 120}, auto) is None
    pinned = default_capabilities(PretendSampler("T4").gpu(), models, offload=False)
    assert refusal({"batch_size": 4, "audio_duration": 120}, pinned) is not None
