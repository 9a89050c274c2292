#!/usr/bin/env bash
# text2music.sh [BODY.json]: submit a text2music request (default: text2music.json next to this script),
# print the task id, poll until done, download the audio + sidecars into ${OUT_DIR:-acestep-out}.
# Environment overrides merged into the body: PROMPT LYRICS BPM KEY_SCALE TIME_SIGNATURE AUDIO_DURATION
# AUDIO_FORMAT INFERENCE_STEPS SEED BATCH_SIZE MODEL VOCAL_LANGUAGE, and the LM switches THINKING, LM_FILL,
# LM_REWRITE_CAPTION (all off unless set; see api.sh): every request says what the 5 Hz LM may do.
# stdout: the task id, then one audio path per line. Exit: 0 ok, 2 usage, 3 server error, 4 task failed.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -le 1 ]] || die "$EXIT_USAGE" "usage: text2music.sh [BODY.json]"
body_file=${1:-$CURL_DIR/text2music.json}
require_file "$body_file" "request body"
jq -e 'type == "object"' "$body_file" >/dev/null 2>&1 || die "$EXIT_USAGE" "request body '$body_file' is not a JSON object: fix its syntax (jq . '$body_file' shows where)"
overrides=$(musical_json --env-lm-only)
# LM switches off by default, then the body file, then the environment.
body=$(jq -c --argjson d "$(lm_switches_json)" --argjson o "$overrides" '$d + . + $o' "$body_file")
SIDECAR_REQUEST=$body
submit_and_collect -H 'Content-Type: application/json' --data-binary "$body"
