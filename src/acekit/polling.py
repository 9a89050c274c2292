"""Waiting for a task: what to ask the server next (`TaskWaiter`), and when to poll (`PollSchedule`).

`TaskWaiter` is the wait loop's every decision, without I/O, shared by `acekit.Client` and
`acekit.AsyncClient`, which only carry out the `Step` it returns and report what happened:

* a gateway advertised push completion: `LongPoll` its wait endpoint again and again (no sleep:
  the gateway holds each call until the task ends or ``LONG_POLL_S`` passes);
* otherwise `FetchStats` (once per poll while adaptive polling has no expected job time), `Query`
  ``/query_result``, then `Sleep` as `PollSchedule` says (or at the fixed interval), unless that
  answer advertised a wait endpoint: then long-poll at once;
* a server that cannot be reached (refused, or a gateway's 502/503) is tolerated for the
  unknown-task grace period (a restart), with a sleep before the next try;
* done: the answer is final (returned), failed (`TaskFailed`), unknown for the grace period
  (`UnknownTask`), or the deadline passed (`TaskTimeout`).

`ServerWait` decides the waiting for a server to come up before submitting (``--wait-for-server``).

When nothing pushes completion (plain upstream, no gateway), when to poll next:

A fixed interval wastes on average half of it after every job (1 s polling left 0.65 s of
slack on a 0.43 s job). `PollSchedule` polls fast right after submitting (short jobs end
there) and around the expected finish, and backs off in between and once a task runs late:

* expected finish: from the task's own progress while it runs (time running / progress), else
  from the server's average job time (``/v1/stats`` ``avg_job_seconds``, times the jobs queued
  ahead of it plus one);
* before it: wait ``approach`` of the expected remaining time, so polls close in on the finish;
* after it: wait ``backoff`` of how late the task is, so a slow job is not polled hot forever;
* never less than ``min_s``, never more than ``cap_s``; without any expectation, grow
  geometrically from ``min_s``.

`PollSchedule` is pure (no I/O, no clock); `TaskWaiter` reads the clock it is given. The curl
kit's ``poll.sh`` implements the same rules in bash and awk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from acekit.contract import TaskStatus
from acekit.errors import (
    AceKitError,
    RequestTimeout,
    ServerNotReady,
    ServerUnreachable,
    ServiceUnavailable,
    TaskFailed,
    TaskTimeout,
    UnknownTask,
)
from acekit.models import Progress, TaskResult

#: Progress below this says too little about the rest of the job to extrapolate from.
_MIN_PROGRESS = 0.05


@dataclass(frozen=True)
class PollSchedule:
    min_s: float = 0.05
    cap_s: float = 2.0
    fast_window_s: float = 1.0
    approach: float = 0.5
    backoff: float = 0.25
    growth: float = 1.5

    def __post_init__(self) -> None:
        if not 0 < self.min_s <= self.cap_s:
            raise ValueError(f"need 0 < min_s <= cap_s (got {self.min_s}, {self.cap_s})")

    def expected_remaining_s(self, *, elapsed_s: float, expected_job_s: float | None, queue_ahead: int = 0,
                             progress: float | None = None, running_s: float | None = None) -> float | None:
        """Seconds until the task should finish (negative: it is late); None when nothing is known."""
        if progress is not None and running_s is not None and _MIN_PROGRESS <= progress < 1.0 and running_s > 0:
            return running_s * (1.0 - progress) / progress
        if expected_job_s is not None and expected_job_s > 0:
            if running_s is not None:  # running, but progress says nothing yet
                return expected_job_s - running_s
            return expected_job_s * (1 + max(0, queue_ahead)) - elapsed_s
        return None

    def delay_s(self, *, elapsed_s: float, polls: int, expected_job_s: float | None = None, queue_ahead: int = 0,
                progress: float | None = None, running_s: float | None = None) -> float:
        """Seconds to wait before the next poll."""
        remaining = self.expected_remaining_s(elapsed_s=elapsed_s, expected_job_s=expected_job_s,
                                              queue_ahead=queue_ahead, progress=progress, running_s=running_s)
        if elapsed_s < self.fast_window_s:
            wait = self.min_s
        elif remaining is None:
            wait = self.min_s * self.growth ** max(0, polls)
        elif remaining > 0:
            wait = self.approach * remaining
        else:
            wait = self.min_s + self.backoff * -remaining
        return min(self.cap_s, max(self.min_s, wait))


DEFAULT_SCHEDULE = PollSchedule()


# --------------------------------------------------------------------------- the wait loop

#: Longest single long-poll on a gateway's wait endpoint: short enough for regular progress
#: reports and for noticing an id the server forgot (it answers "queued" for those).
LONG_POLL_S = 2.0
#: Longest sleep after a failed long-poll before trying again.
_LONG_POLL_RETRY_S = 0.5
#: Stages that mean "not started yet" (upstream reports "queued"; others are defensive).
_QUEUED_STAGES = frozenset({"queued", "pending", "waiting", "submitted"})

ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class LongPoll:
    """``GET`` the gateway's wait endpoint, letting it hold the call at most ``hold_s``."""

    hold_s: float


@dataclass(frozen=True)
class Query:
    """``POST /query_result`` for the task."""


@dataclass(frozen=True)
class FetchStats:
    """Read the server's average job time (``/v1/stats``) and hand it to `TaskWaiter.expected`."""


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Union[LongPoll, Query, FetchStats, Sleep]


class TaskWaiter:
    """The decisions of one wait for one task (see the module docstring); no I/O.

    A driver loops: ``step = waiter.next_step(push=...)``, carries it out, then reports with
    `answered` (the task items of a `LongPoll` or `Query` answer; raises or returns the final
    result), `unreachable` or `expected`. A `LongPoll` answered 404/405 (no wait endpoint after
    all) is reported by nothing: the driver's next ``next_step(push=False)`` polls at once.
    """

    def __init__(
        self,
        task_id: str,
        *,
        poll_interval_s: float | None,
        timeout_s: float,
        unknown_grace_s: float,
        on_progress: ProgressCallback | None = None,
        started: float | None = None,
        schedule: PollSchedule = DEFAULT_SCHEDULE,
        queue_ahead: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if poll_interval_s is not None and poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be > 0 (got {poll_interval_s})")
        self.task_id = task_id
        #: None: adaptive (`PollSchedule`); a number: poll at that fixed interval.
        self.poll_interval_s = poll_interval_s
        self.schedule = schedule
        self.queue_ahead = queue_ahead
        self.expected_job_s: float | None = None
        self.timeout_s = timeout_s
        self.unknown_grace_s = unknown_grace_s
        self.on_progress = on_progress
        self.clock = clock or time.monotonic
        self.started = self.clock() if started is None else started
        self.polls = 0
        self.left_queue_at: float | None = None
        self.last: TaskResult | None = None
        self._unknown_since: float | None = None
        self._unreachable_since: float | None = None
        self._step: Step | None = None  # the step being carried out
        self._sleep_next: float | None = None
        self._sleep_unless_push = False
        self._stats_asked = False

    # -- what to do next

    def next_step(self, *, push: bool) -> Step:
        """The next thing to do; ``push``: the server advertised a wait endpoint (known so far)."""
        step: Step
        if self._sleep_next is not None:
            step, self._sleep_next = Sleep(self._sleep_next), None
        elif self._sleep_unless_push and not push:
            step = Sleep(self.sleep_s())
        elif push:
            step = LongPoll(self.long_poll_s())
        elif self.adaptive and self.expected_job_s is None and not self._stats_asked:
            step = FetchStats()
        else:
            step = Query()
        self._sleep_unless_push = False
        self._stats_asked = isinstance(step, FetchStats)
        self._step = step
        return step

    # -- what happened

    def expected(self, job_s: float | None) -> None:
        """The server's average job time (None: it does not say) after a `FetchStats`."""
        self.expected_job_s = job_s

    def answered(self, results: list[TaskResult]) -> TaskResult | None:
        """Take a `LongPoll` or `Query` answer; return the final result, raise, or return None to go on."""
        final = self.observe(results)
        if final is None and isinstance(self._step, Query):
            self._sleep_unless_push = True  # poll again after a sleep, unless the answer advertised push
        return final

    def unreachable(self, exc: ServerUnreachable | ServiceUnavailable) -> None:
        """The server could not be reached, directly or through a gateway (502/503): tolerated for
        ``unknown_grace_s`` (a restart), then ``exc`` is raised."""
        now = self.clock()
        self._unreachable_since = self._unreachable_since if self._unreachable_since is not None else now
        if now - self._unreachable_since >= self.unknown_grace_s:
            raise exc
        self._check_timeout(now)
        wait = self.sleep_s()
        self._sleep_next = min(_LONG_POLL_RETRY_S, wait) if isinstance(self._step, LongPoll) else wait

    def observe(self, results: list[TaskResult]) -> TaskResult | None:
        """Read one answer about the task: the final result, an error raised, or None (not done)."""
        now = self.clock()
        self.polls += 1
        self._unreachable_since = None
        result = next((r for r in results if r.task_id == self.task_id), None)
        if result is None:  # upstream always echoes the id; treat a missing entry like an unknown task
            result = TaskResult(task_id=self.task_id, status=TaskStatus.running, raw={"result": "[]"})
        self.last = result
        if result.status == TaskStatus.succeeded:
            return result
        if result.status == TaskStatus.failed:
            raise TaskFailed(self.task_id, result, result.error)
        if result.is_unknown:
            self._unknown_since = self._unknown_since if self._unknown_since is not None else now
            if now - self._unknown_since >= self.unknown_grace_s:
                raise UnknownTask(self.task_id, self.unknown_grace_s, result)
        else:
            self._unknown_since = None
            if self.left_queue_at is None and _started_running(result):
                self.left_queue_at = now
            if self.on_progress is not None:
                self.on_progress(
                    Progress(
                        task_id=self.task_id,
                        progress=result.progress,
                        stage=result.stage,
                        progress_text=result.progress_text,
                        elapsed_s=now - self.started,
                        polls=self.polls,
                    )
                )
        self._check_timeout(now)
        return None

    # -- figures

    def sleep_s(self) -> float:
        """Seconds until the next poll: the fixed interval, else `PollSchedule`'s; never past the deadline."""
        now = self.clock()
        remaining = self.timeout_s - (now - self.started)
        if self.poll_interval_s is not None:
            interval = self.poll_interval_s
        else:
            last = self.last
            interval = self.schedule.delay_s(
                elapsed_s=now - self.started, polls=self.polls, expected_job_s=self.expected_job_s,
                queue_ahead=self.queue_ahead, progress=last.progress if last is not None else None,
                running_s=None if self.left_queue_at is None else now - self.left_queue_at)
        return max(0.0, min(interval, remaining))

    @property
    def adaptive(self) -> bool:
        return self.poll_interval_s is None

    def long_poll_s(self) -> float:
        """How long the next wait-endpoint call may hold (the task's deadline permitting)."""
        return max(0.0, min(LONG_POLL_S, self.timeout_s - (self.clock() - self.started)))

    @property
    def queue_wait_s(self) -> float | None:
        return None if self.left_queue_at is None else self.left_queue_at - self.started

    def _check_timeout(self, now: float) -> None:
        if now - self.started >= self.timeout_s:
            raise TaskTimeout(self.task_id, self.timeout_s, self.last)


def _started_running(result: TaskResult) -> bool:
    if result.stage and result.stage.strip().lower() not in _QUEUED_STAGES:
        return True
    return (result.progress or 0.0) > 0.0


# --------------------------------------------------------------------------- before submitting


class ServerWait:
    """Waiting for a server to come up (``--wait-for-server``): what to retry, how long to sleep; no I/O.

    The driver probes ``GET /health`` (idempotent) until it answers, then submits once. Retried: a
    refused or broken connection, a timeout, and a gateway's 502/503 (the server behind it is
    still loading). A submit is only tried again when its connection was never made
    (`ServerUnreachable.request_not_sent`): a request that reached the server may have created a
    task, and sending it again would make a duplicate job. Sleeps double from ``first_s`` up to
    ``cap_s``; past ``timeout_s`` `ServerNotReady` is raised.
    """

    def __init__(self, url: str, timeout_s: float, *, first_s: float = 0.25, cap_s: float = 5.0,
                 clock: Callable[[], float] | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError(f"the time to wait for the server must be > 0 s (got {timeout_s})")
        self.url = url
        self.timeout_s = timeout_s
        self.first_s = first_s
        self.cap_s = cap_s
        self.clock = clock or time.monotonic
        self.deadline = self.clock() + timeout_s
        self.tries = 0

    def probe_failed(self, exc: AceKitError) -> float:
        """Seconds to sleep before probing again after ``exc``; raises ``exc`` when waiting cannot help
        (the server answered: a bad key, no such endpoint ...) and `ServerNotReady` once time is up."""
        if not isinstance(exc, (ServerUnreachable, RequestTimeout, ServiceUnavailable)):
            raise exc
        return self._backoff(exc)

    def submit_failed(self, exc: ServerUnreachable) -> float:
        """Seconds to sleep before waiting for the server again after a submit failed to connect; raises
        when the request may have reached the server (never sent twice) or time is up."""
        if not exc.request_not_sent:
            raise ServerUnreachable(self.url, exc.cause, submitting=True) from exc
        return self._backoff(exc)

    def _backoff(self, exc: BaseException) -> float:
        left = self.deadline - self.clock()
        if left <= 0:
            raise ServerNotReady(self.url, self.timeout_s, exc) from exc
        delay = min(self.cap_s, self.first_s * 2 ** min(self.tries, 32), left)
        self.tries += 1
        return delay
