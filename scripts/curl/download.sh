#!/usr/bin/env bash
# download.sh TASK_ID [OUT_DIR]: fetch every audio file of a finished task into OUT_DIR (default ./acestep-out),
# each with a JSON sidecar (same stem) holding the task id and the item the server returned (metas, seed, ...).
# TASK_RESULT (optional): the decoded result list poll.sh printed for this task; skips asking the server again.
# Prints the audio paths on stdout. Exit: 0 ok, 3 server error, 4 task not (yet) succeeded.
set -euo pipefail
source "$(dirname "$0")/api.sh"

[[ $# -ge 1 && $# -le 2 && -n $1 ]] || die "$EXIT_USAGE" "usage: download.sh TASK_ID [OUT_DIR]"
task_id=$1
out_dir=${2:-acestep-out}
if [[ -n ${TASK_RESULT:-} ]]; then
  result=$TASK_RESULT  # what poll.sh printed for this finished task (text2music.sh & co. pass it on)
else
  answer=$(api POST /query_result -H 'Content-Type: application/json' -d "$(jq -nc --arg id "$task_id" '{task_id_list: [$id]}')")
  item=$(jq -c --arg id "$task_id" '[.data[]? | select(.task_id == $id)][0] // .data[0] // {}' <<<"$answer")
  status=$(jq -r '.status // 0' <<<"$item")
  case $status in
    1) ;;
    2) die "$EXIT_TASK" "task $task_id failed: nothing to download (poll.sh $task_id says why)" ;;
    *) die "$EXIT_TASK" "task $task_id has not succeeded yet (or is unknown): run poll.sh $task_id first" ;;
  esac
  result=$(jq -c '.result // "[]" | if type == "string" then (try fromjson catch []) else . end' <<<"$item")
fi
files=()
while IFS= read -r line; do files+=("$line"); done < <(jq -r '.[] | .file // ""' <<<"$result")
count=${#files[@]}
((count > 0)) || die "$EXIT_TASK" "task $task_id succeeded but listed no files"
mkdir -p "$out_dir"

for ((i = 0; i < count; i++)); do
  file=${files[$i]}
  [[ -n $file ]] || die "$EXIT_SERVER" "item $i of task $task_id has no file field"
  # Upstream gives "/v1/audio?path=..."; older stores give a bare server path: serve it through /v1/audio.
  case $file in
    http://* | https://*) path=${file#"${ACEKIT_SERVER}"} ;;
    /v1/*) path=$file ;;
    *) path="/v1/audio?path=$(jq -rn --arg p "$file" '$p | @uri')" ;;
  esac
  # Keep the server's file name (as the acekit client does); fall back to TASKID_i.EXT.
  encoded=""
  re='[?&]path=([^&#]*)'
  [[ $path =~ $re ]] && encoded=${BASH_REMATCH[1]}
  printf -v decoded '%b' "${encoded//%/\\x}"
  name=${decoded##*/}
  if ! [[ $name =~ ^[A-Za-z0-9._-]+[.](mp3|wav|flac|ogg|opus|aac)$ ]]; then
    ext=$(sed -nE 's/.*[.](mp3|wav|flac|ogg|opus|aac)([&#].*)?$/\1/p' <<<"$path")
    name="${task_id}_$i.${ext:-mp3}"
  fi
  target="$out_dir/$name"
  if [[ $path == http* ]]; then
    curl "${CURL_OPTS[@]}" -f -o "$target" "$path" || die "$EXIT_SERVER" "cannot download $path"
  else
    fetch "$path" "$target"
  fi
  # Sidecar: same stem, .json. The request and timings are known when text2music.sh & co. call us.
  entry=$(jq -c --argjson i "$i" '.[$i]' <<<"$result")
  jq --arg id "$task_id" --arg req "${SIDECAR_REQUEST:-}" --arg wall "${SIDECAR_WALL_S:-}" \
    '{task_id: $id, request: (if $req == "" then null else ($req | fromjson) end), metas: (.metas // {}), item: .,
      timings: (if $wall == "" then null else {wall_s: ($wall | tonumber)} end)}' <<<"$entry" >"${target%.*}.json"
  echo "$target"
done
