"""Tempo, ninth pass: the ONE evaluation on a blind split (notes/tempo-ninth-pass.md), run after the freeze commit.

    .venv/bin/python scripts/tempo_ninth_eval.py run NAME OUT.json RENDERED_SET_DIR SPLIT TRACKS.pkl
    .venv/bin/python scripts/tempo_ninth_eval.py compare FROZEN.json SHIPPED.json

``run`` judges the split's songs with whichever ``acekit`` is importable (this tree's for the frozen design; main's
``src``, from ``git -C /work/main archive``, first on PYTHONPATH for the shipped one) through the calibration test's own
functions (`tests/test_analysis_calibration.py::_tempo_cases`, `_tempo_figures`: each song at its own tempo, 1.1x, 0.9x,
0.75x), then every song at the 19 controls. The beat tracks are computed once (the first run writes TRACKS.pkl, the
second reads it), so both designs judge the same clips and the same tracker output. It reads the rendered set through its
manifest only (never renders). ``compare`` applies the ship rule fixed in the notes for one split: right not fewer, wrong
not more, no control newly passing (the pooled condition over the evaluated splits is applied in the notes).
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

CONTROLS = (0.5, 2.0, 1.5, 2 / 3, 3.0, 1 / 3, 0.6, 0.65, 0.7, 0.8, 0.85, 1.15, 1.2, 1.25, 1.3, 1.4, 1.6, 1.7, 1.8)
BLIND = ("holdout10", "holdout11")


def run(name: str, out: str, rendered: str, split: str, tracks_path: str, blind: tuple[str, ...] = BLIND) -> None:
    import test_analysis_calibration as cal_test

    from acekit.analysis import load_audio, track_beats
    from acekit.analysis import tempo
    from acekit.calibration.manifest import CalibrationSet

    assert split in blind, split
    manifest = Path(rendered) / "manifest.json"
    if not manifest.is_file():
        raise SystemExit(f"{manifest} is absent: wait for the lead's render (this script never renders)")
    data = json.loads(manifest.read_text())
    data["root"] = str(Path(rendered))
    cal = CalibrationSet.model_validate(data)
    songs = cal.of_kind("song", split=split)
    tracks = pickle.load(open(tracks_path, "rb")) if Path(tracks_path).exists() else {}
    tracked = {}
    for c in songs:
        y, sr = load_audio(cal.path(c), mono=False)
        if c.id not in tracks:
            tracks[c.id] = track_beats(y.mean(axis=1), sr).model_dump()
        tracked[c.id] = (y, sr, tempo.BeatTrack(**tracks[c.id]))
    if not Path(tracks_path).exists():
        pickle.dump(tracks, open(tracks_path, "wb"))
    cases = cal_test._tempo_cases(cal, tracked, split)
    right, wrong, unsure = cal_test._tempo_figures(cases)
    controls = []
    for c in songs:
        y, sr, bt = tracked[c.id]
        for fac in CONTROLS:
            r = tempo.analyze_tempo(y.mean(axis=1), sr, target_bpm=c.truth.bpm_requested * fac,
                                    time_signature=c.truth.time_signature, beat_track=bt)
            if r.verdict == "pass":
                controls.append([c.id, round(fac, 4)])
    n = len(cases)
    res = dict(name=name, split=split, tempo_py=tempo.__file__, songs=len(songs), n=n, right=round(right * n),
               wrong=round(wrong * n), unreliable=round(unsure * n), cases=cases, control_requests=len(songs) * 19,
               control_passes=controls)
    Path(out).write_text(json.dumps(res, indent=1))
    print(f"{name} ({tempo.__file__}) {split}: {n} judgements, right {right:.1%}, wrong {wrong:.1%}, "
          f"unreliable {unsure:.1%} ({res['right']}/{res['wrong']}/{res['unreliable']}); controls passing "
          f"{len(controls)} of {len(songs) * 19}", flush=True)


def compare(frozen: str, shipped: str) -> None:
    fz, sh = json.loads(Path(frozen).read_text()), json.loads(Path(shipped).read_text())
    assert fz["split"] == sh["split"] and [c[:3] for c in fz["cases"]] == [c[:3] for c in sh["cases"]]
    new_controls = [c for c in fz["control_passes"] if c not in sh["control_passes"]]
    differ = [(a[0], round(a[1], 1), a[2], b[3], a[3]) for a, b in zip(fz["cases"], sh["cases"]) if a[3] != b[3]]
    ok = fz["right"] >= sh["right"] and fz["wrong"] <= sh["wrong"] and not new_controls
    print(f"{fz['split']}: frozen {fz['right']}/{fz['wrong']}/{fz['unreliable']} of {fz['n']}, controls "
          f"{len(fz['control_passes'])}; shipped {sh['right']}/{sh['wrong']}/{sh['unreliable']}, controls "
          f"{len(sh['control_passes'])}; new controls {new_controls}; per-split rule met: {ok}")
    print("judgements that differ (clip, bpm, want, shipped, frozen):", differ)


def main(argv: list[str], blind: tuple[str, ...] = BLIND) -> None:
    """The command line above; ``blind``: the splits ``run`` may judge (the tenth pass's script passes its own)."""
    if argv[1] == "run":
        run(*argv[2:7], blind=blind)
    elif argv[1] == "compare":
        compare(*argv[2:4])


if __name__ == "__main__":
    main(sys.argv)
