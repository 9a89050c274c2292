"""When to poll next, where nothing pushes completion (plain upstream, no gateway).

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

Pure: no I/O, no clock; the client and the matrix runner feed it, the curl kit's ``poll.sh``
implements the same rule in awk.
"""

from __future__ import annotations

from dataclasses import dataclass

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
