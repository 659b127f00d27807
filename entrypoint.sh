#!/usr/bin/env bash
# Worker entry point (the Docker image's CMD; also used locally by scripts/quickstart.sh).
#  1. make sure ComfyUI and its requirements are installed (scripts/install_comfyui.sh, a no-op
#     when already done);
#  2. start ComfyUI on 127.0.0.1:$COMFY_PORT under a supervisor that restarts it when it exits:
#     on the GPU; with --cpu when torch sees none, except on RunPod, where a worker without a
#     usable GPU refuses to start (exit 3; see "GPU" below);
#  3. start the RunPod handler (python handler.py "$@"), which waits for ComfyUI to answer.
# Arguments go to handler.py: none for RunPod's worker loop, --rp_serve_api for the local API,
# --test_input '<json>' for one local job. ComfyUI is stopped when the handler exits.
# Stopping: SIGTERM (RunPod scaling the worker down) or SIGINT is passed on to the handler at once
# (it interrupts a running job in ComfyUI, reports it and exits; SIGKILL if it is still there 10 s
# later), then the supervisor stops ComfyUI. Exit status: the handler's, else 143 (SIGTERM) or
# 130 (SIGINT).
# Environment: PYTHON, COMFYUI_DIR, COMFY_PORT (8188), COMFY_EXTRA_ARGS (extra main.py flags),
# EXTRA_MODEL_PATHS (extra_model_paths.yaml files, ':'-separated), RUNPOD_VOLUME_MODELS (a network
# volume's models folder, default /runpod-volume/models), COMFY_LOG (ComfyUI's log file),
# COMFY_CPU (1: run ComfyUI on the CPU on purpose, also on RunPod), COMFY_ENV_ALLOW (variables
# ComfyUI gets beside its allowlist).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

# --- Stopping -------------------------------------------------------------------------------------
# The handler and the supervisor run in the background and this script waits for them with
# `wait`, so a trapped signal is acted on at once (bash runs a trap only after a foreground child
# ends). The traps are set first: as a container's PID 1, bash would ignore an untrapped SIGTERM.
handler_pid="" comfy_pid=""
# shellcheck disable=SC2329  # the functions below run from the traps
stop_pid() {  # stop_pid PID SECONDS: SIGTERM, then SIGKILL when PID is still there SECONDS later
  local pid="$1" ticks=$(($2 * 10))
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ "$ticks" -gt 0 ]; do sleep 0.1; ticks=$((ticks - 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2329
stop_all() { stop_pid "$handler_pid" 10; stop_pid "$comfy_pid" 15; }  # the handler first: it talks to ComfyUI
# shellcheck disable=SC2329
on_signal() {  # on_signal STATUS
  trap '' TERM INT
  echo "[entrypoint] stopping (signal): the handler, then ComfyUI" >&2
  exit "$1"  # the EXIT trap stops them
}
trap stop_all EXIT
trap 'on_signal 143' TERM
trap 'on_signal 130' INT

if [ -z "${PYTHON:-}" ]; then
  if [ -x "$root/.venv/bin/python" ]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHON

COMFYUI_DIR="$("$root/scripts/install_comfyui.sh" | tail -n 1)"
export COMFYUI_DIR
COMFY_PORT="${COMFY_PORT:-8188}"
export COMFY_PORT

args=(main.py --listen 127.0.0.1 --port "$COMFY_PORT" --disable-auto-launch)
# --- GPU ----------------------------------------------------------------------------------------
# ComfyUI runs on the GPU. When torch sees none, ComfyUI needs --cpu, which is for local runs and
# tests: on RunPod (RUNPOD_POD_ID or RUNPOD_WEBHOOK_GET_JOB set) such a worker refuses to start,
# since it would take jobs that each run on the CPU until their deadline. COMFY_CPU=1 runs
# ComfyUI on the CPU on purpose (anywhere, GPU or not).
gpu_check='import sys, warnings
import torch
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    if torch.cuda.is_available():
        sys.exit(0)
why = "; ".join(str(w.message).strip() for w in seen) or "torch.cuda.is_available() is False"
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}): {why}")
sys.exit(1)'
if [ "${COMFY_CPU:-0}" = 1 ]; then
  echo "[entrypoint] COMFY_CPU=1: starting ComfyUI with --cpu" >&2
  args+=(--cpu)
elif ! gpu_problem="$("$PYTHON" -c "$gpu_check" 2>/dev/null)"; then
  gpu_problem="${gpu_problem:-torch cannot be imported}"
  if [ -n "${RUNPOD_POD_ID:-}" ] || [ -n "${RUNPOD_WEBHOOK_GET_JOB:-}" ]; then
    echo "[entrypoint] error: this RunPod worker has no usable GPU ($gpu_problem). Refusing to" \
         "start: every job would run on the CPU until its deadline. Check the endpoint's GPU type" \
         "and the machine's NVIDIA driver (nvidia-smi); set COMFY_CPU=1 to run on the CPU on purpose." >&2
    exit 3
  fi
  echo "[entrypoint] no GPU visible to torch ($gpu_problem): starting ComfyUI with --cpu" >&2
  args+=(--cpu)
fi
# --- Model folders (RunPod network volume) and the project's node pack ---------------------------
# scripts/comfy_args.sh prints ComfyUI's --extra-model-paths-config arguments, one a line:
# $EXTRA_MODEL_PATHS (':'-separated yaml files) when set, else extra_model_paths.yaml when a
# network volume holds models ($RUNPOD_VOLUME_MODELS, default /runpod-volume/models); and the
# repository's custom_nodes/ when ComfyUI's own custom_nodes/ has no ltx_worker_nodes.
comfy_paths="$("$root/scripts/comfy_args.sh")"
if [ -n "$comfy_paths" ]; then
  mapfile -t comfy_path_args <<<"$comfy_paths"
  args+=("${comfy_path_args[@]}")
fi
# --- end of model folders and node pack ----------------------------------------------------------
if [ -n "${COMFY_EXTRA_ARGS:-}" ]; then
  read -r -a extra <<<"$COMFY_EXTRA_ARGS"
  args+=("${extra[@]}")
fi

comfy_log="${COMFY_LOG:-/dev/stderr}"
# ComfyUI runs under a supervisor that starts it again whenever it exits (ltx_worker/comfy/supervisor.py);
# a job running when it dies fails fast with COMFY_UNAVAILABLE and the next one waits for it.
# ComfyUI gets an allowlisted environment (ltx_worker/comfy/process.py ENV_NAMES/ENV_PREFIXES) plus
# the names in COMFY_ENV_ALLOW (comma-separated): the worker's secrets never reach it or a node pack.
"$PYTHON" -m ltx_worker.comfy.supervisor --cwd "$COMFYUI_DIR" --env-allow "${COMFY_ENV_ALLOW:-}" \
  -- "$PYTHON" "${args[@]}" >>"$comfy_log" 2>&1 &
comfy_pid=$!

"$PYTHON" "$root/handler.py" "$@" &
handler_pid=$!
status=0
wait "$handler_pid" || status=$?
handler_pid=""
exit "$status"
