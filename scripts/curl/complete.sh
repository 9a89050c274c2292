#!/usr/bin/env bash
# complete.sh SRC TRACKS [DURATION]: add accompaniment TRACKS (comma-separated, e.g. drums,bass) to SRC
# (e.g. a vocal -> full song). The output is as long as SRC: DURATION is sent as audio_duration but upstream
# (53067ab) takes complete's length from SRC; the value only reaches the 5 Hz LM (with THINKING=1 the LM's codes,
# written for that length, replace SRC: upstream issue 1286). To extend a clip, repaint past its end.
# Musical options from the environment as in text2music.sh.
# stdout: the task id, then one audio path per line. Exit: 0 ok, 2 usage, 3 server error, 4 task failed.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -ge 2 && $# -le 3 ]] || die "$EXIT_USAGE" "usage: complete.sh SRC TRACKS [DURATION] (TRACKS like drums,bass)"
src=$1
require_file "$src" "source audio"
IFS=, read -r -a tracks <<<"$2"
((${#tracks[@]} > 0)) || die "$EXIT_USAGE" "TRACKS is empty: give e.g. drums,bass"
for t in "${tracks[@]}"; do require_track "$t"; done
if [[ $# -eq 3 ]]; then
  require_number "$3" "DURATION"
  AUDIO_DURATION=$3
fi
tracks_json=$(printf '%s\n' "${tracks[@]}" | jq -R . | jq -sc .)
# A separate assignment, so a usage error in the environment stops the script (set -e).
musical=$(musical_json)
request=$(jq -c --argjson ts "$tracks_json" \
  '{task_type: "complete", instruction: "Complete the input track with \($ts | map(ascii_upcase) | join(" | ")):", track_classes: $ts} + .' \
  <<<"$musical")
submit_multipart "$request" "$src"
