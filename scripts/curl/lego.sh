#!/usr/bin/env bash
# lego.sh SRC TRACK [PROMPT]: generate one new TRACK (bass, drums, guitar, ...) that fits SRC.
# START / END (seconds, END -1 = to the end) in the environment limit it to a region, as acekit lego --start/--end.
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
region='{}'
if [[ -n ${START:-}${END:-} ]]; then
  start=${START:-0} end=${END:--1}
  require_number "$start" "START"
  require_number "$end" "END"
  [[ $end == -1 ]] || awk -v s="$start" -v e="$end" 'BEGIN { exit !(e > s) }' ||
    die "$EXIT_USAGE" "START ($start s) must be before END ($end s); use END=-1 for 'to the end'"
  region=$(jq -nc --argjson s "$start" --argjson e "$end" '{repainting_start: $s, repainting_end: $e}')
fi
# A separate assignment, so a usage error in the environment stops the script (set -e).
musical=$(musical_json)
request=$(jq -c --arg t "$track" --argjson region "$region" \
  '{task_type: "lego", instruction: "Generate the \($t | ascii_upcase) track based on the audio context:", track_name: $t} + $region + .' \
  <<<"$musical")
submit_multipart "$request" "$src"
