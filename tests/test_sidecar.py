"""The sidecar module: seed picking and the never-half-written file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acekit.sidecar import item_seed, sidecar_path, write_sidecar


@pytest.mark.parametrize(
    ("seed_value", "index", "batch", "expected"),
    [
        ("42", 0, 1, 42),
        ("42", 1, 2, 42),  # one seed for the whole batch
        ("7, 8", 1, 2, 8),  # upstream joins the batch's seeds on every item
        ("7,8,9", 0, 2, None),  # count does not match the batch: don't guess
        ("", 0, 1, None),
        ("abc", 0, 1, None),
    ],
)
def test_item_seed(seed_value: str, index: int, batch: int, expected: int | None) -> None:
    assert item_seed(seed_value, index, batch) == expected


def test_write_sidecar_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    audio = tmp_path / "clip.mp3"
    audio.write_bytes(b"x")
    first = write_sidecar({"a": 1}, audio)
    assert first == sidecar_path(audio) == tmp_path / "clip.json"
    write_sidecar({"b": "é"}, audio)
    assert json.loads(first.read_text(encoding="utf-8")) == {"b": "é"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.json", "clip.mp3"]
