#!/usr/bin/env bash
# Container start: smoke test, then upstream's API (direct python entry, so stack traces show,
# through acekit's dtype launcher, which applies ACESTEP_DTYPE where upstream's ref ignores it),
# then the acekit gateway in front of it. Either process exiting stops the container, so the
# orchestrator (compose restart policy) sees the failure instead of a half-alive container.
set -euo pipefail

: "${ACESTEP_API_HOST:=0.0.0.0}"
: "${ACESTEP_API_PORT:=8001}"
: "${ACEKIT_GATEWAY:=1}"          # 0: run upstream's API alone
: "${ACEKIT_GATEWAY_PORT:=8000}"
: "${ACEKIT_SMOKE_TEST:=1}"       # 1: run, refuse to start on failure; warn: run, start anyway; 0: skip
export ACESTEP_API_HOST ACESTEP_API_PORT

# Model weights and caches live on the /models volume, downloaded by upstream at first start.
mkdir -p "${ACESTEP_CHECKPOINTS_DIR}" "${HF_HOME}" "${ACESTEP_TMPDIR}" "${TRITON_CACHE_DIR}" "${ACESTEP_OUTPUT_DIR:-/models/outputs}"
if [ ! -w "${ACESTEP_CHECKPOINTS_DIR}" ]; then
  echo "entrypoint: ${ACESTEP_CHECKPOINTS_DIR} is not writable by uid $(id -u): chown the models volume to $(id -u):$(id -g)" >&2
  exit 1
fi

# FlashAttention only when the image has it (opt-in build arg on Spark) and nobody chose otherwise.
if [ -z "${ACESTEP_USE_FLASH_ATTENTION:-}" ]; then
  if /opt/venv/bin/python -c "import flash_attn" 2>/dev/null; then
    export ACESTEP_USE_FLASH_ATTENTION=true
  else
    export ACESTEP_USE_FLASH_ATTENTION=false
  fi
fi
# The dtype ACE-Step will actually run: who applies ACESTEP_DTYPE at this ref (upstream itself, or
# acekit's launcher), or why it cannot be applied (then the container refuses to start).
launcher=/opt/acekit-docker/dtype_launcher.py
if ! dtype_plan="$(/opt/venv/bin/python "${launcher}" --upstream-src /opt/acestep --plan 2>&1)"; then
  echo "entrypoint: ${dtype_plan}" >&2
  echo "entrypoint: not starting: ACESTEP_DTYPE cannot be applied at this upstream ref (docs/bringup.md, dtype on T4)" >&2
  exit 1
fi
echo "entrypoint: platform=${ACEKIT_PLATFORM} flash_attention=${ACESTEP_USE_FLASH_ATTENTION} checkpoints=${ACESTEP_CHECKPOINTS_DIR}"
echo "entrypoint: ${dtype_plan#\[acekit dtype_launcher\] }"

case "${ACEKIT_SMOKE_TEST}" in
  0) echo "entrypoint: smoke test skipped (ACEKIT_SMOKE_TEST=0)" ;;
  warn) /opt/venv/bin/python /opt/acekit-docker/smoke_test.py || echo "entrypoint: smoke test FAILED, starting anyway (ACEKIT_SMOKE_TEST=warn)" >&2 ;;
  *)
    if ! /opt/venv/bin/python /opt/acekit-docker/smoke_test.py; then
      echo "entrypoint: smoke test FAILED: not starting. See docs/bringup.md (troubleshooting); ACEKIT_SMOKE_TEST=warn starts anyway." >&2
      exit 1
    fi
    ;;
esac

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap stop TERM INT

cd /opt/acestep
/opt/venv/bin/python "${launcher}" --upstream-src /opt/acestep &
pids+=("$!")

if [ "${ACEKIT_GATEWAY}" = "1" ]; then
  /opt/acekit/bin/acekit gateway --upstream "http://127.0.0.1:${ACESTEP_API_PORT}" --host 0.0.0.0 --port "${ACEKIT_GATEWAY_PORT}" &
  pids+=("$!")
fi

# First child to exit decides the container's exit status.
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "entrypoint: a server exited with status ${status}; stopping the rest" >&2
stop
wait || true
exit "${status}"
