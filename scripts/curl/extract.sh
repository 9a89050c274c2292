#!/usr/bin/env bash
# extract.sh SRC TRACK: pull one stem (vocals, drums, ...) out of SRC.
# Musical options from the environment as in text2music.sh.
# stdout: the task id, then one audio path per line. Exit: 0 ok, 2 usage, 3 server error, 4 task failed.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -eq 2 ]] || die "$EXIT_USAGE" "usage: extract.sh SRC TRACK"
src=$1 track=$2
require_file "$src" "source audio"
require_track "$track"
# A separate assignment, so a usage error in the environment stops the script (set -e).
musical=$(musical_json)
request=$(jq -c --arg t "$track" \
  '{task_type: "extract", instruction: "Extract the \($t | ascii_upcase) track from the audio:", track_name: $t} + .' \
  <<<"$musical")
submit_multipart "$request" "$src"
