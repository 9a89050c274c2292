#!/usr/bin/env bash
# lego.sh SRC TRACK [PROMPT]: generate one new TRACK (bass, drums, guitar, ...) that fits SRC.
# Musical options from the environment as in text2music.sh (BPM, KEY_SCALE, TIME_SIGNATURE, ...).
# stdout: the task id, then one audio path per line. Exit: 0 ok, 2 usage, 3 server error, 4 task failed.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -ge 2 && $# -le 3 ]] || die "$EXIT_USAGE" "usage: lego.sh SRC TRACK [PROMPT]"
src=$1 track=$2
require_file "$src" "source audio"
require_track "$track"
[[ $# -lt 3 ]] || PROMPT=$3
# The instruction upstream expects (acekit.contract.instruction_for): the stem name upper-cased.
request=$(jq -c --arg t "$track" \
  '{task_type: "lego", instruction: "Generate the \($t | ascii_upcase) track based on the audio context:", track_name: $t} + .' \
  <<<"$(musical_json)")
submit_multipart "$request" "$src"
