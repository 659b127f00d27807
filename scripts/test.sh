#!/usr/bin/env bash
# Quick start, command 2: set everything up (scripts/setup.sh) and run the test suite against a
# real ComfyUI ($COMFYUI_DIR, or the default install). Arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" >/dev/null
cd "$root"
exec "${VENV:-$root/.venv}/bin/python" -m pytest "$@"
