"""The adaptive poll schedule (`acekit.polling.PollSchedule`) and end-to-end waiting through a real gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from acekit.client import Client
from acekit.gateway.launch import running_gateway
from acekit.models import Text2MusicRequest
from acekit.polling import PollSchedule

S = PollSchedule(min_s=0.05, cap_s=2.0, fast_window_s=1.0, approach=0.5, backoff=0.25)


def test_fast_right_after_submitting() -> None:
    for elapsed in (0.0, 0.3, 0.99):
        assert S.delay_s(elapsed_s=elapsed, polls=5, expected_job_s=60.0) == S.min_s


def test_closes_in_on_the_expected_finish_then_backs_off_when_late() -> None:
    job = 20.0
    waits = [S.delay_s(elapsed_s=t, polls=3, expected_job_s=job) for t in (2.0, 10.0, 17.0, 19.5, 19.95)]
    assert waits[0] == S.cap_s  # far from the finish: capped
    assert waits == sorted(waits, reverse=True)  # ever shorter towards the finish
    assert waits[-1] == S.min_s
    late = [S.delay_s(elapsed_s=job + over, polls=3, expected_job_s=job) for over in (0.0, 0.5, 2.0, 6.0, 60.0)]
    assert late == sorted(late) and late[0] == S.min_s and late[-1] == S.cap_s  # backs off, capped


def test_progress_beats_the_server_average() -> None:
    # Running for 4 s at 80 %: 1 s left, whatever the average says.
    assert S.expected_remaining_s(elapsed_s=5.0, expected_job_s=100.0, progress=0.8, running_s=4.0) == pytest.approx(1.0)
    assert S.delay_s(elapsed_s=5.0, polls=3, expected_job_s=100.0, progress=0.8, running_s=4.0) == pytest.approx(0.5)
    # Too little progress to extrapolate: the average, counted from when it started running.
    assert S.expected_remaining_s(elapsed_s=5.0, expected_job_s=10.0, progress=0.01, running_s=4.0) == pytest.approx(6.0)


def test_jobs_queued_ahead_push_the_expected_finish_back() -> None:
    assert S.expected_remaining_s(elapsed_s=2.0, expected_job_s=3.0, queue_ahead=2) == pytest.approx(7.0)


def test_without_any_expectation_it_grows_geometrically_to_the_cap() -> None:
    waits = [S.delay_s(elapsed_s=5.0, polls=n) for n in range(20)]
    assert waits[0] == S.min_s and waits == sorted(waits) and waits[-1] == S.cap_s
    assert all(S.min_s <= w <= S.cap_s for w in waits)


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        PollSchedule(min_s=3.0, cap_s=1.0)


def test_generate_through_a_real_gateway_uses_push_and_direct_polls(reference_server: str, tmp_path: Path) -> None:
    req = Text2MusicRequest(prompt="lofi", duration_s=10, batch_size=1, audio_format="wav", seed=3)
    with running_gateway(reference_server, log_path=tmp_path / "gw.log") as gw:
        with Client(gw) as client:
            via_gateway = client.generate(req, out_dir=tmp_path / "gw")
            assert client.wait_path == "/v1/wait/{task_id}"
    with Client(reference_server) as client:
        direct = client.generate(req, out_dir=tmp_path / "direct")
        assert client.wait_path == ""
    assert via_gateway.paths[0].read_bytes() == direct.paths[0].read_bytes()  # same seed, same audio
    assert via_gateway.polls >= 1 and direct.polls >= 1
