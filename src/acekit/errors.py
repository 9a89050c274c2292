"""What can go wrong when talking to an ACE-Step server, each with a message that says what to do.

Every exception derives from `AceKitError`. Those raised because of an HTTP answer derive
from `ApiError` and carry ``status_code``, ``detail`` (the server's own words) and
``response``. Task-level failures (`TaskFailed`, `UnknownTask`, `TaskTimeout`) carry the
``task_id`` and the last `TaskResult` seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from acekit import contract

if TYPE_CHECKING:  # pragma: no cover
    from acekit.models import TaskResult


class AceKitError(Exception):
    """Base class of every error acekit raises."""


class ServerUnreachable(AceKitError):
    """No TCP connection to the server (refused, DNS failure, connect timeout), or one that broke.

    ``submitting``: it happened while submitting a task; the message then says whether the task
    can have reached the server (only a connection that broke after sending leaves that open).
    """

    def __init__(self, url: str, cause: BaseException | None = None, *, submitting: bool = False) -> None:
        self.url = url
        self.cause = cause
        self.submitting = submitting
        why = f" ({type(cause).__name__}: {cause})" if cause else ""
        if submitting and not self.request_not_sent:
            outcome = (" The connection broke after the request was sent: the server may have accepted the task. "
                       f"Check `acekit stats --server {url}` (queued/running jobs) before submitting it again.")
        else:
            outcome = " Nothing was submitted." if submitting else ""
        super().__init__(
            f"cannot reach the ACE-Step server at {url}{why}.{outcome} Is the server running, or still starting? "
            f"ACE-Step answers only once its models are loaded (minutes on a first start): check with "
            f"`acekit health --server {url}`, and behind the acekit gateway with {url}/gateway/health (it says "
            f"whether the ACE-Step server behind it is up). To wait for it before submitting, add "
            f"--wait-for-server SECONDS (Python: client.wait_for_server(seconds)). Nothing running? Start one with "
            f"`acestep-api` (real model) or `acekit serve-reference` (test backend), or point acekit elsewhere with "
            f"{contract.SERVER_ENV}=http://host:port or --server."
        )

    @property
    def request_not_sent(self) -> bool:
        """True when no connection was made, so no request reached the server (safe to send again)."""
        return isinstance(self.cause, (httpx.ConnectError, httpx.ConnectTimeout))


class ServerNotReady(ServerUnreachable):
    """`wait_for_server` gave up: the server did not answer ``/health`` within the time given."""

    def __init__(self, url: str, waited_s: float, last: BaseException | None = None) -> None:
        self.url = url
        self.cause = last
        self.submitting = True
        self.waited_s = waited_s
        why = f" (last: {_in_short(last)})" if last else ""
        AceKitError.__init__(
            self,
            f"the ACE-Step server at {url} did not come up within {waited_s:g} s{why}. Nothing was submitted. "
            f"Check its log (a first start downloads and loads the models, which can take many minutes), "
            f"`acekit health --server {url}`, and behind the acekit gateway {url}/gateway/health; then retry with "
            f"a longer --wait-for-server."
        )


def _in_short(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    if isinstance(exc, ApiError):
        return f"HTTP {exc.status_code}: {exc.detail}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class RequestTimeout(AceKitError):
    """Connected, but the server did not answer one request in time."""

    def __init__(self, url: str, cause: BaseException | None = None) -> None:
        self.url = url
        self.cause = cause
        super().__init__(
            f"the server at {url} accepted the connection but did not answer in time "
            f"({type(cause).__name__ if cause else 'timeout'}); it may be busy loading a model: "
            f"retry, or raise the client timeout (Client(timeout=...))."
        )


class ApiError(AceKitError):
    """The server answered with an error status (or an error envelope)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        detail: Any = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        self.response = response
        super().__init__(message)


class AuthError(ApiError):
    """401: the server wants an API key, or rejected the one given."""


class BadRequest(ApiError):
    """400/403/404/415/422: the server refused the request as sent; ``detail`` says why."""


class QueueFull(ApiError):
    """429: the server's job queue stayed full through every retry."""

    def __init__(self, message: str, *, attempts: int = 1, **kwargs: Any) -> None:
        self.attempts = attempts
        super().__init__(message, **kwargs)


class ServerError(ApiError):
    """5xx, or an envelope whose ``code`` is an error."""


class ServiceUnavailable(ServerError):
    """502/503: a gateway (or proxy) answered but cannot reach the ACE-Step server behind it right now,
    e.g. while it restarts. Transient: `wait()` tolerates it like a refused connection."""


class TaskError(AceKitError):
    """A problem with one submitted task."""

    def __init__(self, message: str, *, task_id: str, result: "TaskResult | None" = None) -> None:
        self.task_id = task_id
        self.result = result
        super().__init__(message)


class TaskFailed(TaskError):
    """The server reports status 2 (failed) for the task."""

    def __init__(self, task_id: str, result: "TaskResult | None" = None, reason: str | None = None) -> None:
        self.reason = reason
        why = reason or "the server gave no reason (see the server log)"
        super().__init__(f"task {task_id} failed on the server: {why}", task_id=task_id, result=result)


class ModelNotServed(TaskError):
    """The task ran on another DiT than the one asked for: upstream runs a request for a model it has not
    loaded on its primary one, without an error."""

    def __init__(self, task_id: str, asked: str, served: str, result: "TaskResult | None" = None) -> None:
        self.asked, self.served = asked, served
        self.reason = (f"asked for model {asked} but the server ran {served}: {asked} is not loaded there "
                       f"(upstream then uses its primary DiT). Load it (ACESTEP_CONFIG_PATH2={asked}) or drop it "
                       f"from the request")
        super().__init__(f"task {task_id}: {self.reason}", task_id=task_id, result=result)


class UnknownTask(TaskError):
    """The server has no record of the task (status 0 with an empty result) past the grace period."""

    def __init__(self, task_id: str, grace_s: float, result: "TaskResult | None" = None) -> None:
        self.grace_s = grace_s
        super().__init__(
            f"the server does not know task {task_id} (status 0 with an empty result for {grace_s:.0f} s). "
            f"The server probably restarted (its job store lives in memory) and the job is lost: resubmit it.",
            task_id=task_id,
            result=result,
        )


class TaskTimeout(TaskError):
    """The task did not finish within the client's ``timeout_s``; it may still be running on the server."""

    def __init__(self, task_id: str, timeout_s: float, result: "TaskResult | None" = None) -> None:
        self.timeout_s = timeout_s
        stage = f" (last stage: {result.stage}, progress {result.progress})" if result and result.stage else ""
        super().__init__(
            f"task {task_id} did not finish within {timeout_s:.0f} s{stage}. It may still be running: "
            f"call wait() again with a larger timeout_s, or check the server's /v1/stats.",
            task_id=task_id,
            result=result,
        )


def error_for_status(response: httpx.Response, *, attempts: int = 1) -> ApiError:
    """Build the matching `ApiError` for an error ``response`` (status >= 400)."""
    detail = _detail_of(response)
    code = response.status_code
    where = _where(response)
    kw: dict[str, Any] = {"status_code": code, "detail": detail, "response": response}
    if code == 401:
        return AuthError(
            f"{where} was refused (401: {detail}). The server needs an API key: "
            f"set {contract.API_KEY_ENV} or pass --api-key / Client(api_key=...).",
            **kw,
        )
    if code == 429:
        return QueueFull(
            f"the server's job queue is full (429: {detail}) after {attempts} attempt(s). "
            f"Wait for running jobs to finish (see /v1/stats), or raise the server's queue size "
            f"(ACESTEP_QUEUE_MAXSIZE).",
            attempts=attempts,
            **kw,
        )
    if code in (502, 503):
        return ServiceUnavailable(
            f"{where} could not reach the ACE-Step server ({code}: {detail}); it may be restarting or still "
            f"loading its models: {_health_hint(response)}retry in a few seconds (or add --wait-for-server SECONDS "
            "to wait for it before submitting), and see its log if it persists.", **kw)
    if code >= 500:
        return ServerError(f"{where} failed on the server ({code}: {detail}); see the server log.", **kw)
    hint = {
        403: "the server refuses that path (only files in its output directory are served)",
        404: "no such endpoint or file on this server (is it an ACE-Step 1.5 API server?)",
        415: "unsupported content type",
    }.get(code, "fix the request")
    return BadRequest(f"{where} was rejected ({code}: {detail}): {hint}.", **kw)


def _health_hint(response: httpx.Response) -> str:
    """Where to look: the acekit gateway's own health says whether the server behind it is up."""
    try:
        url = response.request.url
    except RuntimeError:
        return ""
    return f"{url.scheme}://{url.netloc.decode('ascii')}/gateway/health shows its state; "


def _where(response: httpx.Response) -> str:
    try:
        request = response.request
    except RuntimeError:  # a Response built by hand has no request
        return "the request"
    return f"{request.method} {request.url}"


def _detail_of(response: httpx.Response) -> Any:
    """The server's explanation: FastAPI's ``detail``, the envelope's ``error``, or the body text."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:500] if text else response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            if body.get(key):
                return body[key]
    return body
