"""How far are the key truth labels from key finding on perfect notes?

Runs music21's five profile key finders on the exact notes acekit renders for each clip (the derived or
composed MIDI, percussion removed) and scores them with acekit's MIREX against the truth rule. It is
not an analyser and chooses nothing: it measures how much of a key target is reachable by profile key
finding when nothing is lost to audio (issue 11 item 4).

The split allow-list defaults to the splits already spent for key design, so it never reads a blind
split: pass --splits to change it, knowingly.

    .venv/bin/python scripts/key_symbolic_ceiling.py            # about 12 min of one CPU
"""
from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

from acekit.analysis.key import mirex_key_score
from acekit.calibration import scores, songs

METHODS = ("AardenEssen", "Krumhansl", "TemperleyKostkaPayne", "BellmanBudge", "SimpleWeights")
GENERATED = {"calibrate": songs.SONGS, "holdout": songs.HOLDOUT_SONGS, "holdout2": songs.HOLDOUT2_SONGS,
             "holdout3": songs.HOLDOUT3_SONGS}
SPENT_FOR_KEY = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7",
                 "holdout8", "holdout9", "holdout10")


def _clips(splits: list[str]):
    """(split, name, truth key, MIDI bytes) for every clip of the allow-listed splits."""
    for split in splits:
        for spec in GENERATED.get(split, ()):
            yield split, spec.name, spec.key, songs.compose(spec).midi
    for spec in scores.CORPUS_PIECES:
        if spec.split in splits:
            comp = scores.derive(spec)
            yield spec.split, spec.name, comp.extra["key"], comp.midi


def _estimates(m21, midi: bytes, folder: Path) -> dict[str, str | None]:
    path = folder / "clip.mid"
    path.write_bytes(midi)
    score = m21.converter.parse(str(path))
    for part in list(score.parts):  # a drum part has no pitch class to count
        inst = part.getInstrument()
        if inst is not None and (inst.midiChannel == 9 or isinstance(inst, m21.instrument.UnpitchedPercussion)):
            score.remove(part)
    out: dict[str, str | None] = {}
    for method in METHODS:
        try:
            k = score.analyze(method)
            out[method] = f"{k.tonic.name.replace('-', 'b')} {k.mode}"
        except Exception:  # noqa: BLE001 - a finder that gives up scores 0, as a missing estimate would
            out[method] = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", nargs="+", default=list(SPENT_FOR_KEY))
    args = ap.parse_args()
    m21 = scores.require_music21()
    got: dict[str, dict[str, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    with tempfile.TemporaryDirectory() as tmp:
        for split, _name, truth, midi in _clips(args.splits):
            for method, est in _estimates(m21, midi, Path(tmp)).items():
                got[method][split].append(mirex_key_score(truth, est) if est else 0.0)
    splits = [s for s in args.splits if got[METHODS[0]][s]]
    print("| finder | " + " | ".join(splits) + " | all |")
    print("| --- |" + " --- |" * (len(splits) + 1))
    for method in METHODS:
        every = [v for s in splits for v in got[method][s]]
        cells = [f"{sum(got[method][s]) / len(got[method][s]):.3f}" for s in splits]
        print(f"| {method} | " + " | ".join(cells) + f" | {sum(every) / len(every):.3f} |")


if __name__ == "__main__":
    main()
