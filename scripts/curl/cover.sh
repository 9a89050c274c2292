#!/usr/bin/env bash
# cover.sh SRC STRENGTH [REF]: re-render SRC; STRENGTH 0..1 is how much of SRC's structure to keep
# (~0.2-0.3 for style transfer); REF is an optional reference audio for the style.
# Musical options from the environment as in text2music.sh (PROMPT, BPM, KEY_SCALE, ...).
# stdout: the task id, then one audio path per line. Exit: 0 ok, 2 usage, 3 server error, 4 task failed.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -ge 2 && $# -le 3 ]] || die "$EXIT_USAGE" "usage: cover.sh SRC STRENGTH [REF]"
src=$1 strength=$2 ref=${3:-}
require_file "$src" "source audio"
if ! [[ $strength =~ ^[0-9]*[.]?[0-9]+$ ]] || ! awk -v s="$strength" 'BEGIN { exit !(s >= 0 && s <= 1) }'; then
  die "$EXIT_USAGE" "STRENGTH must be a number from 0.0 to 1.0 (e.g. 0.3), got '$strength'"
fi
[[ -z $ref ]] || require_file "$ref" "reference audio"
# A separate assignment, so a usage error in the environment stops the script (set -e).
musical=$(musical_json)
request=$(jq -c --argjson k "$strength" '{task_type: "cover", audio_cover_strength: $k} + .' <<<"$musical")
submit_multipart "$request" "$src" "$ref"
