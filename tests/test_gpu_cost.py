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

from bench.gpu_cost import configs, report

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


def test_tiny_run_measures_every_point_stage_and_option(ltx2_tree: Path, tmp_path: Path) -> None:
    out, png = tmp_path / "run.json", tmp_path / "plot.png"
    proc, seconds = _run(ltx2_tree, "--json", str(out), "--plot", str(png))
    print(f"bench.gpu_cost --scale tiny: {seconds:.1f} s")
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = json.loads(out.read_text())
    items = run["items"]

    points = [i for i in items if i["kind"] == "point"]
    assert [i["key"] for i in points] == [p.key for p in configs.POINTS]
    options = [i for i in items if i["kind"] == "option"]
    assert {i["weight_dtype"] for i in options} == set(configs.WEIGHT_DTYPES)
    assert {"pytorch"} <= {i["attention"] for i in options if i["attention"]}
    for item in items:
        assert item["status"] == "ok", (item["key"], item["status"])
        stages = set(item["stages"])
        assert stages == (set(report.STAGE_KEYS) if item["kind"] == "point" else {"stage1", "upscale", "stage2"})
        assert all(s["seconds"] > 0 for s in item["stages"].values())
    for item in points:  # the decoded video has the run's size and frames; the sound its family's rate
        assert item["output"]["images"] == [configs.TINY_FRAMES, configs.TINY_SIZE[1], configs.TINY_SIZE[0], 3]
        assert item["output"]["sample_rate"] == (24000 if item["family"] == "ltx2" else 48000)
    assert points[2]["lora_bytes"], "LTX-2 pro patches the distilled LoRA into stage 2"

    table = report.rows(run)
    assert len(table) == len(items)
    assert all(list(row) == report.COLUMNS for row in table)
    md = report.markdown_table(table)
    assert md.splitlines()[0] == "| " + " | ".join(report.COLUMNS) + " |"
    assert len(md.splitlines()) == 2 + len(items)
    assert run["meta"]["gpu_name"].startswith("CPU (tiny scale")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    doc = report.render_doc(None, run, None, "python -m bench.gpu_cost")
    assert "No GPU figures exist yet" in doc and "not GPU costs" in doc


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
