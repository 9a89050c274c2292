#!/usr/bin/env bash
# poll.sh TASK_ID: wait until the task ends; progress on stderr, decoded result on stdout.
# Through an acekit gateway it long-polls the gateway's wait endpoint (GET /v1/wait/TASK_ID), which
# answers the moment the task ends; against plain ACE-Step it polls /query_result adaptively: every
# POLL_MIN_S right after submitting and around the finish expected from /v1/stats' avg_job_seconds
# and the task's progress, backing off in between, never more than POLL_MAX_S apart
# (acekit.polling.PollSchedule, the same rule as the Python client). It finds the wait endpoint by
# trying it (404 means plain upstream); the gateway's /v1/capabilities lists it under
# .data.completion.wait (paths, timeout_s bounds, event names) for clients that look first.
#   POLL_S                poll /query_result at this fixed interval instead (no gateway wait, no adaptation)
#   POLL_MIN_S=0.05 POLL_MAX_S=2   bounds of the adaptive interval
#   WAIT_HOLD_S=2         longest single wait on the gateway (progress lines come at least this often)
#   UNKNOWN_GRACE_S=10    how long "status 0, result []" may last before the id counts as unknown
#                         (the server keeps tasks in memory: a restart forgets them, and then
#                         upstream answers "queued" forever)
#   TIMEOUT_S=1800        give up after this many seconds
# Exit: 0 succeeded, 3 server error, 4 failed / unknown task / timed out.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -eq 1 && -n $1 ]] || die "$EXIT_USAGE" "usage: poll.sh TASK_ID (the id text2music.sh or /release_task printed)"
task_id=$1
fixed_s=${POLL_S:-}
min_s=${POLL_MIN_S:-0.05}
max_s=${POLL_MAX_S:-2}
hold_s=${WAIT_HOLD_S:-2}
wait_max_s=$(awk -v h="$hold_s" 'BEGIN { print h + 30 }')  # curl's limit for one long-poll
grace_s=${UNKNOWN_GRACE_S:-10}
timeout_s=${TIMEOUT_S:-1800}
query=$(jq -nc --arg id "$task_id" '{task_id_list: [$id]}')
start=$(now_s)
last_line=""
unknown_since=""  # when the answers started saying "no such task" (the grace period runs from there)
running_since=""  # when the task was first seen running (progress > 0 or a stage other than queued)
# "wait": the gateway's wait endpoint answers; "poll": plain upstream (or POLL_S given); "": not known yet
mode=""
[[ -z $fixed_s ]] || mode=poll
avg_job_s=""
polls=0

now() { now_s; }
elapsed() { awk -v s="${1:-$start}" -v n="$(now)" 'BEGIN { printf "%.3f", n - s }'; }
# elapsed_tenths: seconds since the start, one decimal; plain bash arithmetic when EPOCHREALTIME exists.
elapsed_tenths() {
  if [[ -n ${EPOCHREALTIME:-} && $start == *.?????? ]]; then
    local now_us=${EPOCHREALTIME/[.,]/} start_us=${start/./}
    local tenths=$(((10#$now_us - 10#$start_us) / 100000))
    echo "$((tenths / 10)).$((tenths % 10))"
  else
    elapsed | awk '{ printf "%.1f", $1 }'
  fi
}
# longer_than LIMIT_S [SINCE]: has more than LIMIT_S passed since SINCE (default: the start)?
longer_than() { awk -v e="$(elapsed "${2:-$start}")" -v l="$1" 'BEGIN { exit !(e > l) }'; }

# wait_or_poll: one answer about the task into $answer (long-poll on a gateway, else /query_result).
wait_or_poll() {
  local out code
  if [[ $mode != poll ]]; then
    # Body and status in one capture (no temporary file): every process here is latency.
    out=$(curl "${CURL_OPTS[@]}" --max-time "$wait_max_s" -w $'\n%{http_code}' \
      "${ACEKIT_SERVER}/v1/wait/${task_id}?timeout_s=${hold_s}" 2>/dev/null) || out=$'\n000'
    code=${out##*$'\n'}
    if [[ $code == 200 ]]; then
      answer=${out%$'\n'*}
      [[ $mode == wait ]] || echo "waiting on the gateway's /v1/wait (pushed the moment the task ends)" >&2
      mode=wait
      return
    fi
    if [[ $code == 404 || $code == 405 ]]; then
      mode=poll  # plain upstream: no wait endpoint
      echo "no gateway wait endpoint: polling /query_result adaptively" >&2
    else
      answer=$(api GET "/v1/wait/${task_id}?timeout_s=0")  # exits with the server's own message
      return
    fi
  fi
  answer=$(api POST /query_result -H 'Content-Type: application/json' -d "$query")
}

# next_sleep PROGRESS: seconds until the next /query_result (acekit.polling.PollSchedule's rule).
next_sleep() {
  if [[ -n $fixed_s ]]; then
    echo "$fixed_s"
    return
  fi
  if [[ -z $avg_job_s ]]; then
    avg_job_s=$(api GET /v1/stats 2>/dev/null | jq -r '.data.avg_job_seconds // 0' 2>/dev/null) || avg_job_s=0
    [[ -n $avg_job_s && $avg_job_s != null ]] || avg_job_s=0
  fi
  awk -v e="$(elapsed)" -v r="$([[ -n $running_since ]] && elapsed "$running_since" || echo -1)" \
    -v p="${1:-0}" -v job="$avg_job_s" -v n="$polls" -v lo="$min_s" -v hi="$max_s" 'BEGIN {
      rem = "none"
      if (p >= 0.05 && p < 1 && r > 0) rem = r * (1 - p) / p
      else if (job > 0) rem = (r >= 0 ? job - r : job - e)
      if (e < 1.0) w = lo
      else if (rem == "none") { w = lo; for (i = 0; i < n; i++) w *= 1.5 }
      else if (rem > 0) w = 0.5 * rem
      else w = lo + 0.25 * -rem
      if (w < lo) w = lo
      if (w > hi) w = hi
      printf "%.3f", w
    }'
}

while true; do
  wait_or_poll
  polls=$((polls + 1))
  # One jq for the item's status and decoded result (`result` is a JSON string holding a list of
  # items; an already-decoded list is tolerated): every process spawned here is latency.
  { read -r status; read -r count; read -r result; read -r item; } < <(jq -c --arg id "$task_id" '
    ([.data[]? | select(.task_id == $id)][0] // .data[0] // {}) as $it
    | ($it.result // "[]" | if type == "string" then (try fromjson catch []) else . end
       | if type == "array" then . else [.] end) as $res
    | ($it.status // 0), ($res | length), $res, $it' <<<"$answer")
  case $status in
    1)
      echo "$result"
      echo "succeeded after $(elapsed_tenths) s: $count file(s)" >&2
      exit 0
      ;;
    2)
      why=$(jq -r '[.[]? | .error? // empty] | first // empty' <<<"$result")
      [[ -n $why ]] || why=$(jq -r '.progress_text // empty' <<<"$item")
      die "$EXIT_TASK" "task $task_id failed: ${why:-no reason given} (check the source audio and request; see the server log)"
      ;;
  esac
  if [[ $count -eq 0 ]]; then
    [[ -n $unknown_since ]] || unknown_since=$(now)
    if longer_than "$grace_s" "$unknown_since"; then
      die "$EXIT_TASK" "task $task_id is unknown to the server at $ACEKIT_SERVER (it answered 'queued' with no result for ${grace_s} s; was the server restarted?): submit the task again"
    fi
    line="waiting for $task_id to appear"
  else
    unknown_since=""
    line=$(jq -r '.[0] | "\(.stage // "queued") \(((.progress // 0) * 100) | floor)%"' <<<"$result")
    progress=$(jq -r '.[0].progress // 0' <<<"$result")
    if [[ -z $running_since ]] && jq -e '.[0] | (.progress // 0) > 0 or ((.stage // "queued") | ascii_downcase | IN("queued", "pending", "waiting", "submitted") | not)' <<<"$result" >/dev/null; then
      running_since=$(now)
    fi
  fi
  if [[ $line != "$last_line" ]]; then
    echo "[$(elapsed | awk '{ printf "%.1f", $1 }') s] $line" >&2
    last_line=$line
  fi
  if longer_than "$timeout_s"; then
    die "$EXIT_TASK" "task $task_id did not finish within ${timeout_s} s: raise TIMEOUT_S or check the server"
  fi
  [[ $mode == wait ]] || sleep "$(next_sleep "${progress:-0}")"
done
