"""The GPU cost benchmark carried to a lent GPU machine: both steps, proven on the CPU.

`python -m bench.gpu_cost.carry` builds the carry folder, once for the lent machine's Python 3.12
(measured: repository + folder under the device's limit) and once for this Python, so its wheels
install here; `bench/gpu_cost/lent_run.sh` then runs from a scratch copy of what travels (tracked and
untracked-not-ignored files plus the folder, no ../shared) at ``--scale tiny``, with only the GPU
image's packages importable: ``python -S`` over a folder of links to this environment's copies of
`carry.IMAGE_PACKAGES` and their dependencies, less everything carried or stubbed and every ComfyUI
requirement the image lacks. The JSON, table, plot and page come out, every point and option runs,
the priority points come first, and no stub is used.

Needs ComfyUI's archive (../shared/deps or $COMFYUI_ARCHIVE; skipped without it) and, on a first run,
the package registry: downloads and comfy-kitchen's repack are cached ($LTX_WORKER_CACHE/gpu-carry).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bench.gpu_cost import carry, configs, report

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = Path(os.environ.get("COMFYUI_ARCHIVE") or carry.DEFAULT_ARCHIVE)
CACHE = Path(os.environ.get("LTX_WORKER_CACHE") or Path.home() / ".cache" / "ltx-worker") / "gpu-carry"
HERE_PY = f"{sys.version_info.major}.{sys.version_info.minor}"

pytestmark = pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"no ComfyUI archive at {ARCHIVE}")


def _build(out: Path, python_version: str) -> tuple[dict, str, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.gpu_cost.carry", "--out", str(out), "--archive", str(ARCHIVE),
         "--python-version", python_version, "--cache", str(CACHE)],
        cwd=ROOT, capture_output=True, text=True, timeout=480,
    )
    seconds = time.perf_counter() - started
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr[-4000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (proc.returncode == 0) == manifest["sizes"]["fits"]
    return manifest, proc.stdout, seconds


def _image_view(dest: Path, leave_out: set[str]) -> None:
    """Links to this environment's copies of the image's packages and their dependencies, less `leave_out`."""
    dists = {}
    for d in md.distributions():
        dists.setdefault(carry.norm(d.metadata["Name"]), d)
    todo, keep = sorted(carry.IMAGE_PACKAGES & set(dists)), set()
    while todo:
        name = todo.pop()
        if name in keep or name in leave_out:
            continue
        keep.add(name)
        for spec in dists[name].requires or []:
            req = Requirement(spec)
            if (req.marker is None or req.marker.evaluate({"extra": ""})) and carry.norm(req.name) in dists:
                todo.append(carry.norm(req.name))
    dest.mkdir()
    for name in sorted(keep):
        for top in {Path(str(f)).parts[0] for f in dists[name].files or []}:
            src = Path(dists[name].locate_file(top))
            if not top.startswith("..") and top != "__pycache__" and not top.endswith(".pth") and src.exists():
                if not (dest / top).exists():
                    (dest / top).symlink_to(src)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float]:
    out = tmp_path_factory.mktemp("carry") / "gpu-carry"
    manifest, text, seconds = _build(out, HERE_PY)
    print(text)
    return out, manifest, seconds


def test_the_lent_machines_carry_fits(tmp_path: Path) -> None:
    manifest, text, seconds = _build(tmp_path / "gpu-carry", "3.12")
    print(f"{text}\nbuilt in {seconds:.1f} s")
    sizes = manifest["sizes"]
    assert sizes["fits"] and sizes["total_bytes"] <= carry.LIMIT_MIB * carry.MIB, text
    assert sizes["total_bytes"] == sizes["repo_bytes"] + carry.tree_bytes(tmp_path / "gpu-carry")
    names = {w["name"] for w in manifest["wheels"]}
    assert names == set(carry.NEEDED) | set(carry.DEPENDENCIES)
    assert not names & carry.IMAGE_PACKAGES, "nothing the image has is carried"
    for w in manifest["wheels"]:
        assert "-cp312-" in w["file"] or "-abi3-" in w["file"] or "-none-any" in w["file"], w["file"]
        assert w["why"] and (tmp_path / "gpu-carry" / "wheels" / w["file"]).stat().st_size == w["bytes"]
    kitchen = next(w for w in manifest["wheels"] if w["name"] == "comfy-kitchen")
    assert kitchen["bytes"] < kitchen["source_bytes"] / 2, "comfy-kitchen is carried repacked"
    assert (tmp_path / "gpu-carry" / manifest["comfyui"]["file"]).stat().st_size == manifest["comfyui"]["bytes"]


def test_lent_run_from_a_scratch_copy_with_only_the_image(built: tuple[Path, dict, float], tmp_path: Path) -> None:
    folder, manifest, build_s = built
    assert manifest["sizes"]["fits"], manifest["sizes"]
    scratch = tmp_path / "repo"
    for name in carry.traveling_files():
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, scratch / name, follow_symlinks=False)
    shutil.copytree(folder, scratch / "build" / "gpu-carry")
    lacking = {n for n in carry.comfy_requirements(ARCHIVE) if n not in carry.IMAGE_PACKAGES}
    view = tmp_path / "image"
    _image_view(view, lacking | {w["name"] for w in manifest["wheels"]} | set(carry.STUBS))
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GPU_COST_", "COMFYUI_"))}
    env.update(OUT=str(out), PYTHON=str(python), PYTHONPATH=str(view))

    started = time.perf_counter()
    proc = subprocess.run(["bash", "bench/gpu_cost/lent_run.sh", "--scale", "tiny"], cwd=scratch, env=env,
                          capture_output=True, text=True, timeout=400)
    run_s = time.perf_counter() - started
    print(f"carry build {build_s:.1f} s, lent_run.sh --scale tiny {run_s:.1f} s")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]

    assert sorted(p.name for p in out.iterdir()) == [
        "benchmarks-gpu.json", "benchmarks-gpu.md", "benchmarks-gpu.png", "log.txt", "table.md"]
    run = json.loads((out / "benchmarks-gpu.json").read_text())
    assert run["meta"]["comfyui_version"] == manifest["comfyui"]["version"]
    items = run["items"]
    assert [i["key"] for i in items[: len(carry.LENT_FIRST)]] == list(carry.LENT_FIRST)
    assert {i["key"] for i in items if i["kind"] == "point"} == {p.key for p in configs.POINTS}
    assert {i["weight_dtype"] for i in items if i["kind"] == "option"} == set(configs.WEIGHT_DTYPES)
    assert all(i["status"] == "ok" for i in items), [(i["key"], i["status"]) for i in items]
    assert set(run["sizes"]) == set(configs.FAMILIES)
    # what the bench measures (this run is the suite's one tiny run of bench.gpu_cost)
    points = [i for i in items if i["kind"] == "point"]
    assert {"pytorch"} <= {i["attention"] for i in items if i["kind"] == "option" and i["attention"]}
    for item in items:
        stages = set(item["stages"])
        assert stages == (set(report.STAGE_KEYS) if item["kind"] == "point" else {"stage1", "upscale", "stage2"})
        assert all(s["seconds"] > 0 for s in item["stages"].values())
    for item in points:  # the decoded video has the run's size and frames; the sound its family's rate
        assert item["output"]["images"] == [configs.TINY_FRAMES, configs.TINY_SIZE[1], configs.TINY_SIZE[0], 3]
        assert item["output"]["sample_rate"] == (24000 if item["family"] == "ltx2" else 48000)
    ltx2_pro = next(i for i in points if i["key"].startswith("ltx2-pro-"))
    assert ltx2_pro["lora_bytes"], "LTX-2 pro patches the distilled LoRA into stage 2"
    assert run["meta"]["gpu_name"].startswith("CPU (tiny scale")
    assert all(list(row) == report.COLUMNS for row in report.rows(run))
    doc = report.render_doc(None, run, None, "python -m bench.gpu_cost")
    assert "No GPU figures exist yet" in doc and "not GPU costs" in doc
    table = report.markdown_table(report.rows(run))
    assert (out / "table.md").read_text().startswith(table)
    assert proc.stdout.rstrip().endswith(table.splitlines()[-1]), "the table is printed last"
    assert (out / "benchmarks-gpu.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "benchmarks-gpu.md").read_text()
    assert "Proof of the code path" in page and carry.LENT_CALL in page
    assert "stub av" not in proc.stdout and "FAILED" not in proc.stdout


def test_the_av_stub_fails_loudly_and_logs(tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    code = (
        "import av, av.container, av.video.reformatter as r\n"
        "assert av.__stub__ and r.ColorTrc.SMPTE2084 == 16 and not hasattr(av, '__wrapped__')\n"
        "try:\n    av.open('x.mp4')\nexcept RuntimeError as e:\n    print(e)\n"
        "try:\n    av.container.InputContainer()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bench" / "gpu_cost" / "stubs"), GPU_COST_STUB_LOG=str(log))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert proc.stdout.count("stub av (bench/gpu_cost/stubs/av)") == 2
    assert "av.open was used" in log.read_text() and "InputContainer()" in log.read_text()


def test_the_doc_and_the_script_agree() -> None:
    script = (ROOT / "bench" / "gpu_cost" / "lent_run.sh").read_text()
    first = re.search(r'GPU_COST_FIRST:-([^}]*)\}', script).group(1).split(",")
    assert tuple(first) == carry.LENT_FIRST and set(first) <= {p.key for p in configs.POINTS}
    doc = (ROOT / "docs" / "benchmarks-gpu.md").read_text()
    assert carry.LENT_CALL in doc and "| Lightricks LTX API | ltx-2-3-fast | $0.03 |" in doc
    assert os.access(ROOT / "bench" / "gpu_cost" / "lent_run.sh", os.X_OK)
