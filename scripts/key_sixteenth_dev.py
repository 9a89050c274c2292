"""Key, sixteenth pass (notes/key-sixteenth-pass.md): the dev figures of the shipped design and of the network's
candidates, on the same clips.

    PYTHONPATH=/tmp/key16/src_dump nice -n 10 .venv/bin/python scripts/key_sixteenth_dev.py dump /tmp/rendered OUT.pkl
    PYTHONPATH=src .venv/bin/python scripts/key_sixteenth_dev.py score OUT.pkl NAME=WEIGHTS.npz ... [--out TABLE.md]

``dump``: every song and tempo clip of the fourteen dev splits (an explicit allow-list; holdout13, holdout14 and the
recordings are refused), read as `analyze_audio` reads it (its channel choice, `Thresholds`' key thresholds), run
through the `analyze_key` on the path, which must be the shipped one (this branch's key.py before the wiring: main's
but for the added `ChromaFrames.pitch`); per clip its result (with the profile estimator's reading and flag) and the
chroma frames it read (mean HPCP, the network's pooled roll). ``score``: the shipped design's figures from the dump,
and each candidate's (the network's key from the roll, `strength` its KK+T correlation, the fourteenth pass's flag
F14 from the same profile result, and F14p: also flagged under probability 0.5), per split and pooled: MIREX, minor
MIREX, wrong, wrong unflagged, right flagged, right unflagged (acekit's MIREX: `key_relation` / `_SCORES`).
Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9", "holdout10", "holdout11", "holdout12", "holdout15")
REFUSED = ("holdout13", "holdout14", "recordings")


def dump(parent: str, out: str) -> None:
    from acekit.analysis import key as keymod
    from acekit.analysis.audio import finite, load_audio
    from acekit.analysis.clip import Thresholds, analysis_channel
    from acekit.calibration import build_calibration_set
    from acekit.calibration.build import content_hash

    assert (Path(parent) / content_hash() / "manifest.json").is_file(), "the rendered set is not complete"
    assert hasattr(keymod, "key_model") and "_model_estimate" in dir(keymod)
    th = Thresholds()
    captured = {}
    orig = keymod._frames

    def frames(y, sr):  # noqa: ANN001, ANN202
        captured["fr"] = fr = orig(y, sr)
        return fr

    keymod._frames = frames
    cal = build_calibration_set(parent, workers=1)
    rows = []
    for split in DEV:
        assert split in DEV and split not in REFUSED
        for c in cal.of_kind("song", "tempo", split=split):
            assert c.split == split and c.split not in REFUSED
            y, sr = load_audio(cal.path(c), mono=False)
            mono, _channel = analysis_channel(np.asarray(y, dtype=np.float32), th)  # analyze_audio's choice
            clean = finite(mono)
            captured.clear()
            res = keymod.analyze_key(clean, sr, target_key=c.truth.key, ambiguous_strength=th.ambiguous_strength,
                                     ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)
            fr = captured["fr"]
            d = {"id": c.id, "split": split, "truth": c.truth.key, "duration": clean.size / sr, "res": res.model_dump(),
                 "module": keymod.__file__}
            if fr is not None:
                d.update(hpcp_mean=fr.hpcp.mean(axis=0), pitch=fr.pitch, cents=fr.cents)
            rows.append(d)
            print(split, c.id, c.truth.key, res.key, res.ambiguous, file=sys.stderr, flush=True)
        with open(out, "wb") as fh:
            pickle.dump(rows, fh)
    with open(out, "wb") as fh:
        pickle.dump(rows, fh)


def design_rows(rows: list[dict], net, flag: str) -> list[dict]:
    """The network design's reading of each dumped clip, as the wired `analyze_key` reads it."""
    from acekit.analysis.clip import Thresholds
    from acekit.analysis.key import _SCORES, _key_of, _unjudgeable, key_correlations, key_relation
    from acekit.keys import parse_key

    th = Thresholds()
    out = []
    for d in rows:
        key, strength, prob = None, 0.0, 0.0
        if d.get("pitch") is not None:
            corr = key_correlations(d["hpcp_mean"])
            probs = net.key_probabilities(d["pitch"])
            if corr.any() and probs is not None:
                k = int(np.argmax(probs))
                key, strength, prob = _key_of(k), float(corr[k]), float(probs[k])
        prof = d["res"]["by_profiles"]
        why = _unjudgeable(key, d["duration"], strength, min_duration_s=th.key_min_duration_s,
                           ambiguous_strength=th.ambiguous_strength)
        if why is None and prof["ambiguous"]:
            why = "profiles flag"
        elif why is None and key_relation(key, parse_key(prof["key"])) != "same":
            why = "disagree"
        if why is None and flag == "F14p" and prob < 0.5:
            why = "probability"
        truth = parse_key(d["truth"])
        mirex = 0.0 if key is None else _SCORES[key_relation(truth, key)]
        out.append({"split": d["split"], "id": d["id"], "truth": d["truth"], "key": key.canonical if key else None,
                    "mirex": mirex, "ambiguous": why is not None, "probability": prob})
    return out


def shipped_rows(rows: list[dict]) -> list[dict]:
    return [{"split": d["split"], "id": d["id"], "truth": d["truth"], "key": d["res"]["key"],
             "mirex": d["res"]["mirex_score"], "ambiguous": d["res"]["ambiguous"]} for d in rows]


def figures(rows: list[dict]) -> dict:
    minor = [r for r in rows if r["truth"].endswith("minor")]
    return {"n": len(rows), "n_minor": len(minor), "sum": sum(r["mirex"] for r in rows),
            "mirex": sum(r["mirex"] for r in rows) / len(rows),
            "minor": sum(r["mirex"] for r in minor) / max(1, len(minor)),
            "wrong": sum(r["mirex"] < 1 for r in rows),
            "wrong_unflagged": sum(r["mirex"] < 1 and not r["ambiguous"] for r in rows),
            "right_flagged": sum(r["mirex"] == 1 and r["ambiguous"] for r in rows),
            "right_unflagged": sum(r["mirex"] == 1 and not r["ambiguous"] for r in rows)}


def score(dev: str, weights: list[str], out: str | None) -> None:
    from acekit.analysis.keynet import KeyNet

    rows = pickle.load(open(dev, "rb"))
    assert all(d["split"] in DEV for d in rows)
    designs = {"shipped": shipped_rows(rows)}
    for spec in weights:
        name, path = spec.split("=")
        net = KeyNet.load(path)
        for flag in ("F14", "F14p"):
            designs[f"{name}/{flag}"] = design_rows(rows, net, flag)
    lines = ["| split | clips (minor) | design | MIREX (clip sum) | minor | wrong | wrong unflagged | right flagged | "
             "right unflagged |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    splits = [s for s in DEV if any(d["split"] == s for d in rows)]
    pooled = {}
    for split in splits + ["pooled"]:
        for name, rs in designs.items():
            sel = [r for r in rs if split == "pooled" or r["split"] == split]
            f = figures(sel)
            if split == "pooled":
                pooled[name] = f
            lines.append(f"| {split} | {f['n']} ({f['n_minor']}) | {name} | {f['mirex']:.3f} ({f['sum']:.1f}) | "
                         f"{f['minor']:.3f} | {f['wrong']} | {f['wrong_unflagged']} | {f['right_flagged']} | "
                         f"{f['right_unflagged']} |")
    s = pooled["shipped"]
    lines.append("")
    lines.append("Dev criterion (pooled): MIREX > shipped, wrong unflagged <= shipped, minor >= shipped, "
                 "right unflagged >= shipped - 4")
    for name, f in pooled.items():
        if name == "shipped":
            continue
        ok = (f["mirex"] > s["mirex"], f["wrong_unflagged"] <= s["wrong_unflagged"], f["minor"] >= s["minor"],
              f["right_unflagged"] >= s["right_unflagged"] - 4)
        lines.append(f"- {name}: {'HOLDS' if all(ok) else 'fails'} {ok}")
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("parent")
    d.add_argument("out")
    s = sub.add_parser("score")
    s.add_argument("dev")
    s.add_argument("weights", nargs="+")
    s.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "dump":
        dump(a.parent, a.out)
    else:
        score(a.dev, a.weights, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
