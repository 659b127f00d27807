"""bench.gpu_cost at ``--scale tiny`` on the CPU: the GPU cost benchmark's code path, proven.

Every point (LTX-2, 2.3, 2.5; fast and pro), every stage (stage 1, upscale, stage 2, tiled video
decode, audio decode) and every option (weight dtypes, ComfyUI's attention functions) runs with
tiny random-weight models through ComfyUI's own nodes; the table has a row per item and the
documented columns; the plot is written; a spent time budget skips cleanly. Skipped when the
ComfyUI tree (the ``comfyui_dir`` fixture: $COMFYUI_DIR or scripts/install_comfyui.sh) has no LTX-2.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.gpu_cost import report

ROOT = Path(__file__).resolve().parents[1]


def _run(comfyui_dir: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.gpu_cost",
            "--scale",
            "tiny",
            "--comfyui-dir",
            str(comfyui_dir),
            "--quiet",
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, time.perf_counter() - started


@pytest.fixture(scope="module")
def ltx2_tree(comfyui_dir: Path) -> Path:
    if not (comfyui_dir / "comfy" / "ldm" / "lightricks" / "av_model.py").is_file():
        pytest.skip(f"the ComfyUI tree {comfyui_dir} lacks the LTX-2 code (ComfyUI >= 0.8); set COMFYUI_DIR")
    return comfyui_dir


# The full tiny run of the bench (every point, stage and option, its table, plot and page) is
# tests/test_gpu_carry.py's lent run, from a scratch copy with only the image: one run of it a suite.


def test_time_budget_stops_cleanly(ltx2_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc, _ = _run(ltx2_tree, "--time-budget", "0", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    items = json.loads(out.read_text())["items"]
    assert items and all(i["status"] == "skipped: time budget" for i in items)
    assert all(row["stage 1 s"] == "skipped: time budget" for row in report.rows(json.loads(out.read_text())))


def test_gpu_rows_pick_the_smallest_gpu_and_price() -> None:
    """The GPU columns from a synthetic run (no GPU here): need = peak reserved minus idle models."""
    gib = report.GIB
    stage = {
        "seconds": 10.0,
        "peak_allocated": 30 * gib,
        "peak_reserved": 34 * gib,
        "idle_models": 2 * gib,
        "need_allocated": 28 * gib,
        "need_reserved": 32 * gib,
    }
    item = {
        "kind": "point",
        "key": "ltx2-fast-720p-10s",
        "family": "ltx2",
        "quality": "fast",
        "width": 1280,
        "height": 704,
        "frames": 241,
        "fps": 24,
        "weight_dtype": "fp8_e4m3fn",
        "attention": None,
        "status": "ok",
        "stages": {name: dict(stage) for name in report.STAGE_KEYS},
    }
    run = {
        "meta": {
            "gpu_name": "NVIDIA H100 80GB HBM3",
            "price_per_hour": 3.6,
            "scale": "real",
            "started": "2026-11-29 12:00",
            "torch": "2.11.0",
            "comfyui_version": "0.33.0",
        },
        "items": [item],
    }
    row = report.rows(run)[0]
    assert row["total GPU s"] == "50.00"
    assert row["GPU s per video s"] == f"{50 / (241 / 24):.2f}"
    assert row["need GiB"] == "32.0" and row["peak reserved GiB"] == "34.0"
    assert row["smallest GPU"] == "L40S / RTX 6000 Ada (48 GB)"  # 32 + 1 GiB margin > the 5090's 31.3
    assert row["cost $"] == f"{50 * 3.6 / 3600:.4f}"
    assert report.smallest_gpu(200 * gib).startswith("none listed")
    doc = report.render_doc(run, None, None, "python -m bench.gpu_cost")
    assert "Measured on NVIDIA H100" in doc and "No GPU figures" not in doc
