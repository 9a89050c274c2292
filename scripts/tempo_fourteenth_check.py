"""Tempo, fourteenth pass: the one dev computation the protocol allows (notes/tempo-fourteenth-pass.md, "Design").

    SHIPPED_TEMPO_PY=/tmp/tempo13/tempo_shipped.py .venv/bin/python scripts/tempo_fourteenth_check.py /tmp/tempo13/dev

Recomputes, with the PACKAGE implementation (`acekit.analysis.tempo.analyze_tempo` and `acekit.analysis.beatnet`, the
thresholds at their `Thresholds` defaults), the thirteenth pass's in-sample figure for N+c at (tp, kappa) = (0.8, 0.4)
on its cache of the thirteen dev splits (read only; an explicit allow-list: holdout13, holdout14 and the recordings are
never read): 1,735 of 1,808 right, worst split 91.88 %, no control newly passing, no decided wrong verdict added. The
reference is the shipped eighth pass (main's tempo.py, SHIPPED_TEMPO_PY) on the same cached features. The network reads
the cache's network input (`beat_features` of each song, stored as float16 by scripts/tempo_thirteenth_dev.py ``cache``),
as the thirteenth pass did: `beatnet.pulse_probabilities` is replaced by a look-up of that input run through the
package's `beatnet.default_net()`. As a cross-check, the thirteenth pass's own rule (scripts/tempo_thirteenth_dev.py
``verdicts`` at (0.8, 0.4)) is applied to the shipped readings and compared verdict by verdict. Nothing is chosen here.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SHIPPED_TEMPO_PY", "/tmp/tempo13/tempo_shipped.py")

import tempo_tenth_dev as D  # noqa: E402

from acekit.analysis import beatnet  # noqa: E402
from acekit.analysis import tempo as T  # noqa: E402
from acekit.analysis.clip import Thresholds  # noqa: E402

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9", "holdout10", "holdout11", "holdout12")
D.DEV = DEV  # the tenth pass's load / tally read this allow-list


def package_readings(feats: dict) -> tuple[dict, int]:
    """{(song, factor): verdict} of the package's analyze_tempo on the cached features (every shipped measure rebuilt
    from the cache as `tempo_tenth_dev.readings` does; the network's input from the cache), and how often the
    network ran."""
    th = Thresholds()
    net = beatnet.default_net()
    out, runs = {}, [0]
    orig = T.Periodicity, T.HarmonicRhythm, beatnet.pulse_probabilities
    try:
        for sid, f in feats.items():
            assert f["split"] in DEV, f["split"]
            per, har = D._Per(f["envs"]), D._Har(*f["chord"])
            T.Periodicity, T.HarmonicRhythm = (lambda y, sr, p=per: p), (lambda y, sr, h=har: h)
            net_in = f["net_in"]

            def probs(y, sr, x=net_in):
                runs[0] += 1
                return net.forward(x.astype(np.float32))[1]

            beatnet.pulse_probabilities = probs
            bt = T.BeatTrack(**f["bt"].model_dump())
            for fac in (*D.TESTS, *D.CONTROLS):
                r = T.analyze_tempo(np.zeros(16, np.float32), f["sr"], target_bpm=f["bpm"] * fac,
                                    time_signature=f["ts"], beat_track=bt, network_pass_mass=th.tempo_network_pass_mass,
                                    network_max_confidence=th.tempo_network_max_confidence)
                out[sid, round(fac, 4)] = r
    finally:
        T.Periodicity, T.HarmonicRhythm, beatnet.pulse_probabilities = orig
    return out, runs[0]


def main(out_dir: str) -> None:
    feats = D.load_feats(out_dir)
    rd = D.readings(feats)  # the shipped eighth pass (main's tempo.py)
    pkg, runs = package_readings(feats)
    v = {k: r.verdict for k, r in pkg.items()}
    base = {k: row["shipped"] for k, row in rd.items()}
    th = Thresholds()
    print(f"thresholds: tp {th.tempo_network_pass_mass}, kappa {th.tempo_network_max_confidence}; network runs {runs} "
          f"of {len(v)} requests")
    for name, verd in (("shipped", base), ("package N+c", v)):
        t = D.tally(rd, verd, DEV)
        print(name + ":", {s: f"{r}/{w}/{n - r - w} {r / n:.2%}" for s, (r, w, n) in t.items()},
              f"worst {min(r / n for r, _w, n in t.values()):.2%}", "total", sum(r for r, _w, _n in t.values()), "of",
              sum(n for _r, _w, n in t.values()), "decided wrong", sum(w for _r, w, _n in t.values()),
              "controls passing", sum(1 for k, row in rd.items() if row["want"] == "control" and verd[k] == "pass"))
    changed = sorted(k for k in v if v[k] != base[k])
    print("changed verdicts:", len(changed), "| newly passing controls:", D.new_controls(rd, v, DEV),
          "| added wrong:", D.added_wrong(rd, v, DEV))
    for k in changed:
        r = pkg[k]
        print(f"  {rd[k]['split']:9s} {k[0]:34s} x{k[1]:<6} {rd[k]['want']:7s} {base[k]}->{v[k]} trk={r.bpm} "
              f"c={r.confidence} {r.relation} m_pulse={r.network_pulse_mass}")
    assert all("pulse network decided" in pkg[k].reason for k in changed)
    # cross-check against the thirteenth pass's own rule on the same network readings
    import tempo_thirteenth_dev as X

    probs = X.net_probs(feats, str(beatnet.WEIGHTS))
    mm = {k: X.masses(probs[k[0]], feats[k[0]]["bpm"] * k[1], feats[k[0]]["ts"]) for k in rd}
    vx = X.verdicts(rd, mm, "N+c", 0.8, -0.4)
    diff = sorted(k for k in v if v[k] != vx[k])
    print("verdicts differing from scripts/tempo_thirteenth_dev.py's N+c at (0.8, 0.4):", len(diff), diff[:10])


if __name__ == "__main__":
    main(sys.argv[1])
