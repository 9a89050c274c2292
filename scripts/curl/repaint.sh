#!/usr/bin/env bash
# repaint.sh SRC START END [PROMPT]: regenerate START..END seconds of SRC (END -1 = to the end).
# Musical options from the environment as in text2music.sh (BPM, KEY_SCALE, TIME_SIGNATURE, ...), plus
# REPAINT_MODE (conservative|balanced|aggressive) and REPAINT_STRENGTH (0..1, balanced only; 0 keeps the most
# of SRC), as acekit repaint --repaint-mode/--repaint-strength; unset = the server's defaults (balanced, 0.5).
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
knobs='{}'
if [[ -n ${REPAINT_MODE:-} ]]; then
  case $REPAINT_MODE in conservative | balanced | aggressive) ;;
    *) die "$EXIT_USAGE" "REPAINT_MODE must be conservative, balanced or aggressive, got '$REPAINT_MODE'" ;;
  esac
  knobs=$(jq -c --arg m "$REPAINT_MODE" '. + {repaint_mode: $m}' <<<"$knobs")
fi
if [[ -n ${REPAINT_STRENGTH:-} ]]; then
  [[ $REPAINT_STRENGTH =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$REPAINT_STRENGTH" 'BEGIN { exit !(x >= 0 && x <= 1) }' ||
    die "$EXIT_USAGE" "REPAINT_STRENGTH must be between 0 and 1, got '$REPAINT_STRENGTH'"
  knobs=$(jq -c --argjson x "$REPAINT_STRENGTH" '. + {repaint_strength: $x}' <<<"$knobs")
fi
# A separate assignment, so a usage error in the environment stops the script (set -e).
musical=$(musical_json)
request=$(jq -c --argjson s "$start_s" --argjson e "$end_s" --argjson k "$knobs" \
  '{task_type: "repaint", repainting_start: $s, repainting_end: $e} + $k + .' <<<"$musical")
submit_multipart "$request" "$src"
