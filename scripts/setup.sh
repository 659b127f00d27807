#!/usr/bin/env bash
# Prepare a machine to run the worker and its tests: a virtual environment (.venv, or $VENV),
# the worker package with its test extras, and ComfyUI with its requirements
# (scripts/install_comfyui.sh). Idempotent: a second run only checks stamps.
# Prints the ComfyUI directory on its last line of stdout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$root/.venv}"
log() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
key="$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -f "$venv/.ltx-worker-project-$key" ]; then
  log "installing the worker package"
  "$py" -m pip install --quiet --upgrade pip >&2
  "$py" -m pip install --quiet -e "${root}[test,bench]" >&2
  rm -f "$venv"/.ltx-worker-project-*
  touch "$venv/.ltx-worker-project-$key"
fi
PYTHON="$py" "$root/scripts/install_comfyui.sh"
