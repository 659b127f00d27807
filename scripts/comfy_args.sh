#!/usr/bin/env bash
# Print the ComfyUI main.py arguments that add model folders and load the project's node pack,
# one argument a line (entrypoint.sh appends them to ComfyUI's command line). Starts nothing.
#
# Model folders, the first that applies:
#   1. $EXTRA_MODEL_PATHS: one or more extra_model_paths.yaml files, separated by ':';
#   2. a RunPod network volume: when $RUNPOD_VOLUME_MODELS (default /runpod-volume/models) is a
#      directory, the repository's extra_model_paths.yaml (a copy with its base_path rewritten
#      when the directory is not the default one);
#   3. nothing more: ComfyUI's own models/ folder (where the image's baked models are).
# ComfyUI's own models/ folder is searched in every case, first.
# LoRA cache: the folder `ltx-worker loras cache-dir` prints (LORA_CACHE_DIR) is added as a loras
# folder, always.
# Node pack: the repository's custom_nodes/ (custom_nodes/ltx_worker_nodes) is added as a custom
# node folder unless $COMFYUI_DIR/custom_nodes/ltx_worker_nodes exists (the image links it there).
# Generated yaml files go to a fresh folder under ${TMPDIR:-/tmp}; none is written in the image's
# default case. Environment: COMFYUI_DIR (required), EXTRA_MODEL_PATHS, RUNPOD_VOLUME_MODELS,
# MODELS_FETCH_PROFILES and MODELS_FETCH_DIR (the folder is made when models are fetched into it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_volume=/runpod-volume/models
volume="${RUNPOD_VOLUME_MODELS:-$default_volume}"
volume="${volume%/}"
log() { printf '[comfy_args] %s\n' "$*" >&2; }
: "${COMFYUI_DIR:?COMFYUI_DIR must name the ComfyUI tree}"

gen_dir=""
gen_file() {  # gen_file NAME: sets $config to NAME in this run's private folder (made once)
  if [ -z "$gen_dir" ]; then gen_dir="$(mktemp -d "${TMPDIR:-/tmp}/ltx-worker-comfy.XXXXXX")"; fi
  config="$gen_dir/$1"
}
yaml_quote() { local s="${1//\\/\\\\}"; printf '"%s"' "${s//\"/\\\"}"; }

# Models fetched at start (MODELS_FETCH_PROFILES, ltx_worker/models/prefetch.py) land in the
# volume's models folder after ComfyUI has started: make the folder now, so that ComfyUI searches
# it from this first start on.
if [ -n "${MODELS_FETCH_PROFILES:-}" ] && [ "${MODELS_FETCH_DIR:-$default_volume}" = "$volume" ] \
    && [ ! -d "$volume" ] && [ -d "$(dirname "$volume")" ]; then
  mkdir -p "$volume" 2>/dev/null || log "warning: cannot create $volume for MODELS_FETCH_PROFILES"
fi

# Model folders.
if [ -n "${EXTRA_MODEL_PATHS:-}" ]; then
  IFS=: read -r -a configs <<<"$EXTRA_MODEL_PATHS"
  for config in "${configs[@]}"; do
    [ -n "$config" ] || continue
    [ -f "$config" ] || log "warning: EXTRA_MODEL_PATHS names $config, which is not a file"
    printf '%s\n' --extra-model-paths-config "$config"
  done
elif [ -d "$volume" ]; then
  if [ ! -r "$volume" ] || [ ! -x "$volume" ]; then
    log "warning: $volume is not readable by uid $(id -u); its models will not be found" \
        "(make it readable: chmod -R a+rX, or run the container as root: docs/deploy.md)"
  fi
  if [ "$volume" = "$default_volume" ]; then
    config="$root/extra_model_paths.yaml"
  else
    gen_file volume_model_paths.yaml
    quoted="$(yaml_quote "$volume")"
    while IFS= read -r line; do
      if [[ "$line" =~ ^([[:space:]]*base_path:) ]]; then line="${BASH_REMATCH[1]} $quoted"; fi
      printf '%s\n' "$line"
    done <"$root/extra_model_paths.yaml" >"$config"
  fi
  log "network volume models in $volume ($config)"
  printf '%s\n' --extra-model-paths-config "$config"
fi

# The LoRA cache (LORA_CACHE_DIR, default loras-cache beside MODELS_FETCH_DIR on a volume, else
# ~/.cache/ltx-worker/loras; ltx_worker/loras/cache.py): one more loras folder, so that a job's
# LoRA fetched by URL is a lora_name ComfyUI knows. The worker computes the folder (one rule).
if lora_dir="$(cd "$root" && "${PYTHON:-python3}" -m ltx_worker.cli loras cache-dir 2>/dev/null)" && [ -n "$lora_dir" ]; then
  mkdir -p "$lora_dir" 2>/dev/null || log "warning: cannot create the LoRA cache $lora_dir"
  gen_file lora_cache_paths.yaml
  printf 'ltx_worker_lora_cache:\n  loras: %s\n' "$(yaml_quote "$lora_dir")" >"$config"
  printf '%s\n' --extra-model-paths-config "$config"
else
  log "warning: the LoRA cache's folder is unknown (ltx-worker loras cache-dir failed); jobs' LoRA URLs are refused"
fi

# The project's node pack.
if [ ! -e "$COMFYUI_DIR/custom_nodes/ltx_worker_nodes" ] && [ -d "$root/custom_nodes" ]; then
  gen_file node_pack_paths.yaml
  printf 'ltx_worker_node_pack:\n  custom_nodes: %s\n' "$(yaml_quote "$root/custom_nodes")" >"$config"
  printf '%s\n' --extra-model-paths-config "$config"
fi
