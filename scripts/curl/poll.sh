#!/usr/bin/env bash
# poll.sh TASK_ID: poll /query_result until the task ends; progress on stderr, decoded result on stdout.
#   POLL_S=1.5            seconds between polls
#   UNKNOWN_GRACE_S=10    how long "status 0, result []" may last before the id counts as unknown
#                         (the server keeps tasks in memory: a restart forgets them, and then
#                         upstream answers "queued" forever)
#   TIMEOUT_S=1800        give up after this many seconds
# Exit: 0 succeeded, 3 server error, 4 failed / unknown task / timed out.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -eq 1 && -n $1 ]] || die "$EXIT_USAGE" "usage: poll.sh TASK_ID (the id text2music.sh or /release_task printed)"
task_id=$1
poll_s=${POLL_S:-1.5}
grace_s=${UNKNOWN_GRACE_S:-10}
timeout_s=${TIMEOUT_S:-1800}
query=$(jq -nc --arg id "$task_id" '{task_id_list: [$id]}')
start=$(date +%s.%N)
last_line=""
unknown_since=""  # when the answers started saying "no such task" (the grace period runs from there)

now() { date +%s.%N; }
elapsed() { awk -v s="${1:-$start}" -v n="$(now)" 'BEGIN { printf "%.1f", n - s }'; }
# longer_than LIMIT_S [SINCE]: has more than LIMIT_S passed since SINCE (default: the start)?
longer_than() { awk -v e="$(elapsed "${2:-$start}")" -v l="$1" 'BEGIN { exit !(e > l) }'; }

while true; do
  answer=$(api POST /query_result -H 'Content-Type: application/json' -d "$query")
  item=$(jq -c --arg id "$task_id" '[.data[]? | select(.task_id == $id)][0] // .data[0] // {}' <<<"$answer")
  status=$(jq -r '.status // 0' <<<"$item")
  # `result` is a JSON string holding a list of items; decode it (tolerate an already-decoded list).
  result=$(jq -c '.result // "[]" | if type == "string" then (try fromjson catch []) else . end | if type == "array" then . else [.] end' <<<"$item")
  case $status in
    1)
      echo "succeeded after $(elapsed) s: $(jq length <<<"$result") file(s)" >&2
      echo "$result"
      exit 0
      ;;
    2)
      why=$(jq -r '[.[]? | .error? // empty] | first // empty' <<<"$result")
      [[ -n $why ]] || why=$(jq -r '.progress_text // empty' <<<"$item")
      die "$EXIT_TASK" "task $task_id failed: ${why:-no reason given} (check the source audio and request; see the server log)"
      ;;
  esac
  if [[ $(jq length <<<"$result") -eq 0 ]]; then
    [[ -n $unknown_since ]] || unknown_since=$(now)
    if longer_than "$grace_s" "$unknown_since"; then
      die "$EXIT_TASK" "task $task_id is unknown to the server at $ACEKIT_SERVER (it answered 'queued' with no result for ${grace_s} s; was the server restarted?): submit the task again"
    fi
    line="waiting for $task_id to appear"
  else
    unknown_since=""
    line=$(jq -r '.[0] | "\(.stage // "queued") \(((.progress // 0) * 100) | floor)%"' <<<"$result")
  fi
  if [[ $line != "$last_line" ]]; then
    echo "[$(elapsed) s] $line" >&2
    last_line=$line
  fi
  if longer_than "$timeout_s"; then
    die "$EXIT_TASK" "task $task_id did not finish within ${timeout_s} s: raise TIMEOUT_S or check the server"
  fi
  sleep "$poll_s"
done
