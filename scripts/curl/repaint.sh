#!/usr/bin/env bash
# repaint.sh SRC START END [PROMPT]: regenerate START..END seconds of SRC (END -1 = to the end).
# Musical options from the environment as in text2music.sh (BPM, KEY_SCALE, TIME_SIGNATURE, ...).
# stdout: the task id, then one audio path per line. Exit: 0 ok, 2 usage, 3 server error, 4 task failed.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -ge 3 && $# -le 4 ]] || die "$EXIT_USAGE" "usage: repaint.sh SRC START END [PROMPT]"
src=$1 start_s=$2 end_s=$3
require_file "$src" "source audio"
require_number "$start_s" "START"
require_number "$end_s" "END"
if [[ $end_s != -1 ]] && awk -v a="$start_s" -v b="$end_s" 'BEGIN { exit !(b <= a) }'; then
  die "$EXIT_USAGE" "END ($end_s) must be after START ($start_s), or -1 for the end of the audio"
fi
[[ $# -lt 4 ]] || PROMPT=$4
request=$(jq -c --argjson s "$start_s" --argjson e "$end_s" \
  '{task_type: "repaint", repainting_start: $s, repainting_end: $e} + .' <<<"$(musical_json)")
submit_multipart "$request" "$src"
