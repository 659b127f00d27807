"""Soak benchmark: hundreds of sequential jobs through one worker and one ComfyUI.

Reports, at the start (after one job) and at every checkpoint up to the end: the worker's
resident memory, its open file descriptors and threads, ComfyUI's resident memory, and the files
left in ComfyUI's input/output folders and in the worker's OUTPUT_DIR. The reliability target
(the reliability issue): flat memory and descriptors, zero files left behind.

Jobs alternate t2v and i2v (a start image sent as a data: URI) with fresh seeds; every tenth
job is a bad one (refused at validation) and every 25th has a deadline too short to finish, so
the failure paths' cleanup is soaked too. Local storage: the worker's own MP4/JPEG are
removed after each job, as an upload would.

Run: ``.venv/bin/python -m bench.soak --jobs 200 [--write-docs]`` (COMFYUI_DIR picks the tree).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path

import psutil
from PIL import Image, ImageDraw

from ltx_worker.config import PROJECT_ROOT, load_settings
from ltx_worker.handler import JobHandler

from .comfy_server import start_local_comfy


def _image_uri() -> str:
    img = Image.new("RGB", (640, 360), (30, 80, 160))
    ImageDraw.Draw(img).ellipse([200, 60, 440, 300], fill=(240, 200, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def _sample(n: int, comfy_proc: psutil.Process, dirs: dict[str, Path], outcomes: dict) -> dict:
    me = psutil.Process()
    return {
        "jobs": n,
        "worker_rss_mb": round(me.memory_info().rss / 2**20, 1),
        "worker_fds": me.num_fds(),
        "worker_threads": threading.active_count(),
        "comfy_rss_mb": round(comfy_proc.memory_info().rss / 2**20, 1),
        **{f"files_{k}": _count_files(v) for k, v in dirs.items()},
        **outcomes,
    }


def _job(i: int, family: str, image: str) -> dict:
    t2v = {"model": f"{family}-t2v", "prompt": f"soak job {i}: waves on a shore", "duration": 2,
           "seed": secrets.randbelow(2**32)}
    if i % 10 == 9:
        return {**t2v, "prompt": "x"}  # refused at validation
    job = t2v if i % 2 == 0 else {**t2v, "model": f"{family}-i2v", "image_urls": [image]}
    if i % 25 == 24:
        job["deadline_s"] = 1.0  # times out in ComfyUI
    return job


def run(jobs: int, checkpoint: int) -> tuple[list[dict], dict]:
    """Run the soak; returns (samples, facts)."""
    comfy = start_local_comfy()
    out_dir = Path(tempfile.mkdtemp(prefix="ltxw-soak-out-"))
    try:
        dirs = {"comfy_input": comfy.base / "input", "comfy_output": comfy.base / "output",
                "worker_output": out_dir}
        settings = load_settings(comfy_port=comfy.port, output_dir=out_dir, comfy_input_dir=dirs["comfy_input"],
                                 comfy_output_dir=dirs["comfy_output"])
        handler = JobHandler(settings).start()
        family = "ltx-2" if any(t.family == "ltx2" for t in handler.templates.templates) else "ltxv"
        image = _image_uri()
        comfy_proc = psutil.Process(comfy.proc.pid)
        outcomes: dict[str, int] = {}
        samples = []
        t0 = time.monotonic()
        for i in range(jobs):
            result = asyncio.run(handler({"id": f"soak-{i}", "input": _job(i, family, image)}))
            code = result.get("error_code", "OK")
            outcomes[code] = outcomes.get(code, 0) + 1
            for key in ("video_path", "poster_path"):
                if result.get(key):
                    Path(result[key]).unlink(missing_ok=True)
            if i == 0 or (i + 1) % checkpoint == 0 or i + 1 == jobs:
                samples.append(_sample(i + 1, comfy_proc, dirs, dict(outcomes)))
                print(samples[-1], flush=True)
        facts = {"comfyui": comfy.version, "family": family, "wall_s": round(time.monotonic() - t0, 1),
                 "cpu_count": os.cpu_count()}
        return samples, facts
    finally:
        comfy.stop()


def table(samples: list[dict]) -> str:
    """A markdown table of the samples (one row per checkpoint)."""
    cols = ["jobs", "worker_rss_mb", "worker_fds", "worker_threads", "comfy_rss_mb", "files_comfy_input",
            "files_comfy_output", "files_worker_output"]
    codes = sorted({k for s in samples for k in s if k.isupper()})
    head = "| " + " | ".join(cols + codes) + " |"
    rule = "|" + "---|" * (len(cols) + len(codes))
    rows = ["| " + " | ".join(str(s.get(c, 0)) for c in cols + codes) + " |" for s in samples]
    return "\n".join([head, rule, *rows])


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module doc)."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--checkpoint", type=int, default=25)
    parser.add_argument("--write-docs", action="store_true", help="write docs/soak.md")
    args = parser.parse_args(argv)
    samples, facts = run(args.jobs, args.checkpoint)
    text = table(samples)
    print(text)
    first, last = samples[0], samples[-1]
    verdict = (
        f"worker RSS {first['worker_rss_mb']} -> {last['worker_rss_mb']} MB, fds {first['worker_fds']} -> "
        f"{last['worker_fds']}, threads {first['worker_threads']} -> {last['worker_threads']}, files left: "
        f"{last['files_comfy_input'] + last['files_comfy_output'] + last['files_worker_output']}"
    )
    print(verdict)
    if args.write_docs:
        doc = PROJECT_ROOT / "docs" / "soak.md"
        doc.write_text(
            "# Soak benchmark\n\n"
            f"`python -m bench.soak --jobs {args.jobs}` on this machine ({facts['cpu_count']} CPU cores, "
            f"ComfyUI {facts['comfyui']}, tiny {facts['family']} weights, {facts['wall_s']} s in all). "
            "Jobs alternate t2v and i2v; every 10th is refused at validation (INVALID_INPUT) and every "
            "25th has a 1 s deadline (TIMEOUT). Samples after the first job and every "
            f"{args.checkpoint} jobs.\n\n{text}\n\n{verdict}.\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
