#!/usr/bin/env bash
# The GPU cost benchmark on a lent GPU machine, in one call, with no network (docs/benchmarks-gpu.md).
#
# Run from a checkout whose build/gpu-carry was made by `python -m bench.gpu_cost.carry` (for the
# machine's Python): checks and unpacks the pinned ComfyUI archive, installs the carried wheels into
# a temporary site folder (PYTHONPATH, ahead of the image's packages; the stand-ins of
# bench/gpu_cost/stubs after them), runs `python -m bench.gpu_cost` with a time budget, then writes
# the results to $OUT and prints the table:
#   benchmarks-gpu.json (raw, rewritten after every item), table.md (the table and the model sizes),
#   benchmarks-gpu.png (seconds per stage) and benchmarks-gpu.md (the page, as --write-docs renders it,
#   also after an interrupted run): those three go to docs/ as they are; log.txt (everything printed).
# Arguments are appended to the benchmark's (e.g. `--scale tiny --only KEY,...` for a CPU check).
# Environment: OUT (required), PYTHON (python3), GPU_CARRY (build/gpu-carry), GPU_COST_BUDGET_S (360:
# no item starts after that), GPU_COST_HARD_S (540: the benchmark is interrupted then; the table keeps
# what was measured), GPU_COST_FIRST (the points run first; the rest follow in their usual order).
# Exit status: the benchmark's (0 done, 1 an item failed, 2 no GPU at --scale real), 124 interrupted
# at GPU_COST_HARD_S, 3 the carry folder is missing or not the pin, 4 a stub was used (the run's
# figures would not be the worker's).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
: "${OUT:?set OUT to the folder for the results}"
PYTHON="${PYTHON:-python3}"
carry="${GPU_CARRY:-$root/build/gpu-carry}"
budget="${GPU_COST_BUDGET_S:-360}"
hard="${GPU_COST_HARD_S:-540}"
first="${GPU_COST_FIRST:-ltx23-fast-720p-10s,ltx23-fast-1080p-10s,ltx25-fast-1080p-10s}"

run() {
  # shellcheck source=pins.env
  source "$root/pins.env"
  local archive="$carry/comfyui-$COMFYUI_VERSION-${COMFYUI_COMMIT:0:8}.tar.gz"
  if [ ! -f "$archive" ]; then
    echo "[lent_run] no $archive: build the carry folder first (python -m bench.gpu_cost.carry) and carry it"
    return 3
  fi
  if [ "$(sha256sum "$archive" | cut -d' ' -f1)" != "$COMFYUI_ARCHIVE_SHA256" ]; then
    echo "[lent_run] $archive is not the pinned ComfyUI (sha256 differs from pins.env)"
    return 3
  fi
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-cost.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  mkdir "$work/comfyui"
  tar -xzf "$archive" -C "$work/comfyui" --strip-components=1
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir \
    --disable-pip-version-check --target "$work/site" "$carry"/wheels/*.whl
  export PYTHONPATH="$work/site:$root/bench/gpu_cost/stubs${PYTHONPATH:+:$PYTHONPATH}"
  export GPU_COST_STUB_LOG="$work/stub-calls.txt" PYTHONUNBUFFERED=1
  "$PYTHON" -c 'import sys, torch, comfy_kitchen, comfy_aimdo, torchsde, av
assert av.__stub__
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA GPU"
print(f"[lent_run] python {sys.version.split()[0]}, torch {torch.__version__}, {gpu}")'
  local status=0
  timeout --signal=INT --kill-after=20 "$hard" "$PYTHON" -m bench.gpu_cost --comfyui-dir "$work/comfyui" \
    --time-budget "$budget" --first "$first" --sizes --json "$OUT/benchmarks-gpu.json" "$@" || status=$?
  [ "$status" = 124 ] && echo "[lent_run] interrupted at GPU_COST_HARD_S=$hard s; the table keeps what was measured"
  "$PYTHON" - "$OUT" <<'PY' || status=$((status ? status : 1))
import json, pathlib, sys
from bench.gpu_cost import report
from bench.gpu_cost.__main__ import GPU_COMMAND
out = pathlib.Path(sys.argv[1])
if not (out / "benchmarks-gpu.json").is_file():
    sys.exit("[lent_run] the benchmark wrote no benchmarks-gpu.json")
run = json.loads((out / "benchmarks-gpu.json").read_text())
table = report.markdown_table(report.rows(run))
sizes = "\n\n" + report.sizes_table(run["sizes"]) if run.get("sizes") else ""
(out / "table.md").write_text(table + sizes + "\n")
print(f"[lent_run] {run['meta']['gpu_name']}, {len(run['items'])} items (sizes in table.md):\n{table}")
gpu = run["meta"]["scale"] == "real" and not run["meta"]["gpu_name"].startswith("CPU")  # as --write-docs decides
doc = report.render_doc(run if gpu else None, None if gpu else run, run.get("sizes"), GPU_COMMAND)
(out / "benchmarks-gpu.md").write_text(doc)
try:
    report.plot(run, str(out / "benchmarks-gpu.png"))
except ImportError as exc:
    print(f"[lent_run] no plot: {exc}")
PY
  if [ -s "$GPU_COST_STUB_LOG" ]; then
    echo "[lent_run] FAILED: a stub of bench/gpu_cost/stubs was used, so these figures are not the worker's:"
    cat "$GPU_COST_STUB_LOG"
    return 4
  fi
  return "$status"
}

mkdir -p "$OUT"
run "$@" 2>&1 | tee "$OUT/log.txt"
