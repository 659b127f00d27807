#!/usr/bin/env bash
# Worker entry point (the Docker image's CMD; also used locally by scripts/demo.sh).
#  1. make sure ComfyUI and its requirements are installed (scripts/install_comfyui.sh, a no-op
#     when already done);
#  2. start ComfyUI on 127.0.0.1:$COMFY_PORT (with --cpu when torch sees no GPU) under a
#     supervisor that restarts it when it exits;
#  3. start the RunPod handler (python handler.py "$@"), which waits for ComfyUI to answer.
# Arguments go to handler.py: none for RunPod's worker loop, --rp_serve_api for the local API,
# --test_input '<json>' for one local job. ComfyUI is stopped when the handler exits.
# Environment: PYTHON, COMFYUI_DIR, COMFY_PORT (8188), COMFY_EXTRA_ARGS (extra main.py flags),
# EXTRA_MODEL_PATHS (extra_model_paths.yaml files, ':'-separated), RUNPOD_VOLUME_MODELS (a network
# volume's models folder, default /runpod-volume/models), COMFY_LOG (ComfyUI's log file).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$root/.venv/bin/python" ]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
export PYTHON

COMFYUI_DIR="$("$root/scripts/install_comfyui.sh" | tail -n 1)"
export COMFYUI_DIR
COMFY_PORT="${COMFY_PORT:-8188}"
export COMFY_PORT

args=(main.py --listen 127.0.0.1 --port "$COMFY_PORT" --disable-auto-launch)
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "[entrypoint] no GPU visible to torch: starting ComfyUI with --cpu" >&2
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
"$PYTHON" -m ltx_worker.comfy.supervisor --cwd "$COMFYUI_DIR" -- "$PYTHON" "${args[@]}" >>"$comfy_log" 2>&1 &
comfy_pid=$!
stop_comfy() { kill "$comfy_pid" 2>/dev/null || true; wait "$comfy_pid" 2>/dev/null || true; }
trap stop_comfy EXIT
trap 'exit 143' TERM INT

"$PYTHON" "$root/handler.py" "$@"
