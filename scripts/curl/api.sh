# shellcheck shell=bash
# Sourced by every script here: one place for the server address, auth, HTTP error handling
# and the request options the acekit CLI also sends. Plain bash + curl + jq.
#
#   ACEKIT_SERVER    server base URL, as for the acekit CLI (default http://localhost:8001);
#                    e.g. ACEKIT_SERVER=http://spark.local:8001 for a DGX Spark on the LAN.
#                    ACESTEP_URL is accepted as an older name for the same thing.
#   ACESTEP_API_KEY  sent as "Authorization: Bearer KEY" when set (the server's ACESTEP_API_KEY)
#   CONNECT_TIMEOUT_S=10    give up connecting after this long (a Spark that is off, a wrong address)
#   REQUEST_TIMEOUT_S=300   give up on one API request (not a download) after this long
#   RETRIES_429=4           retries when the server queue is full (HTTP 429), honouring Retry-After
#   WAIT_FOR_SERVER_S       before submitting, wait up to this long for the server to answer /health (one
#                           still loading its models, a gateway whose server is not up yet), as the CLI's
#                           --wait-for-server does; unset: a server that is down fails at once, nothing submitted
#
# Exit codes match the acekit CLI: 0 ok, 2 usage, 3 server error, 4 task failed/unknown/timeout.

ACEKIT_SERVER="${ACEKIT_SERVER:-${ACESTEP_URL:-http://localhost:8001}}"
ACEKIT_SERVER="${ACEKIT_SERVER%/}"
CURL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly EXIT_USAGE=2 EXIT_SERVER=3 EXIT_TASK=4
# Stem names upstream's instructions know (acekit.contract.TRACK_NAMES).
readonly TRACK_NAMES="woodwinds brass fx synth strings percussion keyboard guitar bass drums backing_vocals vocals"

# now_s: seconds since the epoch with a fraction; bash 5's EPOCHREALTIME spares a process on the hot path.
now_s() {
  if [[ -n ${EPOCHREALTIME:-} ]]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}

die() {
  local code=$1
  shift
  echo "error: $*" >&2
  exit "$code"
}

for _tool in curl jq; do
  command -v "$_tool" >/dev/null || die "$EXIT_USAGE" "$_tool is not installed: install it (e.g. apt-get install $_tool)"
done

# Options of every curl call; never empty, so "${CURL_OPTS[@]}" is safe under `set -u` in old bash (macOS 3.2).
CURL_OPTS=(-sS --connect-timeout "${CONNECT_TIMEOUT_S:-10}")
if [[ -n "${ACESTEP_API_KEY:-}" ]]; then
  CURL_OPTS+=(-H "Authorization: Bearer ${ACESTEP_API_KEY}")
fi

# Why the server refused us, and what to do about it.
_hint_for_status() {
  case $1 in
    400 | 422) echo "fix the request fields named above" ;;
    401 | 403) echo "set ACESTEP_API_KEY to the server's API key" ;;
    404) echo "check ACEKIT_SERVER points at an ACE-Step API server" ;;
    415) echo "the server did not accept the upload type: send wav, mp3 or flac" ;;
    429) echo "the server queue is still full after ${RETRIES_429:-4} retries: retry later, or raise RETRIES_429" ;;
    *) echo "see the server log" ;;
  esac
}

# api METHOD PATH [curl args...]: print the JSON body; exit 3 with the server's message on any error.
api() {
  local method=$1 path=$2
  shift 2
  local body status detail wait_s attempt=0 retries=${RETRIES_429:-4}
  body=$(mktemp)
  local rc
  while :; do
    rc=0
    status=$(curl "${CURL_OPTS[@]}" --max-time "${REQUEST_TIMEOUT_S:-300}" -o "$body" -D "$body.hdr" -w '%{http_code}' \
      -X "$method" "$@" "${ACEKIT_SERVER}${path}" 2>"$body.err") || rc=$?
    # Queue full (429): wait as the server asks (Retry-After) or back off 1, 2, 4 ... s (max 30), like the client.
    ((rc == 0 && status == 429 && attempt < retries)) || break
    wait_s=$(tr -d '\r' <"$body.hdr" | awk -F': *' 'tolower($1) == "retry-after" && $2 ~ /^[0-9]+$/ {print $2}' | tail -n 1)
    [[ -n $wait_s ]] || wait_s=$((1 << attempt))
    ((wait_s <= 30)) || wait_s=30
    attempt=$((attempt + 1))
    echo "server queue full (HTTP 429): retry $attempt/$retries in ${wait_s} s" >&2
    sleep "$wait_s"
  done
  rm -f "$body.hdr"
  if ((rc != 0)); then
    detail=$(tail -n 1 "$body.err")
    rm -f "$body" "$body.err"
    if ((rc == 28)) && [[ $detail == *"Operation timed out"* ]]; then  # connected, then no answer in time
      die "$EXIT_SERVER" "no answer from ${ACEKIT_SERVER} to $method $path within ${REQUEST_TIMEOUT_S:-300} s: the server is overloaded or stuck (raise REQUEST_TIMEOUT_S, or check its log)"
    fi
    die "$EXIT_SERVER" "cannot reach ACE-Step at ${ACEKIT_SERVER} (${detail#curl: (*) }): is it still starting? ACE-Step answers once its models are loaded; check ${ACEKIT_SERVER}/health, and behind the acekit gateway ${ACEKIT_SERVER}/gateway/health, or set WAIT_FOR_SERVER_S=SECONDS to wait for it. Otherwise start the server or set ACEKIT_SERVER"
  fi
  rm -f "$body.err"
  if ((status >= 400)); then
    detail=$(jq -r '(.detail // .error // empty) | if type == "string" then . else tojson end' "$body" 2>/dev/null || true)
    [[ -n $detail ]] || detail=$(head -c 300 "$body")
    rm -f "$body"
    die "$EXIT_SERVER" "HTTP $status from $method $path: ${detail:-no detail} ($(_hint_for_status "$status"))"
  fi
  # Upstream wraps answers in {data, code, error}; a non-200 code in the body is an error too.
  if ! jq -e '(.code // 200) == 200 and (.error == null)' "$body" >/dev/null 2>&1; then
    detail=$(jq -r '.error // "not a JSON answer"' "$body" 2>/dev/null || head -c 300 "$body")
    rm -f "$body"
    die "$EXIT_SERVER" "server error from $method $path: $detail"
  fi
  cat "$body"
  rm -f "$body"
}

# fetch URL_PATH DEST: download a served file (e.g. /v1/audio?path=...) to DEST.
fetch() {
  local path=$1 dest=$2 status
  if ! status=$(curl "${CURL_OPTS[@]}" -o "$dest" -w '%{http_code}' "${ACEKIT_SERVER}${path}" 2>"$dest.err"); then
    local why
    why=$(tail -n 1 "$dest.err")
    rm -f "$dest" "$dest.err"
    die "$EXIT_SERVER" "cannot reach ACE-Step at ${ACEKIT_SERVER} (${why#curl: (*) }): is it still starting? ACE-Step answers once its models are loaded; check ${ACEKIT_SERVER}/health, and behind the acekit gateway ${ACEKIT_SERVER}/gateway/health. Otherwise start the server or set ACEKIT_SERVER"
  fi
  rm -f "$dest.err"
  if ((status >= 400)); then
    local detail
    detail=$(jq -r '.detail // empty' "$dest" 2>/dev/null || true)
    rm -f "$dest"
    die "$EXIT_SERVER" "HTTP $status downloading $path: ${detail:-no detail} ($(_hint_for_status "$status"))"
  fi
}

require_file() {
  [[ -f $1 ]] || die "$EXIT_USAGE" "$2 '$1' does not exist: give the path of a wav, mp3 or flac file"
}

require_number() {
  [[ $1 =~ ^-?[0-9]+([.][0-9]+)?$ ]] || die "$EXIT_USAGE" "$2 must be a number of seconds, got '$1'"
}

require_track() {
  local t
  for t in $TRACK_NAMES; do
    [[ $1 == "$t" ]] && return 0
  done
  die "$EXIT_USAGE" "unknown track '$1': choose from ${TRACK_NAMES// /, }"
}

# The musical options every task takes, from the environment (the DAW sets BPM/KEY_SCALE/TIME_SIGNATURE):
#   PROMPT LYRICS BPM KEY_SCALE TIME_SIGNATURE AUDIO_DURATION AUDIO_FORMAT INFERENCE_STEPS
#   SEED BATCH_SIZE MODEL VOCAL_LANGUAGE
# Only the ones set are sent; the server's defaults apply to the rest. Unlike the CLI, the curl kit does
# not measure SRC: for lego and complete pass BPM, KEY_SCALE, TIME_SIGNATURE and AUDIO_DURATION, or a
# server with the 5 Hz LM loaded fills the missing ones itself (upstream always does; its LM never hears SRC).
_MUSICAL_VARS="PROMPT LYRICS BPM KEY_SCALE TIME_SIGNATURE AUDIO_DURATION AUDIO_FORMAT INFERENCE_STEPS SEED BATCH_SIZE MODEL VOCAL_LANGUAGE"

# The 5 Hz LM's switches, ALWAYS sent, all off unless set to 1/true (upstream's own defaults,
# use_cot_caption=true and use_cot_language=true, would let its LM rewrite the caption):
#   THINKING=1            the LM writes audio codes (thinking)
#   LM_FILL=1             the LM fills the metas left empty and detects the language (use_cot_metas, use_cot_language)
#   LM_REWRITE_CAPTION=1  the LM replaces the caption (use_cot_caption)
# Same switches and defaults as the CLI's --thinking, --lm-fill, --lm-rewrite-caption.
lm_switches_json() {
  jq -nc --arg t "${THINKING:-false}" --arg f "${LM_FILL:-false}" --arg c "${LM_REWRITE_CAPTION:-false}" '
    def on: . == "true" or . == "1";
    {thinking: ($t | on), use_cot_caption: ($c | on), use_cot_language: ($f | on), use_cot_metas: ($f | on)}'
}

_field_for() {
  # The API field name for an environment variable (prompt, key_scale, ...).
  tr '[:upper:]' '[:lower:]' <<<"$1"
}

_validate_musical_env() {
  _validate_server_wait
  if [[ -n ${BPM:-} ]]; then
    [[ $BPM =~ ^[0-9]+$ ]] && ((BPM >= 30 && BPM <= 300)) || die "$EXIT_USAGE" "BPM must be a whole number from 30 to 300, got '$BPM'"
  fi
  if [[ -n ${TIME_SIGNATURE:-} ]]; then
    case $TIME_SIGNATURE in
      2 | 2/4) TIME_SIGNATURE=2 ;; 3 | 3/4) TIME_SIGNATURE=3 ;; 4 | 4/4) TIME_SIGNATURE=4 ;; 6 | 6/8) TIME_SIGNATURE=6 ;;
      *) die "$EXIT_USAGE" "TIME_SIGNATURE must be one of 4/4, 3/4, 6/8, 2/4 (or 4, 3, 6, 2), got '$TIME_SIGNATURE'" ;;
    esac
  fi
  if [[ -n ${AUDIO_FORMAT:-} ]]; then
    # acekit.contract.AUDIO_FORMATS
    case $AUDIO_FORMAT in mp3 | wav | flac | opus | aac | wav32) ;; *) die "$EXIT_USAGE" "AUDIO_FORMAT must be one of mp3, wav, flac, opus, aac, wav32, got '$AUDIO_FORMAT'" ;; esac
  fi
  if [[ -n ${SEED:-} && ! ${SEED} =~ ^-?[0-9]+$ ]]; then
    die "$EXIT_USAGE" "SEED must be a whole number, got '$SEED'"
  fi
}

# musical_json [--env-lm-only]: the set options plus the LM switches as one JSON object (numbers and
# booleans typed as the API expects). --env-lm-only: only the LM switches whose variable is set (so a
# body file's own switches survive; text2music.sh puts lm_switches_json under the body instead).
musical_json() {
  _validate_musical_env
  local var obj='{}' lm
  lm=$(lm_switches_json)
  if [[ ${1:-} == --env-lm-only ]]; then
    [[ -n ${THINKING:-} ]] || lm=$(jq -c 'del(.thinking)' <<<"$lm")
    [[ -n ${LM_FILL:-} ]] || lm=$(jq -c 'del(.use_cot_language, .use_cot_metas)' <<<"$lm")
    [[ -n ${LM_REWRITE_CAPTION:-} ]] || lm=$(jq -c 'del(.use_cot_caption)' <<<"$lm")
  fi
  for var in $_MUSICAL_VARS; do
    [[ -n ${!var:-} ]] || continue
    obj=$(jq -c --arg k "$(_field_for "$var")" --arg v "${!var}" '. + {($k): $v}' <<<"$obj")
  done
  # Typed fields; a fixed seed also turns off the random seed, as the CLI does.
  jq -c '
    (if has("bpm") then .bpm |= tonumber else . end)
    | (if has("audio_duration") then .audio_duration |= tonumber else . end)
    | (if has("inference_steps") then .inference_steps |= tonumber else . end)
    | (if has("batch_size") then .batch_size |= tonumber else . end)
    | (if has("seed") then (.seed |= tonumber) | (if .seed >= 0 then . + {use_random_seed: false} else del(.seed) end) else . end)' <<<"$obj" \
    | jq -c --argjson lm "$lm" '. + $lm'

}

# form_args_from_json JSON: the request fields as multipart --form-string arguments, into the array FORM_ARGS
# (lists/objects/booleans JSON-encoded, as the acekit client sends them).
form_args_from_json() {
  FORM_ARGS=()
  local key value
  # One key at a time, so lyrics with newlines stay one field.
  for key in $(jq -r 'keys[]' <<<"$1"); do
    value=$(jq -r --arg k "$key" '.[$k] | if type == "string" then . else tojson end' <<<"$1")
    FORM_ARGS+=(--form-string "$key=$value")
  done
}

# submit_multipart REQUEST_JSON SRC [REF]: upload SRC (and REF) with the request fields, then collect.
submit_multipart() {
  local request=$1 src=$2 ref=${3:-}
  local uploads=(-F "src_audio=@$src")
  [[ -z $ref ]] || uploads+=(-F "reference_audio=@$ref")
  form_args_from_json "$request"
  # The sidecar records the file names that were uploaded next to the fields.
  SIDECAR_REQUEST=$(jq -c --arg s "$src" --arg r "$ref" '. + {src_audio: $s} + (if $r == "" then {} else {reference_audio: $r} end)' <<<"$request")
  submit_and_collect "${FORM_ARGS[@]}" "${uploads[@]}"
}

# _validate_server_wait: WAIT_FOR_SERVER_S, when set, is a positive number of seconds (a usage error
# before any request otherwise).
_validate_server_wait() {
  [[ -n ${WAIT_FOR_SERVER_S:-} ]] || return 0
  [[ $WAIT_FOR_SERVER_S =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v s="$WAIT_FOR_SERVER_S" 'BEGIN { exit !(s > 0) }' \
    || die "$EXIT_USAGE" "WAIT_FOR_SERVER_S must be a number of seconds above 0, got '$WAIT_FOR_SERVER_S'"
}

# wait_for_server: with WAIT_FOR_SERVER_S set, probe GET /health (idempotent, never creates a task) until
# the server answers, sleeping 0.25, 0.5, 1 ... 5 s between probes; then the caller submits once. Retried:
# no connection, no answer in 10 s, and 502/503 (a gateway whose server is still loading, or a server
# loading its models). Any other answer means the server is up: the submit reports it (a bad key, say).
wait_for_server() {
  [[ -n ${WAIT_FOR_SERVER_S:-} ]] || return 0
  local started status rc sleep_s=0.25 waited=0
  started=$(now_s)
  while :; do
    rc=0
    status=$(curl "${CURL_OPTS[@]}" --max-time 10 -o /dev/null -w '%{http_code}' "${ACEKIT_SERVER}/health" 2>/dev/null) || rc=$?
    if ((rc == 0)) && [[ $status != 502 && $status != 503 && $status != 000 ]]; then
      ((waited == 0)) || echo "server at ${ACEKIT_SERVER} is up after $(_seconds_since "$started") s" >&2
      return 0
    fi
    if awk -v e="$(_seconds_since "$started")" -v s="$sleep_s" -v limit="$WAIT_FOR_SERVER_S" 'BEGIN { exit !(e + s > limit) }'; then
      die "$EXIT_SERVER" "ACE-Step at ${ACEKIT_SERVER} did not answer /health within ${WAIT_FOR_SERVER_S} s (WAIT_FOR_SERVER_S); nothing was submitted. Check that the server is starting (its log, ${ACEKIT_SERVER}/health) or wait longer"
    fi
    ((waited == 1)) || echo "waiting up to ${WAIT_FOR_SERVER_S} s for the server at ${ACEKIT_SERVER} to answer /health ..." >&2
    waited=1
    sleep "$sleep_s"
    sleep_s=$(awk -v s="$sleep_s" 'BEGIN { s *= 2; print (s > 5 ? 5 : s) }')
  done
}

# submit_and_collect [curl args for /release_task...]: (wait for the server,) submit, print the task id, poll, download.
submit_and_collect() {
  local answer task_id started
  wait_for_server
  started=$(now_s)
  answer=$(api POST /release_task "$@")
  task_id=$(jq -r '.data.task_id // empty' <<<"$answer")
  [[ -n $task_id ]] || die "$EXIT_SERVER" "the server accepted the request but returned no task_id: $answer"
  echo "$task_id"
  local result
  result=$("$CURL_DIR/poll.sh" "$task_id")
  # download.sh writes these into each sidecar: the request sent and submit -> success seconds; it
  # takes the finished task's items from poll.sh instead of asking the server again.
  TASK_RESULT=$result SIDECAR_REQUEST=${SIDECAR_REQUEST:-} SIDECAR_WALL_S=$(_seconds_since "$started") \
    "$CURL_DIR/download.sh" "$task_id" "${OUT_DIR:-acestep-out}"
}

_seconds_since() {
  local now
  now=$(now_s)
  if [[ $1 == *.?????? && $now == *.?????? ]]; then  # EPOCHREALTIME on both ends: bash arithmetic
    local us=$((10#${now/./} - 10#${1/./}))
    printf '%d.%03d' $((us / 1000000)) $(((us % 1000000) / 1000))
  else
    awk -v s="$1" -v n="$now" 'BEGIN { printf "%.3f", n - s }'
  fi
}
