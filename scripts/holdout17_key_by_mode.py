"""holdout17 (notes/holdout17-declaration.md, "Key: read apart by mode"): the shipped key design's MIREX on
holdout17 overall, on the pieces whose K: mode is major or minor (ionian, aeolian, minor; the chorales, whose
key is read from the final bass, are major or minor) and on the pieces in a church mode (dorian, mixolydian,
phrygian, lydian), with counts. A measurement, no design: the shipped `analyze_key` is run, unchanged, exactly as
`analyze_audio` runs it (the same analysis channel, thresholds and request), on the clips
tests/test_analysis_calibration.py `test_key_mirex` scores (the split's song and tempo clips).

    .venv/bin/python scripts/holdout17_key_by_mode.py /tmp/rendered/<content hash> [TEST.log]

With TEST.log (the output of `pytest ... -k "test_key_mirex and holdout17" -s`), the overall MIREX, the clip
count and the wrong keys (clip, estimate, flagged) are checked against the test's own printout.

Aggregate figures only: holdout17 is blind for the key eighteenth pass (notes/holdout17-declaration.md), so this
script prints no clip's key (the check against TEST.log compares them silently), as holdout16's. The reading
itself is scripts/key_by_mode.py, shared with holdout15's and holdout16's.
"""

import sys

from key_by_mode import main

if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:], split="holdout17", per_clip=False))
