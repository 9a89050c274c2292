"""Property-based fuzzing of the reference backend and the gateway (hypothesis), over real HTTP.

Every answer, whatever the input: no 5xx, no traceback in the body, and the documented status for
the kind of bad input (malformed JSON 400, unknown content type 415, path outside the output
folder 403, NUL byte 400, too many task ids 400, body over the gateway's limit 413, wrong key 401,
queue full 429). After each run the server's log holds no traceback either.

Bounded for a 2-core CI: a fixed ``max_examples`` per property and ``derandomize`` (the same
examples every run, no example database), so a failure reproduces and the run time is steady.
The reference backend here fails every job before it renders (``--task-timeout`` below any
render time), so valid requests cost no CPU: this fuzzes the HTTP layer and request parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acekit.contract import MAX_QUERY_TASK_IDS
from acekit.gateway.launch import running_gateway
from acekit.reference.launch import running_reference_server
from acekit.reference.params import ALIASES

FUZZ = settings(max_examples=60, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
KEY = "fuzz-key"


@pytest.fixture(scope="module")
def ref_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-ref") / "server.log"


@pytest.fixture(scope="module")
def reference(ref_log: Path) -> Iterator[str]:
    with running_reference_server("--output-dir", str(ref_log.parent / "out"), "--task-timeout", "0.000001",
                                  "--queue-maxsize", "50", log_path=ref_log) as url:
        yield url


@pytest.fixture(scope="module")
def gw_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-gw") / "gateway.log"


@pytest.fixture(scope="module")
def gateway(reference: str, gw_log: Path) -> Iterator[str]:
    with running_gateway(reference, "--api-key", KEY, "--max-upload-mb", "1", log_path=gw_log) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("fuzz-keyed") / "server.log"
    with running_reference_server("--output-dir", str(log.parent / "out"), "--api-key", KEY,
                                  "--task-timeout", "0.000001", log_path=log) as url:
        yield url, log


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def check(r: httpx.Response, allowed: set[int] | None = None) -> None:
    """The properties every answer must have."""
    assert r.status_code < 500, (r.status_code, r.request.method, r.request.url, r.text[:500])
    assert "Traceback" not in r.text and 'File "/' not in r.text, r.text[:500]
    if allowed is not None:
        assert r.status_code in allowed, (r.status_code, r.request.url, r.text[:500])
    if r.status_code >= 400 and r.content and r.headers.get("content-type", "").startswith("application/json"):
        detail = r.json().get("detail")
        assert detail, r.text  # an error says what is wrong


def assert_log_clean(log: Path) -> None:
    text = log.read_text()
    assert "Traceback" not in text, text[text.index("Traceback") - 300:][:3000]


# --------------------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "-1", "0", "120", "120.5", "1e309", "nan", "inf", "C major", "H minor", "Am", "4/4",
                     "7", "repaint", "cover", "lego", "extract", "complete", "cover-nofsq", "text2music",
                     "aiff", "wav", "mp3", "../../etc/passwd", "a\x00b", "/v1/audio?path=..%2F..%2Fetc%2Fpasswd",
                     "x" * 5000, "[\"bass\"]", "{\"bpm\": 90}", "true", "yes"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=8)
field_names = st.one_of(
    st.sampled_from(sorted({a for aliases in ALIASES.values() for a in aliases} | {
        "metas", "meta", "metadata", "user_metadata", "param_obj", "audio_format", "batch_size",
        "repainting_start", "repainting_end", "ai_token", "lm_model_path", "use_cot_caption", "infer_method"})),
    st.text(max_size=12),
)
bodies = st.dictionaries(field_names, values, max_size=8)


def form_value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


@st.composite
def release_requests(draw) -> dict[str, Any]:
    """httpx keyword arguments for one POST /release_task: JSON, urlencoded, multipart or odd bytes."""
    body = draw(bodies)
    kind = draw(st.sampled_from(["json", "form", "multipart", "raw"]))
    if kind == "json":
        return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}
    if kind == "form":
        return {"data": {k: form_value(v) for k, v in body.items() if "\x00" not in k}}
    if kind == "multipart":
        name = draw(st.sampled_from(["src_audio", "ctx_audio", "reference_audio", "other"]))
        blob = draw(st.binary(max_size=2048))
        fname = draw(st.text(max_size=20).filter(lambda s: "\x00" not in s and "\r" not in s and "\n" not in s))
        return {"data": {k: form_value(v) for k, v in body.items() if k and "\x00" not in k},
                "files": {name: (fname or "a.wav", blob, "audio/wav")}}
    ctype = draw(st.sampled_from(["", "text/plain", "application/octet-stream", "application/json",
                                  "multipart/form-data", "multipart/form-data; boundary=x", "application/xml"]))
    raw = draw(st.binary(max_size=512))
    return {"content": raw, "headers": {"content-type": ctype} if ctype else {}}


# --------------------------------------------------------------------------- reference backend


@FUZZ
@given(req=release_requests())
def test_reference_release_task_never_5xx(reference: str, http: httpx.Client, req: dict[str, Any]) -> None:
    r = http.post(f"{reference}/release_task", **req)
    check(r, {200, 400, 415, 429})


@FUZZ
@given(junk=st.builds(lambda head, tail: head + tail, st.sampled_from([b"{", b"[", b" {", b"\n["]),
                      st.one_of(st.binary(max_size=200), st.text(max_size=100).map(str.encode))))
def test_reference_malformed_json_is_400(reference: str, http: httpx.Client, junk: bytes) -> None:
    try:
        doc = json.loads(junk)
    except ValueError:
        doc = None
    r = http.post(f"{reference}/release_task", content=junk, headers={"content-type": "application/json"})
    check(r)
    if not isinstance(doc, dict):  # not JSON, or JSON that is not an object
        assert r.status_code == 400, r.text


@FUZZ
@given(raw=st.binary(max_size=200).map(lambda b: b"!" + b.replace(b"=", b"")))
def test_reference_unknown_content_type_is_415(reference: str, http: httpx.Client, raw: bytes) -> None:
    r = http.post(f"{reference}/release_task", content=raw, headers={"content-type": "application/x-acekit-fuzz"})
    check(r, {415})


@FUZZ
@given(path=st.one_of(st.text(max_size=60), st.sampled_from([
    "../../../../etc/passwd", "/etc/passwd", "%2e%2e/%2e%2e/etc/passwd", ".uploads/x.wav", "a\x00b.wav",
    "/", ".", "..", "x.wav", "x.txt", "~/x.mp3", "\\..\\..\\x.wav"])))
def test_reference_audio_paths_are_4xx(reference: str, http: httpx.Client, path: str) -> None:
    r = http.get(f"{reference}/v1/audio", params={"path": path})
    check(r, {400, 403, 404})
    if "\x00" in path:
        assert r.status_code == 400


@FUZZ
@given(body=st.one_of(bodies, st.builds(lambda ids: {"task_id_list": ids}, st.lists(values, max_size=5)),
                      st.builds(lambda n: {"task_id_list": ["t"] * n}, st.integers(0, 3 * MAX_QUERY_TASK_IDS))),
       as_form=st.booleans())
def test_reference_query_result(reference: str, http: httpx.Client, body: dict, as_form: bool) -> None:
    if as_form:
        r = http.post(f"{reference}/query_result", data={k: form_value(v) for k, v in body.items() if "\x00" not in k})
    else:
        r = http.post(f"{reference}/query_result", content=json.dumps(body).encode(),
                      headers={"content-type": "application/json"})
    check(r, {200, 400})
    ids = body.get("task_id_list")
    if isinstance(ids, list) and len(ids) > MAX_QUERY_TASK_IDS:
        assert r.status_code == 400 and f"at most {MAX_QUERY_TASK_IDS}" in r.json()["detail"]


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
       path=st.one_of(st.text(max_size=30), st.sampled_from(["release_task", "query_result", "v1/audio", "v1/stats",
                                                             "health", "format_input", "create_random_sample"])),
       body=st.binary(max_size=100))
def test_reference_any_method_any_path(reference: str, http: httpx.Client, method: str, path: str, body: bytes) -> None:
    r = http.request(method, f"{reference}/{quote(path.lstrip('/'), safe='/')}", content=body or None)
    check(r)


@FUZZ
@given(auth=st.one_of(st.none(), st.text(max_size=40).filter(lambda s: s.isprintable() and s.isascii() and s == s.strip()),
                      st.sampled_from([f"Bearer {KEY}x", "Bearer", KEY[:-1], f"bearer {KEY}"])),
       token=st.one_of(st.none(), values))
def test_reference_wrong_key_is_401(keyed_reference: tuple[str, Path], http: httpx.Client, auth: str | None,
                                    token: Any) -> None:
    url, _ = keyed_reference
    body = {"prompt": "x"} if token is None else {"prompt": "x", "ai_token": token}
    r = http.post(f"{url}/release_task", content=json.dumps(body).encode(),
                  headers={"content-type": "application/json", **({"authorization": auth} if auth else {})})
    check(r, {401})


def test_reference_logs_no_traceback(reference: str, ref_log: Path, keyed_reference: tuple[str, Path]) -> None:
    """Runs after the properties above (file order): whatever they sent, the servers logged no traceback."""
    assert_log_clean(ref_log)
    assert_log_clean(keyed_reference[1])


# --------------------------------------------------------------------------- gateway


@FUZZ
@given(req=release_requests(), authed=st.booleans())
def test_gateway_release_task_never_5xx(gateway: str, http: httpx.Client, req: dict[str, Any], authed: bool) -> None:
    headers = {**req.pop("headers", {}), **({"authorization": f"Bearer {KEY}"} if authed else {})}
    r = http.post(f"{gateway}/release_task", headers=headers, **req)
    check(r, {200, 400, 401, 415, 422, 429})
    if r.status_code == 401:
        assert r.json()["detail"].startswith(("Invalid API key", "Missing API key"))
    if r.status_code == 422:  # admission: a model the server has not loaded (upstream would run its primary DiT)
        assert "is not a model this server lists" in r.json()["detail"] or "not loaded" in r.json()["detail"]


@FUZZ
@given(size_kib=st.integers(1025, 1400), chunked=st.booleans(), authed=st.booleans())
def test_gateway_body_over_the_limit_is_413(gateway: str, http: httpx.Client, size_kib: int, chunked: bool,
                                            authed: bool) -> None:
    blob = b"x" * (size_kib * 1024)
    content = iter([blob[i:i + 65536] for i in range(0, len(blob), 65536)]) if chunked else blob
    headers = {"content-type": "application/octet-stream", **({"authorization": f"Bearer {KEY}"} if authed else {})}
    r = http.post(f"{gateway}/release_task", content=content, headers=headers)
    check(r, {413})


@FUZZ
@given(path=st.one_of(st.text(max_size=40), st.sampled_from(["a\x00b.wav", "\x00", "../\x00/x.mp3", "%00", "..%2f..%2f"])),
       where=st.sampled_from(["query", "path"]))
def test_gateway_nul_and_odd_paths(gateway: str, http: httpx.Client, path: str, where: str) -> None:
    headers = {"authorization": f"Bearer {KEY}"}
    if where == "query":
        r = http.get(f"{gateway}/v1/audio", params={"path": path}, headers=headers)
        check(r, {400, 403, 404})
    else:
        r = http.get(f"{gateway}/{quote(path.lstrip('/'), safe='/')}", headers=headers)
        check(r)
    if "\x00" in path:
        assert r.status_code == 400


@FUZZ
@given(n=st.integers(0, 3 * MAX_QUERY_TASK_IDS), as_text=st.booleans())
def test_gateway_query_result_cap(gateway: str, http: httpx.Client, n: int, as_text: bool) -> None:
    ids = [f"t{i}" for i in range(n)]
    body = {"task_id_list": json.dumps(ids) if as_text else ids}
    r = http.post(f"{gateway}/query_result", json=body, headers={"authorization": f"Bearer {KEY}"})
    check(r, {200, 400})
    assert (r.status_code == 400) == (n > MAX_QUERY_TASK_IDS), r.text[:300]


@FUZZ
@given(auth=st.one_of(st.none(), st.text(max_size=40).filter(lambda s: s.isprintable() and s.isascii() and s == s.strip())),
       token=st.one_of(st.none(), st.text(max_size=20)),
       route=st.sampled_from(["/v1/capabilities", "/v1/telemetry", "/v1/stats", "/v1/models"]))
def test_gateway_wrong_key_is_401(gateway: str, http: httpx.Client, auth: str | None, token: str | None,
                                  route: str) -> None:
    headers = {"authorization": auth} if auth and auth.strip() else {}
    r = http.get(f"{gateway}{route}", params={"ai_token": token} if token else None, headers=headers)
    check(r, {401})


def test_gateway_logs_no_traceback(gateway: str, gw_log: Path, ref_log: Path) -> None:
    assert_log_clean(gw_log)
    assert_log_clean(ref_log)
