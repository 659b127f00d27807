#!/usr/bin/env bash
# Quick start, command 1: set everything up (scripts/setup.sh) and run one real i2v job
# (examples/lighthouse.jpg and a prompt) through entrypoint.sh, ComfyUI and the handler.
# Prints where the MP4 is. Arguments go to `python -m ltx_worker.demo` (--image, --prompt, ...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" >/dev/null
exec "${VENV:-$root/.venv}/bin/python" -m ltx_worker.demo "$@"
