"""Result models: upstream's query_result shapes (result is a JSON string), envelopes, inventory, stats."""

from __future__ import annotations

import json

from acekit.contract import TaskStatus, TaskType
from acekit.models import Envelope, ModelList, Stats, parse_task_result


def _succeeded_entry() -> dict:
    # Shape written by upstream's local-cache path (acestep/api/jobs/local_cache_updates.py).
    items = [
        {
            "file": f"/v1/audio?path=%2Ftmp%2Fout%2Fsong_{i}.mp3", "wave": "", "status": 1, "create_time": 1732500000,
            "env": "development", "prompt": "lofi", "lyrics": "[Instrumental]",
            "metas": {"bpm": 92, "duration": 20.0, "genres": "N/A", "keyscale": "A minor", "timesignature": "4",
                      "prompt": "lofi", "lyrics": ""},
            "generation_info": "steps 8", "seed_value": 1234 + i, "lm_model": "", "dit_model": "acestep-v15-turbo",
            "progress": 1.0, "stage": "succeeded",
        }
        for i in range(2)
    ]
    return {"task_id": "t-1", "status": 1, "result": json.dumps(items), "progress_text": "done"}


def test_succeeded_result_string_is_parsed_into_items() -> None:
    res = parse_task_result(_succeeded_entry())
    assert res.status is TaskStatus.succeeded and res.done and not res.is_unknown
    assert len(res.items) == 2
    item = res.items[0]
    assert item.server_path == "/tmp/out/song_0.mp3"
    assert item.filename == "song_0.mp3"
    assert item.metas.bpm == 92 and item.metas.keyscale == "A minor" and item.metas.timesignature == "4"
    assert item.metas.genres is None  # upstream's "N/A"
    assert item.seed_value == "1234"  # upstream sends a comma-joined string; ints are normalised to it
    assert item.dit_model == "acestep-v15-turbo"
    assert item.model_extra["env"] == "development"  # unknown fields are kept
    assert res.raw["progress_text"] == "done"


def test_running_item_gives_progress_and_stage() -> None:
    running = [{"file": "", "status": 0, "create_time": 1, "progress": 0.42, "stage": "diffusion step 3/8"}]
    res = parse_task_result({"task_id": "t", "status": 0, "result": json.dumps(running), "progress_text": "other job"})
    assert res.status is TaskStatus.running and not res.done and not res.is_unknown
    assert res.items == []
    assert (res.progress, res.stage, res.progress_text) == (0.42, "diffusion step 3/8", "other job")


def test_failed_item_error_then_fallbacks() -> None:
    failed = [{"file": "", "status": 2, "progress": 0.0, "stage": "failed", "error": "cannot decode src_audio"}]
    res = parse_task_result({"task_id": "t", "status": 2, "result": json.dumps(failed), "progress_text": "x"})
    assert res.status is TaskStatus.failed and res.error == "cannot decode src_audio"
    # Store path of upstream: error None, only progress_text, the server-wide last log line. It is quoted
    # as such, never passed off as this task's error (issue 7 part 2).
    res2 = parse_task_result({"task_id": "t", "status": 2, "result": json.dumps([{"error": None}]),
                              "progress_text": "CUDA out of memory"})
    assert res2.error == ("the server reported no error for this task; its last log line (server-wide, it may "
                          "belong to another job) was: 'CUDA out of memory'")
    # Cache path with a non-list payload: upstream reports status 2 and echoes the raw text.
    res3 = parse_task_result({"task_id": "t", "status": 2, "result": "not json"})
    assert res3.error == "not json"


def test_unknown_task_shape() -> None:
    res = parse_task_result({"task_id": "gone", "result": "[]", "status": 0})
    assert res.is_unknown and res.status is TaskStatus.running and res.items == []
    assert not parse_task_result({"task_id": "q", "status": 0, "result": json.dumps([{"stage": "queued"}])}).is_unknown


def test_result_given_as_list_is_tolerated() -> None:
    entry = _succeeded_entry()
    entry["result"] = json.loads(entry["result"])
    assert len(parse_task_result(entry).items) == 2


def test_envelope() -> None:
    env = Envelope.model_validate({"data": {"x": 1}, "code": 200, "error": None, "timestamp": 1732500000000,
                                   "extra": None})
    assert env.data == {"x": 1} and env.code == 200 and env.timestamp == 1732500000000


def test_model_inventory_shape() -> None:
    data = {
        "models": [
            {"name": "acestep-v15-turbo", "is_default": True, "is_loaded": True,
             "supported_task_types": ["text2music", "repaint", "cover", "cover-nofsq"]},
            {"name": "acestep-v15-base", "is_default": False, "is_loaded": False,
             "supported_task_types": ["text2music", "repaint", "cover", "extract", "lego", "complete"]},
        ],
        "default_model": "acestep-v15-turbo", "lm_models": [{"name": "acestep-5Hz-lm-0.6B", "is_loaded": True}],
        "llm_initialized": True, "gpus": [],
    }
    ml = ModelList.model_validate(data)
    assert ml.names == ["acestep-v15-turbo", "acestep-v15-base"]
    turbo, base = ml.models
    assert turbo.supports(TaskType.cover) and not turbo.supports("lego") and base.supports("lego")
    assert ml.get("acestep-v15-base") is base and ml.get("nope") is None
    # Older /v1/models has no per-model claim.
    assert ModelList.model_validate({"models": [{"name": "m", "is_default": True}]}).models[0].supports("lego") is None


def test_stats_shape() -> None:
    st = Stats.model_validate({"jobs": {"total": 3, "queued": 1, "running": 1, "succeeded": 1, "failed": 0},
                               "queue_size": 1, "queue_maxsize": 200, "avg_job_seconds": 4.5})
    assert st.jobs.total == 3 and st.jobs.running == 1 and st.queue_maxsize == 200 and st.avg_job_seconds == 4.5
