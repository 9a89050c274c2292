#!/usr/bin/env bash
# System packages the tests and the calibration set need: fluidsynth + GM soundfonts
# (rendering music with known ground truth: FluidR3 for the songs thresholds are tuned on,
# TimGM6mb and MuseScore General for the held-out songs, the csound GM font and the OPL3 FM font
# for the second held-out split, MuseScore General HQ for the third), curl + jq (the curl kit), libsndfile (soundfile).
# The recordings split's music comes from three game-data packages that are NOT installed: the
# calibration build fetches them with `apt-get download` (src/acekit/calibration/recordings.py);
# here we only make sure apt can see them (an `apt-get update` when it cannot).
# Idempotent: installs only what is missing; uses sudo when not root.
set -euo pipefail
need=()
command -v fluidsynth >/dev/null || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need+=(timgm6mb-soundfont)
[ -f /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 ] || need+=(musescore-general-soundfont-small)
[ -f /usr/share/sounds/sf2/sf_GMbank.sf2 ] || need+=(csound-soundfont)
[ -f /usr/share/sounds/sf2/OPL-3_FM_128M.sf2 ] || need+=(opl3-soundfont)
[ -f /usr/share/sounds/sf3/MuseScore_General_Full.sf3 ] || need+=(musescore-general-soundfont)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
# no grep -q: it exits at the first match, ldconfig dies of SIGPIPE and pipefail reads that as "missing"
ldconfig -p 2>/dev/null | grep libsndfile >/dev/null || need+=(libsndfile1)
update=0
for pkg in extremetuxracer-data frozen-bubble-data lincity-ng-data; do
  apt-cache show "$pkg" >/dev/null 2>&1 || update=1
done
[ ${#need[@]} -eq 0 ] && [ $update -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing system packages: ${need[*]}" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
